package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/copa/frontend/frontend/report"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// benchBake compares patching one of the harness's bulk-patching images
// (copa-test/debian:12-stale-bake-01) with `docker buildx build` against
// patching all of them (-01 … -10: one Debian 12 release, ten images) in
// one `docker buildx bake`, both with examples/bake's Patchfile and a
// report per image, pushing <image>-patched. Every build goes through a
// counting proxy (the HTTP_PROXY build arg), which tells how often the
// lists and each package were downloaded.
func benchBake(c config, count int) {
	ctxDir := must(os.MkdirTemp("", "copa-bench-bake"))
	defer os.RemoveAll(ctxDir)
	if err := os.MkdirAll(filepath.Join(ctxDir, "reports"), 0o755); err != nil {
		fail(err)
	}
	write(filepath.Join(ctxDir, "Patchfile"), must(os.ReadFile("examples/bake/Patchfile")))
	var tags []string
	for n := 1; n <= count; n++ {
		tag := fmt.Sprintf("%s-%02d", tagOf(c.image), n)
		tags = append(tags, tag)
		write(filepath.Join(ctxDir, "reports", tag+".json"), must(os.ReadFile(filepath.Join(c.data, "bake", tag+".trivy.json"))))
	}
	proxy := startProxy()
	url := "http://" + proxy.addr
	args := map[string]string{"BUILDKIT_SYNTAX": c.frontend, "HTTP_PROXY": url, "http_proxy": url, "NO_PROXY": "localhost"}
	write(filepath.Join(ctxDir, "docker-bake.hcl"), bakeFile(c, tags, args))

	type run struct {
		wall   time.Duration
		counts fetchCounts
		load   string // the 1-minute load average when the build started
	}
	one := func() time.Duration {
		a := []string{"buildx", "build", "--builder", c.builder, "--progress=quiet", "-f", filepath.Join(ctxDir, "Patchfile"),
			"--build-arg", "IMAGE=" + c.registry + "/" + repoOf(c.image) + ":" + tags[0], "--build-arg", "REPORT=reports/" + tags[0] + ".json",
			"-t", c.registry + "/" + repoOf(c.image) + ":" + tags[0] + "-patched", "--push"}
		for k, v := range args {
			a = append(a, "--build-arg", k+"="+v)
		}
		return timed("docker buildx build", exec.Command("docker", append(a, ctxDir)...))
	}
	all := func() time.Duration {
		cmd := exec.Command("docker", "buildx", "bake", "--builder", c.builder, "--progress=quiet", "patch")
		cmd.Dir = ctxDir
		return timed("docker buildx bake", cmd)
	}
	cases := []struct {
		name  string
		build func() time.Duration
		tags  []string
	}{
		{"one image (docker buildx build)", one, tags[:1]},
		{fmt.Sprintf("%d images (docker buildx bake)", count), all, tags},
	}
	fmt.Fprintf(os.Stderr, "bench: %s-01 … -%02d, %d runs per case\n", c.image, count, c.runs)
	runs := make([][]run, len(cases))
	for r := 0; r < c.runs; r++ {
		for i, cs := range cases {
			c.prune()
			proxy.take()
			load := loadAverage()
			wall := cs.build()
			counts := countFetches(proxy.take())
			for _, tag := range cs.tags {
				c.checkBakePatched(tag, filepath.Join(ctxDir, "reports", tag+".json"))
			}
			runs[i] = append(runs[i], run{wall, counts, load})
			fmt.Fprintf(os.Stderr, "bench: run %d %-34s %6.1fs  load %s  %+v\n", r+1, cs.name, wall.Seconds(), load, counts)
		}
	}

	fmt.Printf("images: %s-01 … -%02d (one release, each with a report of its own)\n\n", c.image, count)
	fmt.Printf("| case | median wall time | min–max | load at start (median run) | release files (200 / 304) | package indexes | .debs | most downloads of one index / one .deb | MB through the proxy |\n|---|---|---|---|---|---|---|---|---|\n")
	med := make([]time.Duration, len(cases))
	for i, cs := range cases {
		ws := make([]time.Duration, 0, len(runs[i]))
		for _, r := range runs[i] {
			ws = append(ws, r.wall)
		}
		slices.Sort(ws)
		med[i] = ws[len(ws)/2]
		// The counts of the median run.
		k := slices.IndexFunc(runs[i], func(r run) bool { return r.wall == med[i] })
		f := runs[i][k].counts
		fmt.Printf("| %s | %.1f s | %.1f–%.1f s | %s | %d / %d | %d | %d | %d / %d | %.1f |\n", cs.name, med[i].Seconds(), ws[0].Seconds(), ws[len(ws)-1].Seconds(),
			runs[i][k].load, f.releases, f.releasesUnchanged, f.indexes, f.debs, f.maxPerIndex, f.maxPerDeb, float64(f.bytes)/1e6)
	}
	ratio := med[1].Seconds() / med[0].Seconds()
	goal := "met"
	if ratio > 3 {
		goal = "not met"
	}
	fmt.Printf("\n%d images in one bake: %.2f× the wall time of one image (goal ≤ 3×: %s)\n", count, ratio, goal)
}

// bakeFile is examples/bake's docker-bake.hcl for the harness's images:
// a matrix over their tags, with the build args of every build.
func bakeFile(c config, tags []string, args map[string]string) []byte {
	quoted := must(json.Marshal(tags))
	var b strings.Builder
	fmt.Fprintf(&b, "target \"patch\" {\n  name = \"patch-${tag}\"\n  matrix = { tag = %s }\n  dockerfile = \"Patchfile\"\n  args = {\n", quoted)
	fmt.Fprintf(&b, "    IMAGE = \"%s/%s:${tag}\"\n    REPORT = \"reports/${tag}.json\"\n", c.registry, repoOf(c.image))
	for _, k := range slices.Sorted(maps.Keys(args)) {
		fmt.Fprintf(&b, "    %s = %q\n", k, args[k])
	}
	fmt.Fprintf(&b, "  }\n  tags = [\"%s/%s:${tag}-patched\"]\n  output = [\"type=registry\"]\n}\n", c.registry, repoOf(c.image))
	return []byte(b.String())
}

// loadAverage is the machine's 1-minute load average: the builder is
// shared, and other builds on it show there.
func loadAverage() string {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(dt))[0]
}

func timed(what string, cmd *exec.Cmd) time.Duration {
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", what, err, out))
	}
	return time.Since(start)
}

// checkBakePatched fails the bench unless <tag>-patched is <tag> plus one
// layer, with every package of the report at its fixed version or later.
func (c config) checkBakePatched(tag, reportPath string) {
	base := must(imagetest.FromRegistry(c.registry, repoOf(c.image), tag, "linux/amd64"))
	got := must(imagetest.FromRegistry(c.registry, repoOf(c.image), tag+"-patched", "linux/amd64"))
	if len(got.Manifest.Layers) != len(base.Manifest.Layers)+1 || !slices.Equal(got.LayerDigests()[:len(base.Manifest.Layers)], base.LayerDigests()) {
		fail(fmt.Errorf("%s-patched is not %s plus one layer", tag, tag))
	}
	installed := installedOf(got)
	r := must(report.Parse(must(os.ReadFile(reportPath))))
	for _, f := range r.Findings {
		fixed := f.FixedVersions()
		if len(fixed) > 0 && !slices.ContainsFunc(fixed, func(v string) bool { return (debtest.Versioning{}).Compare(installed[f.Package], v) >= 0 }) {
			fail(fmt.Errorf("%s-patched has %s %s, below the fixed %v", tag, f.Package, installed[f.Package], fixed))
		}
	}
}
