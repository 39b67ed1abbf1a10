package frontend

import (
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
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
