package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/copa/frontend/distros/deb"
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
	default:
		fmt.Fprintf(os.Stderr, "usage: frontend %s BASE TARGET | %s SUMMARY.json\n(without arguments it runs as a BuildKit frontend)\n",
			llbgen.HelperKeepUnchangedDeb, llbgen.HelperPrintSummary)
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
	k, err := deb.KeepUnchanged(br, tr)
	if err != nil {
		return fail(err)
	}
	fmt.Printf("copa: %d file(s) of %d upgraded package(s) are unchanged (%.1f MiB): they keep the original's metadata and stay out of the patch layer\n",
		k.Files, k.Packages, float64(k.Bytes)/(1<<20))
	return 0
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "copa: %v\n", err)
	return 1
}
