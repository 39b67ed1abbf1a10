package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/copa/frontend/distros/deb/debstep"
	"github.com/copa/frontend/frontend/summary"
	"github.com/copa/frontend/llbgen"
)

// helper runs one of the helper commands that patch steps invoke; its
// output goes to the build's progress.
func helper(args []string) int {
	switch {
	case len(args) == 3 && args[0] == llbgen.HelperKeepUnchangedDeb:
		return keepUnchangedDeb(args[1], args[2])
	case len(args) == 2 && args[0] == llbgen.HelperPrintSummary:
		return printSummary(args[1])
	case len(args) == 4 && args[0] == llbgen.HelperInstallDeb:
		return installDeb(args[1], args[2], args[3])
	default:
		fmt.Fprintf(os.Stderr, "usage: frontend %s BASE TARGET | %s SUMMARY.json | %s STAGING TARGET NOTES\n(without arguments it runs as a BuildKit frontend)\n",
			llbgen.HelperKeepUnchangedDeb, llbgen.HelperPrintSummary, llbgen.HelperInstallDeb)
		return 2
	}
}

func printSummary(path string) int {
	dt, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	var s summary.Summary
	if err := json.Unmarshal(dt, &s); err != nil {
		return fail(err)
	}
	fmt.Print(s.Table())
	return 0
}

func keepUnchangedDeb(base, target string) int {
	br, err := os.OpenRoot(base)
	if err != nil {
		return fail(err)
	}
	tr, err := os.OpenRoot(target)
	if err != nil {
		return fail(err)
	}
	k, err := debstep.KeepUnchanged(br, tr)
	if err != nil {
		return fail(err)
	}
	fmt.Printf("copa: %d file(s) of %d upgraded package(s) are unchanged (%.1f MiB): they keep the original's metadata and stay out of the patch layer\n",
		k.Files, k.Packages, float64(k.Bytes)/(1<<20))
	return 0
}

// installDeb installs the packages unpacked under staging into the image
// root target (see debstep.Install) and writes to notes what the frontend
// turns into warnings, one per line, fields separated by single spaces:
//
//	scripts PACKAGE NAME[,NAME...]   maintainer scripts that were not run
//	conffile-kept PACKAGE PATH        a conffile kept as the image had it
//
// debstep.Install refuses conffile paths with blanks, so every line has three
// fields.
func installDeb(staging, target, notes string) int {
	sr, err := os.OpenRoot(staging)
	if err != nil {
		return fail(err)
	}
	tr, err := os.OpenRoot(target)
	if err != nil {
		return fail(err)
	}
	res, err := debstep.Install(sr, tr)
	if err != nil {
		return fail(err)
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
			fmt.Fprintf(&b, "conffile-kept %s %s\n", p.Name, c)
		}
	}
	fmt.Printf("copa: %d package(s) installed without apt (%s database): %d file(s) written (%s), %d unchanged\n",
		len(res.Packages), res.Layout, res.Written, mib(res.Bytes), res.Unchanged)
	if err := os.WriteFile(notes, []byte(b.String()), 0o644); err != nil {
		return fail(err)
	}
	return 0
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "copa: %v\n", err)
	return 1
}
