package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/imagetest"
)

// apkReport returns the harness's report of an apk test image
// ($COPA_TEST_DATA/apk/<repo basename>-<tag>.trivy.json, e.g.
// alpine-3.21-stale.trivy.json for copa-test/alpine:3.21-stale), or ""
// when there is none.
func apkReport(dataDir, image string) string {
	p := filepath.Join(dataDir, "apk", path.Base(repoOf(image))+"-"+tagOf(image)+".trivy.json")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// benchAPK compares, on a harness apk image with apk, patching with
// copa/frontend (as it is and with BUILDKIT_COPA_KEEP_UNCHANGED=false)
// against the rebuild a user would write: FROM the image, RUN apk upgrade
// --no-cache the reported packages. Besides wall time and the added
// layers it measures the floor: the gzip'd tar of the upgraded packages'
// files whose content changed (by their Z: checksums in the two
// databases; new files included; a kept configuration file's new version
// as the .apk-new apk wrote), read from the patched image and checked
// against their checksums, plus its /lib/apk/db/installed and the scripts
// and triggers files where they changed.
func benchAPK(c config, reportPath string) {
	ctx := context.Background()
	base := must(imagetest.FromRegistry(c.registry, repoOf(c.image), tagOf(c.image), "linux/amd64"))
	baseFS := must(base.FS())
	if _, ok := baseFS.Resolve("sbin/apk"); !ok {
		fail(fmt.Errorf("%s has no /sbin/apk: the apk mode compares against an apk rebuild", c.image))
	}
	pkgs := reportedPackages(reportPath)
	if len(pkgs) == 0 {
		fail(fmt.Errorf("%s names no package with a fixed version", reportPath))
	}
	fmt.Fprintf(os.Stderr, "bench: %s, %d runs per case, packages: %s\n", c.image, c.runs, strings.Join(pkgs, " "))

	ctxDir := must(os.MkdirTemp("", "copa-bench"))
	defer os.RemoveAll(ctxDir)
	write(filepath.Join(ctxDir, "report.json"), must(os.ReadFile(reportPath)))
	write(filepath.Join(ctxDir, "Patchfile"), []byte(fmt.Sprintf("PATCH %s/%s\nREPORT report.json\n", c.registry, c.image)))
	write(filepath.Join(ctxDir, "Dockerfile"), []byte(fmt.Sprintf("FROM %s/%s\nRUN apk upgrade --no-cache %s\n", c.registry, c.image, strings.Join(pkgs, " "))))

	syntax := "BUILDKIT_SYNTAX=" + c.frontend
	cases := []benchCase{
		{"copa/frontend", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", syntax}, "bench-frontend"},
		{"copa/frontend, " + frontend.ArgKeepUnchanged + "=false", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", syntax,
			"--build-arg", frontend.ArgKeepUnchanged + "=false"}, "bench-frontend-all-files"},
		{"rebuild (FROM + RUN apk upgrade --no-cache …)", []string{"-f", filepath.Join(ctxDir, "Dockerfile")}, "bench-rebuild"},
	}
	results := c.run(cases, ctxDir, base)

	// Every case must have reached the same versions.
	before := must(apk.ReadInstalled(ctx, baseFS.Root()))
	dbs := make([]*apk.Installed, len(cases))
	var patched *imagetest.FS
	for i, cs := range cases {
		fs := must(must(imagetest.FromRegistry(c.registry, repoOf(c.image), cs.tag, "linux/amd64")).FS())
		if i == 0 {
			patched = fs
		}
		dbs[i] = must(apk.ReadInstalled(ctx, fs.Root()))
	}
	var names []string
	var changed bytes.Buffer
	tw := tar.NewWriter(&changed)
	var changedPaths []string
	for _, o := range before.Records {
		n, ok := dbs[0].Lookup(o.Name)
		if !ok || n.Version == o.Version {
			continue
		}
		names = append(names, o.Name+" "+o.Version+" → "+n.Version)
		for i := 1; i < len(cases); i++ {
			if r, ok := dbs[i].Lookup(o.Name); !ok || r.Version != n.Version {
				fail(fmt.Errorf("%s: %s is not at %s as after %s", cases[i].name, o.Name, n.Version, cases[0].name))
			}
		}
		old := map[string]apk.File{}
		for _, f := range o.Files {
			old[f.Path] = f
		}
		for _, f := range n.Files {
			if of, ok := old[f.Path]; ok && !f.Checksum.IsZero() && f.Checksum == of.Checksum {
				continue
			}
			p := f.Path
			data, ok := patched.ReadFile(p)
			if ok && !f.Checksum.IsZero() && !f.Checksum.Matches(data) {
				// A configuration file the image had edited: apk kept
				// it and wrote the package's as .apk-new.
				if data, ok = patched.ReadFile(p + ".apk-new"); !ok || !f.Checksum.Matches(data) {
					fail(fmt.Errorf("%s: neither /%s nor /%s.apk-new matches its Z: checksum", o.Name, p, p))
				}
				p += ".apk-new"
			}
			if ok {
				addTar(tw, &tar.Header{Name: p, Mode: 0o644, Typeflag: tar.TypeReg}, data)
				changedPaths = append(changedPaths, "/"+p)
			}
		}
	}
	if len(names) == 0 {
		fail(fmt.Errorf("the patch upgraded nothing in %s", c.image))
	}
	// The database: the installed file, and the scripts and triggers
	// where the upgrade changed them.
	db, ok := patched.ReadFile(apk.InstalledPath)
	if !ok {
		fail(fmt.Errorf("the patched image has no %s", apk.InstalledPath))
	}
	addTar(tw, &tar.Header{Name: strings.TrimPrefix(apk.InstalledPath, "/"), Mode: 0o644, Typeflag: tar.TypeReg}, db)
	for _, p := range []string{"lib/apk/db/scripts.tar", "lib/apk/db/scripts.tar.gz", "lib/apk/db/triggers"} {
		now, ok := patched.ReadFile(p)
		if was, _ := baseFS.ReadFile(p); ok && !bytes.Equal(now, was) {
			addTar(tw, &tar.Header{Name: p, Mode: 0o644, Typeflag: tar.TypeReg}, now)
			changedPaths = append(changedPaths, "/"+p)
		}
	}
	must(0, tw.Close())
	floorGz := gzipSize(changed.Bytes())
	sort.Strings(changedPaths)

	fmt.Printf("image: %s (%d reported packages; upgraded: %s)\n", c.image, len(pkgs), strings.Join(names, ", "))
	fmt.Printf("floor: %d files with new content (%s) plus %s (%d KiB), gzip'd tar %s\n\n",
		len(changedPaths), strings.Join(changedPaths, " "), apk.InstalledPath, len(db)>>10, kib(floorGz))
	fmt.Printf("| case | median wall time | min–max | median added layers | layer / floor |\n|---|---|---|---|---|\n")
	for i, cs := range cases {
		w, l := medians(results[i])
		lo, hi := spread(results[i])
		fmt.Printf("| %s | %.1f s | %.1f–%.1f s | %s | %.2f× |\n", cs.name, w.Seconds(), lo.Seconds(), hi.Seconds(), kib(l), float64(l)/float64(floorGz))
	}
	wf, lf := medians(results[0])
	wr, _ := medians(results[len(results)-1])
	fmt.Printf("\ngoals: wall %.2f× the rebuild (≤ 1.00×: %s), layer %.2f× the floor (≤ 1.15×: %s)\n",
		wf.Seconds()/wr.Seconds(), met(wf <= wr), float64(lf)/float64(floorGz), met(float64(lf) <= 1.15*float64(floorGz)))
	for _, cs := range cases {
		img := must(imagetest.FromRegistry(c.registry, repoOf(c.image), cs.tag, "linux/amd64"))
		fmt.Printf("\n%s, added layers (last run):\n", cs.name)
		for j := len(base.Manifest.Layers); j < len(img.Manifest.Layers); j++ {
			l := must(img.Layer(j))
			fmt.Printf("  layer %d: %s compressed, %d entries:", j, kib(int64(l.CompressedSize)), len(l.Headers))
			for _, h := range l.Headers {
				fmt.Printf(" %s", h.Name)
			}
			fmt.Println()
		}
	}
}
