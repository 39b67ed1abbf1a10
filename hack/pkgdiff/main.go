// Command pkgdiff prints, for two images in a plain-HTTP registry, every
// package whose version differs: "name  before → after". make demo
// uses it to show what a patch changed.
//
//	go run ./hack/pkgdiff [-platform linux/arm64] REGISTRY REPO:TAG REPO:TAG
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/internal/imagetest"
)

func main() {
	platform := flag.String("platform", "linux/amd64", "the platform of an index to compare")
	flag.Parse()
	args := flag.Args()
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pkgdiff [-platform P] REGISTRY REPO:TAG REPO:TAG")
		os.Exit(2)
	}
	before, err := installed(args[0], args[1], *platform)
	if err != nil {
		fail(err)
	}
	after, err := installed(args[0], args[2], *platform)
	if err != nil {
		fail(err)
	}
	var names []string
	for n := range after {
		if before[n] != after[n] {
			names = append(names, n)
		}
	}
	for n := range before {
		if _, ok := after[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		fmt.Println("no package changed")
		return
	}
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	fmt.Printf("%-*s  %s\n", width, "PACKAGE", "BEFORE → AFTER")
	for _, n := range names {
		fmt.Printf("%-*s  %s → %s\n", width, n, orDash(before[n]), orDash(after[n]))
	}
}

// installed reads the package database of an image, in its format (the
// registry's, chosen by the image's os-release).
func installed(registry, ref, platform string) (map[string]string, error) {
	repo, tag, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, fmt.Errorf("%s: want REPO:TAG", ref)
	}
	img, err := imagetest.FromRegistry(registry, repo, tag, platform)
	if err != nil {
		return nil, err
	}
	fs, err := img.FS()
	if err != nil {
		return nil, err
	}
	var osr distros.OSRelease
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if dt, ok := fs.ReadFile(p); ok {
			osr = distros.ParseOSRelease(dt)
			break
		}
	}
	f, _, ok := all.Registry.ForOS(osr)
	pf, patchable := f.(distros.PatchFormat)
	if !ok || !patchable {
		return nil, fmt.Errorf("%s is %s, whose packages this tool cannot read", ref, osr)
	}
	ps, err := pf.Installed(context.Background(), fs.Root())
	if err != nil {
		return nil, err
	}
	return ps.Versions(pf.Versioning()), nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pkgdiff:", err)
	os.Exit(1)
}
