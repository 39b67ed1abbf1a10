package frontend

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestWithContextCrossesTheGateway sends errors the way the gateway does
// (grpcerrors.ToGRPC in the frontend, FromGRPC on the client side): the
// text said around a daemon error must arrive, which errors.Wrap's does
// not.
func TestWithContextCrossesTheGateway(t *testing.T) {
	daemon := grpcerrors.FromGRPC(status.Error(codes.Unknown, `process "/bin/sh /tmp/copa-in/apt-patch.sh" did not complete successfully: exit code: 1`))
	cross := func(err error) error { return grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), err)) }

	got := cross(withContext(daemon, "PATCH %s: apt could not install the fixed packages", "img"))
	want := `PATCH img: apt could not install the fixed packages: process "/bin/sh /tmp/copa-in/apt-patch.sh" did not complete successfully: exit code: 1`
	if got == nil || got.Error() != want {
		t.Errorf("got %v\nwant %s", got, want)
	}
	if grpcerrors.Code(got) != codes.Unknown {
		t.Errorf("code %v", grpcerrors.Code(got))
	}

	// Why withContext is needed: a plain wrap loses its text on the way
	// (if a BuildKit upgrade changes that, withContext can go).
	if lost := cross(wrapLikeBefore(daemon)); strings.Contains(lost.Error(), "PATCH img") {
		t.Errorf("a plain wrap now keeps its text across the gateway: %v", lost)
	}

	// An error that did not come from the daemon is still an error.
	if got := cross(withContext(errors.New("local"), "reading")); got == nil || got.Error() != "reading: local" {
		t.Errorf("got %v", got)
	}
}

func wrapLikeBefore(err error) error { return &wrapped{"PATCH img: apt could not install", err} }

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
