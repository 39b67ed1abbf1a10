package debstep

import (
	"fmt"
	"os"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
)

// Commands are the helper commands of the deb methods (named by
// deb.CmdKeepUnchanged and deb.CmdInstall). They run inside patch steps,
// on the image's files, from the frontend binary.
var Commands = []distros.HelperCommand{
	{Name: deb.CmdKeepUnchanged, Usage: "BASE TARGET", Args: 2, Run: runKeepUnchanged},
	{Name: deb.CmdInstall, Usage: "STAGING TARGET NOTES", Args: 3, Run: runInstall},
}

func runKeepUnchanged(args []string) error {
	br, err := os.OpenRoot(args[0])
	if err != nil {
		return err
	}
	tr, err := os.OpenRoot(args[1])
	if err != nil {
		return err
	}
	k, err := KeepUnchanged(br, tr)
	if err != nil {
		return err
	}
	k.Log()
	return nil
}

// runInstall installs the packages unpacked under staging into the image
// root target (see Install) and writes the distros.NoteInstall notes.
// Install refuses conffile paths with blanks, so every note has three
// fields.
func runInstall(args []string) error {
	staging, target, notes := args[0], args[1], args[2]
	sr, err := os.OpenRoot(staging)
	if err != nil {
		return err
	}
	tr, err := os.OpenRoot(target)
	if err != nil {
		return err
	}
	res, err := Install(sr, tr)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, p := range res.Details {
		kept := ""
		if len(p.KeptConffiles) > 0 {
			kept = fmt.Sprintf(", %d conffile(s) kept as the image had them", len(p.KeptConffiles))
		}
		fmt.Printf("copa: %s %s → %s: %d file(s) written (%s), %d unchanged%s\n",
			p.Name, p.OldVersion, p.Version, p.Written, mib(p.Bytes), p.Unchanged, kept)
		if len(p.Scripts) > 0 {
			fmt.Fprintf(&b, "scripts %s %s\n", p.Name, strings.Join(p.Scripts, ","))
		}
		for _, c := range p.KeptConffiles {
			fmt.Fprintf(&b, "config-kept %s %s\n", p.Name, c)
		}
	}
	fmt.Printf("copa: %d package(s) installed without apt (%s database): %d file(s) written (%s), %d unchanged\n",
		len(res.Packages), res.Layout, res.Written, mib(res.Bytes), res.Unchanged)
	return os.WriteFile(notes, []byte(b.String()), 0o644)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
