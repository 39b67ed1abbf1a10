// Command bench compares, on the harness's stale Debian 12 image, patching
// with copa/frontend against the plain rebuild a user would otherwise write
// (FROM the image, RUN apt-get update && apt-get install --only-upgrade the
// reported packages), as written and with the usual cleanup (apt-get clean,
// lists removed) in the same RUN. BuildKit's cache is pruned before every
// build, so each one pulls the image and downloads the package lists afresh. It prints, per case,
// the median wall time and the size of the layer the build added, next to
// the gzip size of the upgraded packages' own files.
//
// With -image copa-test/distroless:12-stale (or :11-stale) it compares
// patching a distroless-style image instead (see benchDistroless); with
// -image copa-test/debian:12-stale-multi, patching the two-platform index
// under emulation and natively (see benchMultiPlatform); with
// -image copa-test/el:9-dnf, an rpm image with dnf against a dnf rebuild
// (see benchRPM); with -image copa-test/alpine:3.21-stale, an apk image
// against an apk upgrade rebuild (see benchAPK); with -image copa-test/debian:12-stale-bake, one of the
// harness's bulk-patching images against a bake of all of them (see
// benchBake; -runs 3 is the method of docs/benchmarks.md). With
// -scale 1000,100000, the frontend's in-process cost on large synthetic
// reports, without BuildKit (see scale.go).
//
//	eval "$(hack/harness.sh env)"; go run ./hack/bench -runs 5
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/frontend/report"
	"github.com/copa/frontend/internal/imagetest"
)

type config struct {
	runs     int
	registry string
	data     string
	frontend string
	builder  string
	host     string
	buildctl string
	image    string // repo:tag in the registry
}

type result struct {
	wall  time.Duration
	layer int64
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 5, "builds per case")
	flag.StringVar(&c.image, "image", "copa-test/debian:12-stale", "image to patch, REPO:TAG in the loopback registry")
	tooling := flag.String("tooling", "", "tooling image for distroless images, REPO:TAG in the loopback registry (default: the harness's image of the release)")
	bakeImages := flag.Int("bake-images", 10, "with an -image tag ending in -bake: how many of the harness's bake images (TAG-01, TAG-02, …) the bake patches")
	flag.Parse()
	if runScale(c.runs) { // -scale: no BuildKit, see scale.go
		return
	}
	c.registry = must(env("COPA_TEST_REGISTRY"))
	c.data = must(env("COPA_TEST_DATA"))
	c.frontend = must(env("COPA_FRONTEND_IMAGE"))
	c.host = must(env("BUILDKIT_HOST"))
	c.builder = os.Getenv("COPA_BUILDER")
	if c.builder == "" {
		c.builder = "copa"
	}
	var err error
	if c.buildctl, err = exec.LookPath("buildctl"); err != nil {
		fail(fmt.Errorf("buildctl not on PATH: eval \"$(hack/harness.sh env)\" puts it there"))
	}

	if strings.HasSuffix(c.image, "-bake") {
		benchBake(c, *bakeImages)
		return
	}
	if strings.HasSuffix(c.image, "-multi") {
		benchMultiPlatform(c)
		return
	}
	if strings.Contains(repoOf(c.image), "distroless") {
		benchDistroless(c, *tooling)
		return
	}
	if r := rpmReport(c.image); r != "" {
		benchRPM(c, r)
		return
	}
	if r := apkReport(c.data, c.image); r != "" {
		benchAPK(c, r)
		return
	}

	// The harness names a stale image's report after its tag.
	reportPath := filepath.Join(c.data, "debian-"+tagOf(c.image)+".trivy.json")
	pkgs := reportedPackages(reportPath)
	fmt.Fprintf(os.Stderr, "bench: %s, %d runs per case, packages: %s\n", c.image, c.runs, strings.Join(pkgs, " "))

	ctxDir := must(os.MkdirTemp("", "copa-bench"))
	defer os.RemoveAll(ctxDir)
	write(filepath.Join(ctxDir, "report.json"), must(os.ReadFile(reportPath)))
	write(filepath.Join(ctxDir, "Patchfile"), []byte(fmt.Sprintf("PATCH %s/%s\nREPORT report.json\n", c.registry, c.image)))
	base := must(imagetest.FromRegistry(c.registry, repoOf(c.image), tagOf(c.image), "linux/amd64"))
	// The rebuild runs apt as root and restores the image's user afterwards,
	// as a user rebuilding this image would have to.
	user := base.Config.Config.User
	rebuild := func(cleanup string) []byte {
		df := fmt.Sprintf("FROM %s/%s\nUSER root\nRUN apt-get update && apt-get install -y --no-install-recommends --only-upgrade %s%s\n",
			c.registry, c.image, strings.Join(pkgs, " "), cleanup)
		if user != "" {
			df += "USER " + user + "\n"
		}
		return []byte(df)
	}
	write(filepath.Join(ctxDir, "Dockerfile"), rebuild(""))
	write(filepath.Join(ctxDir, "Dockerfile.clean"), rebuild(" && apt-get clean && rm -rf /var/lib/apt/lists/*"))

	cases := []benchCase{
		{"copa/frontend", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", "BUILDKIT_SYNTAX=" + c.frontend}, "bench-frontend"},
		{"copa/frontend, unchanged files kept in", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", "BUILDKIT_SYNTAX=" + c.frontend,
			"--build-arg", frontend.ArgKeepUnchanged + "=false"}, "bench-frontend-all-files"},
		{"rebuild (FROM + RUN apt-get)", []string{"-f", filepath.Join(ctxDir, "Dockerfile")}, "bench-rebuild"},
		{"rebuild + apt-get clean, lists removed", []string{"-f", filepath.Join(ctxDir, "Dockerfile.clean")}, "bench-rebuild-clean"},
	}
	results := c.run(cases, ctxDir, base)

	upgraded, gz := c.upgradedFilesGzip(base, "bench-frontend", c.registry+"/"+c.image)
	fmt.Printf("image: %s (%d reported packages; the patch changed %d: %s)\n", c.image, len(pkgs), len(upgraded), strings.Join(upgraded, " "))
	printTable(cases, results, gz)
	wf, lf := medians(results[0])
	for i := 1; i < len(cases); i++ {
		wr, lr := medians(results[i])
		fmt.Printf("\ncopa/frontend vs %s: wall time %.2f×, layer %.2f×", cases[i].name, wf.Seconds()/wr.Seconds(), float64(lf)/float64(lr))
	}
	fmt.Println()
}

