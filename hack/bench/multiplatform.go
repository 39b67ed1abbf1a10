package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/copa/frontend/internal/imagetest"
)

// benchMultiPlatform patches the harness's two-platform index (stale
// Debian 12 for linux/amd64 and linux/arm64), each platform against its
// own report: the whole index and its arm64 platform alone, each with apt
// in the image (arm64 under QEMU) and natively (PATCH --native: a tooling
// image of the build platform fetches the arm64 packages, nothing of the
// image runs).
func benchMultiPlatform(c config) {
	platforms := []string{"linux/amd64", "linux/arm64"}
	bases := map[string]*imagetest.Image{}
	for _, p := range platforms {
		bases[p] = must(imagetest.FromRegistry(c.registry, repoOf(c.image), tagOf(c.image), p))
	}
	ctxDir := must(os.MkdirTemp("", "copa-bench"))
	defer os.RemoveAll(ctxDir)
	write(filepath.Join(ctxDir, "amd64.json"), must(os.ReadFile(filepath.Join(c.data, "debian-12-stale.trivy.json"))))
	write(filepath.Join(ctxDir, "arm64.json"), must(os.ReadFile(filepath.Join(c.data, "debian-12-stale-arm64.trivy.json"))))
	patchfile := func(native string) []byte {
		return []byte(fmt.Sprintf("PATCH %s%s/%s\nTOOLING %s/copa-test/debian:bookworm\nREPORT --platform=linux/amd64 amd64.json\nREPORT --platform=linux/arm64 arm64.json\n",
			native, c.registry, c.image, c.registry))
	}
	write(filepath.Join(ctxDir, "Patchfile"), patchfile(""))
	write(filepath.Join(ctxDir, "Patchfile.native"), patchfile("--native "))
	syntax := "BUILDKIT_SYNTAX=" + c.frontend
	cases := []benchCase{
		{"index, arm64 under emulation", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", syntax}, "bench-multi-emulated"},
		{"index, native (PATCH --native)", []string{"-f", filepath.Join(ctxDir, "Patchfile.native"), "--build-arg", syntax}, "bench-multi-native"},
		{"arm64 alone, under emulation", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", syntax, "--platform", "linux/arm64"}, "bench-arm64-emulated"},
		{"arm64 alone, native (PATCH --native)", []string{"-f", filepath.Join(ctxDir, "Patchfile.native"), "--build-arg", syntax, "--platform", "linux/arm64"}, "bench-arm64-native"},
	}
	fmt.Fprintf(os.Stderr, "bench: %s (%v), %d runs per case\n", c.image, platforms, c.runs)
	walls := make([][]time.Duration, len(cases))
	for run := 0; run < c.runs; run++ {
		for i, cs := range cases {
			wall := c.build(cs, ctxDir)
			// Each patched platform is its base plus one layer.
			for _, p := range platforms {
				img := must(imagetest.FromRegistry(c.registry, repoOf(c.image), cs.tag, p))
				n := len(bases[p].Manifest.Layers)
				if len(img.Manifest.Layers) < n || !slices.Equal(img.LayerDigests()[:n], bases[p].LayerDigests()) {
					fail(fmt.Errorf("%s: the base layers of %s were not kept", cs.name, p))
				}
			}
			walls[i] = append(walls[i], wall)
			fmt.Fprintf(os.Stderr, "bench: run %d %-40s %6.1fs\n", run+1, cs.name, wall.Seconds())
		}
	}
	fmt.Printf("image: %s, platforms %v, each against its own report\n\n", c.image, platforms)
	fmt.Printf("| case | median wall time | min–max |\n|---|---|---|\n")
	med := make([]time.Duration, len(cases))
	for i, cs := range cases {
		ws := slices.Clone(walls[i])
		slices.Sort(ws)
		med[i] = ws[len(ws)/2]
		fmt.Printf("| %s | %.1f s | %.1f–%.1f s |\n", cs.name, med[i].Seconds(), ws[0].Seconds(), ws[len(ws)-1].Seconds())
	}
	fmt.Printf("\nnative vs emulated: index %.2f×, arm64 alone %.2f×\n", med[1].Seconds()/med[0].Seconds(), med[3].Seconds()/med[2].Seconds())
}
