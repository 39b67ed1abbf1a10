package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/frontend"
)

// helper runs one of the helper commands that patch steps invoke: the
// frontend's own and those the registry's methods bring. Their output
// goes to the step's log, and so to the build's progress.
func helper(args []string) int {
	cmds := append(frontend.HelperCommands(), all.Registry.Helpers()...)
	for _, c := range cmds {
		if c.Name != args[0] {
			continue
		}
		if len(args)-1 != c.Args {
			fmt.Fprintf(os.Stderr, "usage: frontend %s %s\n", c.Name, c.Usage)
			return 2
		}
		if err := c.Run(args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "copa: %v\n", err)
			return 1
		}
		return 0
	}
	var usage []string
	for _, c := range cmds {
		usage = append(usage, fmt.Sprintf("  frontend %s %s", c.Name, c.Usage))
	}
	fmt.Fprintf(os.Stderr, "usage:\n%s\n(without arguments it runs as a BuildKit frontend)\n", strings.Join(usage, "\n"))
	return 2
}