// benchCase is one way of patching the image: docker buildx build
// arguments, and the tag the result is pushed under.
type benchCase struct {
	name string
	args []string
	tag  string
}

// run builds every case c.runs times, interleaved, each from a pruned
// cache, and measures wall time and the bytes added on top of base.
func (c config) run(cases []benchCase, ctxDir string, base *imagetest.Image) [][]result {
	results := make([][]result, len(cases))
	for run := 0; run < c.runs; run++ {
		for i, cs := range cases {
			wall := c.build(cs, ctxDir)
			img := must(imagetest.FromRegistry(c.registry, repoOf(c.image), cs.tag, "linux/amd64"))
			// Everything the build added on top of the image's own layers:
			// the Dockerfile frontend adds an empty layer for the image's
			// WORKDIR besides the RUN layer.
			n := len(base.Manifest.Layers)
			if len(img.Manifest.Layers) <= n || !slices.Equal(img.LayerDigests()[:n], base.LayerDigests()) {
				fail(fmt.Errorf("%s: the base layers were not kept", cs.name))
			}
			r := result{wall: wall}
			for _, l := range img.Manifest.Layers[n:] {
				r.layer += l.Size
			}
			results[i] = append(results[i], r)
			fmt.Fprintf(os.Stderr, "bench: run %d %-30s %6.1fs  layer %s\n", run+1, cs.name, wall.Seconds(), mib(r.layer))
		}
	}

	return results
}

func printTable(cases []benchCase, results [][]result, gz int64) {
	fmt.Printf("gzip size of the upgraded packages' own files: %s\n\n", mib(gz))
	fmt.Printf("| case | median wall time | min–max | median added layers | added / package files |\n|---|---|---|---|---|\n")
	for i, cs := range cases {
		w, l := medians(results[i])
		lo, hi := spread(results[i])
		fmt.Printf("| %s | %.1f s | %.1f–%.1f s | %s | %.2f× |\n", cs.name, w.Seconds(), lo.Seconds(), hi.Seconds(), mib(l), float64(l)/float64(gz))
	}
}

// build runs one case from a pruned cache, pushing the result under its
// tag, and returns its wall time.
func (c config) build(cs benchCase, ctxDir string) time.Duration {
	c.prune()
	start := time.Now()
	args := append([]string{"buildx", "build", "--builder", c.builder, "--progress=quiet",
		"-t", fmt.Sprintf("%s/%s:%s", c.registry, repoOf(c.image), cs.tag), "--push"}, cs.args...)
	args = append(args, ctxDir)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", cs.name, err, out))
	}
	return time.Since(start)
}

