package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/copa/frontend/distros/rpm/rpmdb"
	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/imagetest"
)

// rpmReport returns the harness's report of an rpm test image
// ($COPA_TEST_RPM_DATA/<repo basename>-<tag>.trivy.json, e.g.
// el-9-dnf.trivy.json for copa-test/el:9-dnf), or "" when there is none.
func rpmReport(image string) string {
	dir := os.Getenv("COPA_TEST_RPM_DATA")
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, path.Base(repoOf(image))+"-"+tagOf(image)+".trivy.json")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// benchRPM compares, on a harness rpm image with dnf, patching with
// copa/frontend (as it is and with BUILDKIT_COPA_KEEP_UNCHANGED=false)
// against the rebuild a user would write: FROM the image, RUN dnf -y
// upgrade the reported packages && dnf clean all. Besides wall time and the
// added layers it measures two references:
//
//   - the floor: the gzip'd tar of the upgraded packages' files whose
//     content is new or differs from the base image's (symlinks whose target
//     changed included), plus the rewritten var/lib/rpm/rpmdb.sqlite;
//   - the payload: the gzip'd tar of every file of the new packages.
//
// Both are read from the exact new .rpms, downloaded from the harness's
// repository ($COPA_TEST_RPM_REPO), their files checked against the digests
// of the patched image's rpm database.
func benchRPM(c config, reportPath string) {
	ctx := context.Background()
	repoURL := must(env("COPA_TEST_RPM_REPO"))
	base := must(imagetest.FromRegistry(c.registry, repoOf(c.image), tagOf(c.image), "linux/amd64"))
	baseFS := must(base.FS())
	if _, ok := baseFS.Resolve("usr/bin/dnf"); !ok {
		fail(fmt.Errorf("%s has no usr/bin/dnf: the rpm mode compares against a dnf rebuild", c.image))
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
	df := fmt.Sprintf("FROM %s/%s\nUSER root\nRUN dnf -y upgrade %s && dnf clean all\n", c.registry, c.image, strings.Join(pkgs, " "))
	if u := base.Config.Config.User; u != "" {
		df += "USER " + u + "\n"
	}
	write(filepath.Join(ctxDir, "Dockerfile"), []byte(df))

	syntax := "BUILDKIT_SYNTAX=" + c.frontend
	cases := []benchCase{
		{"copa/frontend", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", syntax}, "bench-frontend"},
		{"copa/frontend, " + frontend.ArgKeepUnchanged + "=false", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", syntax,
			"--build-arg", frontend.ArgKeepUnchanged + "=false"}, "bench-frontend-all-files"},
		{"rebuild (FROM + RUN dnf -y upgrade … && dnf clean all)", []string{"-f", filepath.Join(ctxDir, "Dockerfile")}, "bench-rebuild"},
	}
	results := c.run(cases, ctxDir, base)

	// The upgraded packages: those whose EVR the frontend's patch changed.
	// Every case must have reached the same versions.
	baseDB := must(rpmdb.Read(ctx, baseFS.Root()))
	images := make([]*imagetest.FS, len(cases))
	dbs := make([]*rpmdb.Database, len(cases))
	for i, cs := range cases {
		images[i] = must(must(imagetest.FromRegistry(c.registry, repoOf(c.image), cs.tag, "linux/amd64")).FS())
		dbs[i] = must(rpmdb.Read(ctx, images[i].Root()))
	}
	old := headersByKey(baseDB)
	var upgraded []rpmdb.Header
	for _, h := range dbs[0].Headers {
		if o, ok := old[h.Name+"."+h.Arch]; ok && o.EVR() != h.EVR() {
			upgraded = append(upgraded, h)
		}
	}
	sort.Slice(upgraded, func(i, j int) bool { return upgraded[i].Name < upgraded[j].Name })
	if len(upgraded) == 0 {
		fail(fmt.Errorf("the patch upgraded nothing in %s", c.image))
	}
	var names []string
	for _, h := range upgraded {
		names = append(names, h.Name+" "+old[h.Name+"."+h.Arch].EVR()+" → "+h.EVR())
		for i := 1; i < len(cases); i++ {
			if o, ok := headersByKey(dbs[i])[h.Name+"."+h.Arch]; !ok || o.EVR() != h.EVR() {
				fail(fmt.Errorf("%s: %s is not at %s as after %s", cases[i].name, h.Name, h.EVR(), cases[0].name))
			}
		}
	}

	// The new packages' payloads, and the part of them that differs from
	// the base image.
	var payload, changed bytes.Buffer
	pw, cw := tar.NewWriter(&payload), tar.NewWriter(&changed)
	var nFiles, nChanged int
	var changedPaths []string
	for _, h := range upgraded {
		files := map[string]rpmdb.File{}
		for _, f := range h.Files {
			files[strings.TrimPrefix(f.Path, "/")] = f
		}
		oldFiles := map[string]rpmdb.File{}
		for _, f := range old[h.Name+"."+h.Arch].Files {
			oldFiles[strings.TrimPrefix(f.Path, "/")] = f
		}
		rpmFile := fmt.Sprintf("%s-%s-%s.%s.rpm", h.Name, h.Version, h.Release, h.Arch)
		tr := tar.NewReader(bytes.NewReader(rpmArchive(strings.TrimSuffix(repoURL, "/") + "/" + rpmFile)))
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				fail(fmt.Errorf("%s: %v", rpmFile, err))
			}
			data := must(io.ReadAll(tr))
			p := imagetest.CleanName(strings.TrimSuffix(hdr.Name, "/"))
			f, ok := files[p]
			if !ok {
				fail(fmt.Errorf("%s: /%s is not in the database's file list of %s", rpmFile, p, h.Name))
			}
			if hdr.Typeflag == tar.TypeReg && h.DigestAlgo == rpmdb.DigestSHA256 && sha256Hex(data) != f.Digest {
				fail(fmt.Errorf("%s: /%s does not match the installed %s's digest", rpmFile, p, h.Name))
			}
			addTar(pw, hdr, data)
			nFiles++
			var isNew bool
			switch hdr.Typeflag {
			case tar.TypeReg:
				cur, ok := baseFS.ReadFile(p)
				isNew = !ok || !bytes.Equal(cur, data)
			case tar.TypeSymlink:
				o, ok := oldFiles[p]
				isNew = !ok || o.Link != hdr.Linkname
			}
			if isNew {
				addTar(cw, hdr, data)
				nChanged++
				changedPaths = append(changedPaths, "/"+p)
			}
		}
	}
	// changed is left open: each floor below appends the database to it.
	must(0, pw.Close())
	payloadGz := gzipSize(payload.Bytes())
	// The floor's database: the smaller of the frontend's and the rebuild's,
	// each as its build wrote it.
	dbPath := strings.TrimPrefix(dbs[0].Path(), "/")
	var floorGz int64
	var floorFrom string
	for _, i := range []int{0, len(cases) - 1} {
		db, ok := images[i].ReadFile(dbPath)
		if !ok {
			fail(fmt.Errorf("%s: no /%s", cases[i].name, dbPath))
		}
		var t bytes.Buffer
		t.Write(changed.Bytes())
		tw := tar.NewWriter(&t)
		addTar(tw, &tar.Header{Name: dbPath, Mode: 0o644, Typeflag: tar.TypeReg}, db)
		must(0, tw.Close())
		if n := gzipSize(t.Bytes()); floorGz == 0 || n < floorGz {
			floorGz, floorFrom = n, fmt.Sprintf("%s's (%d KiB)", cases[i].name, len(db)>>10)
		}
	}

	fmt.Printf("image: %s (%d reported packages; upgraded: %s)\n", c.image, len(pkgs), strings.Join(names, ", "))
	fmt.Printf("payload: %d entries of the new packages, gzip'd tar %s\n", nFiles, kib(payloadGz))
	fmt.Printf("floor: %d entries with new content (%s) plus /%s, the %s, gzip'd tar %s\n\n",
		nChanged, strings.Join(changedPaths, " "), dbPath, floorFrom, kib(floorGz))
	fmt.Printf("| case | median wall time | min–max | median added layers | layer / floor | layer / payload |\n|---|---|---|---|---|---|\n")
	for i, cs := range cases {
		w, l := medians(results[i])
		lo, hi := spread(results[i])
		fmt.Printf("| %s | %.1f s | %.1f–%.1f s | %s | %.2f× | %.2f× |\n", cs.name, w.Seconds(), lo.Seconds(), hi.Seconds(),
			kib(l), float64(l)/float64(floorGz), float64(l)/float64(payloadGz))
	}
	wf, lf := medians(results[0])
	wr, _ := medians(results[len(results)-1])
	fmt.Printf("\ngoals: wall %.2f× the rebuild (≤ 1.00×: %s), layer %.2f× the floor (≤ 1.15×: %s)\n",
		wf.Seconds()/wr.Seconds(), met(wf <= wr), float64(lf)/float64(floorGz), met(float64(lf) <= 1.15*float64(floorGz)))

	// What each case's layer carries, largest first, to explain the ratios.
	for _, cs := range cases {
		img := must(imagetest.FromRegistry(c.registry, repoOf(c.image), cs.tag, "linux/amd64"))
		fmt.Printf("\n%s, added layers (last run):\n", cs.name)
		for j := len(base.Manifest.Layers); j < len(img.Manifest.Layers); j++ {
			l := must(img.Layer(j))
			var entries []*tar.Header
			for _, h := range l.Headers {
				entries = append(entries, h)
			}
			sort.SliceStable(entries, func(a, b int) bool { return entries[a].Size > entries[b].Size })
			fmt.Printf("  layer %d: %s compressed, %d entries\n", j, kib(int64(l.CompressedSize)), len(entries))
			for k, h := range entries {
				if k == 12 || h.Size == 0 {
					break
				}
				fmt.Printf("    %8d  %s\n", h.Size, h.Name)
			}
		}
	}
}

func headersByKey(db *rpmdb.Database) map[string]rpmdb.Header {
	m := map[string]rpmdb.Header{}
	for _, h := range db.Headers {
		m[h.Name+"."+h.Arch] = h
	}
	return m
}

// rpmArchive downloads an .rpm and returns its payload as an uncompressed
// tar (rpm2archive -n).
func rpmArchive(url string) []byte {
	resp := must(http.Get(url))
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET %s: %s", url, resp.Status))
	}
	rpm := must(io.ReadAll(resp.Body))
	cmd := exec.Command("rpm2archive", "-n", "-")
	cmd.Stdin = bytes.NewReader(rpm)
	out, err := cmd.Output()
	if err != nil {
		fail(fmt.Errorf("rpm2archive %s: %v", url, err))
	}
	return out
}

func addTar(tw *tar.Writer, h *tar.Header, data []byte) {
	h.Size = int64(len(data))
	if h.Typeflag != tar.TypeReg {
		h.Size = 0
	}
	must(0, tw.WriteHeader(h))
	if h.Size > 0 {
		must(tw.Write(data))
	}
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
