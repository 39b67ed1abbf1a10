// Command frontend is the copa/frontend BuildKit gateway frontend. BuildKit
// starts it inside the frontend image and talks to it over stdin/stdout, so
// nothing in this process may write to stdout.
//
// The same binary is also the helper that patch steps run from the frontend
// image (see helper.go), so that work on an image's files never needs a
// shell or tools inside the image.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"

	"github.com/copa/frontend/frontend"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(helper(os.Args[1:]))
	}
	// Give up root before reading anything a build sends. Where the
	// user namespace does not allow it, go on as root rather than fail
	// every build: the container still has no network, and the note
	// lands in BuildKit's log (the frontend's stderr).
	if _, err := dropPrivileges(); err != nil {
		fmt.Fprintf(os.Stderr, "copa/frontend: still running as root: %v\n", err)
	}
	setMemoryLimit()
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "copa/frontend: %v\n", err)
		os.Exit(1)
	}
}

// setMemoryLimit sets frontend.MemoryLimit as the soft memory limit,
// unless GOMEMLIMIT sets another.
func setMemoryLimit() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(frontend.MemoryLimit)
	}
}