// prune empties BuildKit's cache, so every build starts cold.
func (c config) prune() {
	if out, err := exec.Command(c.buildctl, "--addr", c.host, "prune", "--all").CombinedOutput(); err != nil {
		fail(fmt.Errorf("buildctl prune: %v\n%s", err, out))
	}
}

// upgradedFilesGzip finds the packages whose version the patch changed and
// measures the gzip-compressed tar of their files, as shipped in their
// .debs: the least a layer carrying those packages could weigh without
// leaving files out.
func (c config) upgradedFilesGzip(base *imagetest.Image, patchedTag, downloader string) ([]string, int64) {
	before := installedOf(base)
	after := installedOf(must(imagetest.FromRegistry(c.registry, repoOf(c.image), patchedTag, "linux/amd64")))
	var specs, names []string
	for n, v := range after {
		if before[n] != v {
			specs = append(specs, n+"="+v)
			names = append(names, n)
		}
	}
	sort.Strings(specs)
	sort.Strings(names)
	dir := must(os.MkdirTemp("", "copa-bench-debs"))
	defer os.RemoveAll(dir)
	// Download the exact .debs with apt in the downloader image (the
	// image itself, or a tooling image of its release), through BuildKit,
	// as the machine may have no apt sources for this release.
	df := fmt.Sprintf("FROM %s AS dl\nUSER root\nRUN apt-get update && mkdir /debs && cd /debs && apt-get download %s\nFROM scratch\nCOPY --from=dl /debs /\n",
		downloader, strings.Join(specs, " "))
	write(filepath.Join(dir, "Dockerfile"), []byte(df))
	out := filepath.Join(dir, "debs")
	if o, err := exec.Command("docker", "buildx", "build", "--builder", c.builder, "--progress=quiet",
		"-o", "type=local,dest="+out, dir).CombinedOutput(); err != nil {
		fail(fmt.Errorf("downloading the upgraded .debs: %v\n%s", err, o))
	}
	var total int64
	for _, d := range must(filepath.Glob(filepath.Join(out, "*.deb"))) {
		fsys := must(exec.Command("dpkg-deb", "--fsys-tarfile", d).Output())
		total += gzipSize(fsys)
	}
	return names, total
}

func gzipSize(tarData []byte) int64 {
	// Re-read and re-write the tar so that only regular file content and
	// headers count, compressed as BuildKit compresses layers (gzip).
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tr := tar.NewReader(bytes.NewReader(tarData))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
		}
		if err := tw.WriteHeader(h); err != nil {
			fail(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			fail(err)
		}
	}
	tw.Close()
	gz.Close()
	return int64(buf.Len())
}

// installedOf reads an image's installed versions, from status or status.d.
func installedOf(img *imagetest.Image) map[string]string {
	return must(deb.InstalledVersions(context.Background(), must(img.FS()).Root()))
}

func reportedPackages(path string) []string {
	r := must(report.Parse(must(os.ReadFile(path))))
	var pkgs []string
	for _, f := range r.Findings {
		if len(f.FixedVersions()) > 0 && !slices.Contains(pkgs, f.Package) {
			pkgs = append(pkgs, f.Package)
		}
	}
	sort.Strings(pkgs)
	return pkgs
}

func medians(rs []result) (time.Duration, int64) {
	ws := make([]time.Duration, len(rs))
	ls := make([]int64, len(rs))
	for i, r := range rs {
		ws[i], ls[i] = r.wall, r.layer
	}
	slices.Sort(ws)
	slices.Sort(ls)
	return ws[len(ws)/2], ls[len(ls)/2]
}

func spread(rs []result) (time.Duration, time.Duration) {
	lo, hi := rs[0].wall, rs[0].wall
	for _, r := range rs {
		lo, hi = min(lo, r.wall), max(hi, r.wall)
	}
	return lo, hi
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func repoOf(image string) string { r, _, _ := strings.Cut(image, ":"); return r }
func tagOf(image string) string  { _, t, _ := strings.Cut(image, ":"); return t }

func env(k string) (string, error) {
	if v := os.Getenv(k); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s is not set: eval \"$(hack/harness.sh env)\" first", k)
}

func write(p string, dt []byte) {
	if err := os.WriteFile(p, dt, 0o644); err != nil {
		fail(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		fail(err)
	}
	return v
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
