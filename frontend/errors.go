package frontend

import (
	"fmt"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// atLine ties err to a Patchfile location; Build turns it into a source
// error. A nil location leaves err as it is.
func atLine(err error, loc []parser.Range) error {
	if err == nil || len(loc) == 0 {
		return err
	}
	return parser.WithLocation(err, loc)
}

func wrapSource(err error, sm *llb.SourceMap, ranges []parser.Range) error {
	if sm == nil {
		return err
	}
	s := &errdefs.Source{
		Info: &pb.SourceInfo{
			Data:       sm.Data,
			Filename:   sm.Filename,
			Language:   sm.Language,
			Definition: sm.Definition.ToPB(),
		},
		Ranges: pbRanges(ranges),
	}
	return errdefs.WithSource(err, s)
}

func pbRanges(ranges []parser.Range) []*pb.Range {
	out := make([]*pb.Range, 0, len(ranges))
	for _, r := range ranges {
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
			End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
		})
	}
	return out
}

func warnOpts(loc []parser.Range) client.WarnOpts {
	return client.WarnOpts{Range: pbRanges(loc)}
}

// location tags LLB ops with a Patchfile line, so BuildKit attributes a
// failing step to it.
func (b *builder) location(loc []parser.Range) llb.ConstraintsOpt {
	return b.src.SourceMap.Location(pbRanges(loc))
}

// withContext says what the frontend was doing when the daemon failed.
// errors.Wrap would not do: the gateway sends an error back as the gRPC
// status of the daemon's error inside it, and drops any text wrapped
// around that (grpcerrors.ToGRPC keeps the longer message only when the
// status differs from the daemon's). contextError carries a status of its
// own with the whole message, and keeps the daemon's error inside, so its
// details (the failing step, its exit code) still reach the client.
func withContext(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &contextError{msg: fmt.Sprintf(format, args...), err: err}
}

type contextError struct {
	msg string
	err error
}

func (e *contextError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *contextError) Unwrap() error { return e.err }

// GRPCStatus is the daemon's status with the whole message (an Unknown
// one when the error did not come from the daemon: never nil, which
// grpcerrors would read as success).
func (e *contextError) GRPCStatus() *status.Status {
	st, ok := grpcerrors.AsGRPCStatus(e.err)
	if !ok || st == nil || st.Code() == codes.OK {
		return status.New(codes.Unknown, e.Error())
	}
	pb := st.Proto()
	pb.Message = e.Error()
	return status.FromProto(pb)
}
