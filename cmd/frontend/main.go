// Command frontend is the copa/frontend BuildKit gateway frontend. BuildKit
// starts it inside the frontend image and talks to it over stdin/stdout, so
// nothing in this process may write to stdout.
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"

	"github.com/copa/frontend/frontend"
)

func main() {
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "copa/frontend: %v\n", err)
		os.Exit(1)
	}
}
