package frontend_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/tonistiigi/fsutil"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// testEnv is what hack/harness.sh provides: a BuildKit daemon, a loopback
// registry with the test images, and the reports made for them.
type testEnv struct {
	host     string
	registry string
	data     string
}

// needEnv returns the harness environment. A bare `go test` without the
// harness skips the test; under `make test` (COPA_REQUIRE_HARNESS) or CI a
// missing harness fails it, because a run whose integration tests skip
// proves nothing.
func needEnv(t *testing.T) testEnv {
	t.Helper()
	env := testEnv{host: os.Getenv("BUILDKIT_HOST"), registry: os.Getenv("COPA_TEST_REGISTRY"), data: os.Getenv("COPA_TEST_DATA")}
	if env.host == "" || env.registry == "" || env.data == "" {
		msg := "integration test needs BUILDKIT_HOST, COPA_TEST_REGISTRY and COPA_TEST_DATA: run `make test` (it starts hack/harness.sh)"
		if os.Getenv("CI") != "" || os.Getenv("COPA_REQUIRE_HARNESS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return env
}

// buildOutcome is what a build returned: the exported image, or the error,
// and the warnings BuildKit reported.
type buildOutcome struct {
	image    *imagetest.Image
	err      error
	warnings []string
	logs     string
	// progress is everything the status stream carried: vertex names and
	// errors, warnings and logs, as --progress=plain shows them.
	progress string
	// tar is the exported OCI archive, when the build succeeded.
	tar string
}

// patch runs the frontend's build function in this process against the
// real daemon, with a build context made of files.
// With push, the image is also pushed to that reference. args are build
// args, except "target", which selects the build target, "platform", the
// platforms the build asks for as --platform does, "context:NAME", which
// names a build context as --build-context does, and
// "input-metadata:NAME", the config of an input as bake passes it. The outcome's image
// is the result's for the platform asked for when one is, else for
// linux/amd64.
func patch(t *testing.T, env testEnv, files map[string]string, args map[string]string, push ...string) buildOutcome {
	t.Helper()
	return patchWith(t, env, files, args, nil, push...)
}

// patchWithSecrets is patch with the build's secrets, as docker buildx
// build --secret id=ID,src=FILE gives them.
func patchWithSecrets(t *testing.T, env testEnv, files map[string]string, args map[string]string, secrets map[string][]byte, push ...string) buildOutcome {
	t.Helper()
	return patchWith(t, env, files, args, func(opt *client.SolveOpt) {
		opt.Session = append(opt.Session, secretsprovider.FromMap(secrets))
	}, push...)
}

// patchWith is patch with what edit sets in the solve's options: the
// client's OCI layout stores, which "context:NAME" =
// "oci-layout://STORE@DIGEST" names as buildx passes an oci-layout://
// build context, or the frontend's inputs, which "input:NAME" names as
// bake passes a target; or the session's secrets.
func patchWith(t *testing.T, env testEnv, files map[string]string, args map[string]string, edit func(*client.SolveOpt), push ...string) buildOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fs := contextFS(t, files)
	c, err := client.New(ctx, env.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// BuildKit names the frontend image in "source"; the frontend runs its
	// helper from it. The harness builds that image from this tree.
	attrs := map[string]string{"filename": "Patchfile", "source": os.Getenv("COPA_FRONTEND_IMAGE")}
	for k, v := range args {
		if k == "target" || k == "platform" || strings.HasPrefix(k, "context:") || strings.HasPrefix(k, "input-metadata:") {
			attrs[k] = v
			continue
		}
		attrs["build-arg:"+k] = v
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	opt := client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: attrs,
		Exports: []client.ExportEntry{{
			Type:   client.ExporterOCI,
			Attrs:  map[string]string{"name": "patched"},
			Output: func(map[string]string) (io.WriteCloser, error) { return os.Create(out) },
		}},
	}
	for _, ref := range push {
		opt.Exports = append(opt.Exports, client.ExportEntry{Type: client.ExporterImage, Attrs: map[string]string{"name": ref, "push": "true"}})
	}
	if edit != nil {
		edit(&opt)
	}
	ch := make(chan *client.SolveStatus)
	var res buildOutcome
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var logs, progress strings.Builder
		for st := range ch {
			for _, v := range st.Vertexes {
				fmt.Fprintf(&progress, "vertex %s %s\n", v.Name, v.Error)
			}
			for _, w := range st.Warnings {
				res.warnings = append(res.warnings, string(w.Short))
				fmt.Fprintf(&progress, "warning %s %s\n", w.Short, bytes.Join(w.Detail, []byte("\n")))
			}
			for _, l := range st.Logs {
				logs.Write(l.Data)
				progress.Write(l.Data)
			}
		}
		res.logs = logs.String()
		res.progress = progress.String()
	}()
	_, res.err = c.Build(ctx, opt, "", frontend.Build, ch)
	wg.Wait()
	if res.err == nil {
		platform := "linux/amd64"
		if p := args["platform"]; p != "" && !strings.Contains(p, ",") {
			platform = p
		}
		img, err := imagetest.ReadOCITarFor(out, platform)
		if err != nil {
			t.Fatal(err)
		}
		res.image = img
		res.tar = out
	}
	return res
}

// contextFS is a build context (and Patchfile directory) of files.
func contextFS(t *testing.T, files map[string]string) fsutil.FS {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		// "symlink:TARGET" makes a symbolic link.
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func readData(t *testing.T, env testEnv, name string) string {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(env.data, name))
	if err != nil {
		t.Fatalf("harness test data: %v", err)
	}
	return string(dt)
}

// trivyFixes reads the fixed version per package from a Trivy report the
// way a user would read it: the highest FixedVersion of each PkgName.
func trivyFixes(t *testing.T, report string) map[string]string {
	t.Helper()
	fixes := reportFixes(t, report)
	if len(fixes) == 0 {
		t.Fatal("the report names no package with a fixed version: if it is the harness's, the Debian archive offered no upgrade " +
			"for the image when hack/harness.sh made it, and this test needs one (see hack/README.md)")
	}
	return fixes
}

// reportFixes is trivyFixes for a report that may name no fix.
func reportFixes(t *testing.T, report string) map[string]string {
	t.Helper()
	return fixesIn(t, report, debtest.Versioning{})
}

// someFixes is the highest FixedVersion of each PkgName of a Trivy report
// in the order of v, failing the test when the report names none.
func someFixes(t *testing.T, report string, v interface{ Compare(a, b string) int }) map[string]string {
	t.Helper()
	fixes := fixesIn(t, report, v)
	if len(fixes) == 0 {
		t.Fatal("the report names no fixed version")
	}
	return fixes
}

// fixesIn is the highest FixedVersion of each PkgName of a Trivy report,
// in the order of v.
func fixesIn(t *testing.T, report string, v interface{ Compare(a, b string) int }) map[string]string {
	t.Helper()
	var r struct {
		Results []struct {
			Vulnerabilities []struct{ PkgName, FixedVersion string }
		}
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatal(err)
	}
	fixes := map[string]string{}
	for _, res := range r.Results {
		for _, x := range res.Vulnerabilities {
			if x.FixedVersion == "" {
				continue
			}
			if cur, ok := fixes[x.PkgName]; !ok || v.Compare(x.FixedVersion, cur) > 0 {
				fixes[x.PkgName] = x.FixedVersion
			}
		}
	}
	return fixes
}

func imagetestFromRegistry(env testEnv, tag string) (*imagetest.Image, error) {
	return imagetest.FromRegistry(env.registry, "copa-test/debian", tag, "linux/amd64")
}

func baseImage(t *testing.T, env testEnv, tag string) *imagetest.Image {
	t.Helper()
	return harnessImage(t, env, "copa-test/debian", tag)
}

func harnessImage(t *testing.T, env testEnv, repo, tag string) *imagetest.Image {
	t.Helper()
	img, err := imagetest.FromRegistry(env.registry, repo, tag, "linux/amd64")
	if err != nil {
		t.Fatalf("reading the harness image %s:%s: %v", repo, tag, err)
	}
	return img
}

// checkPatched asserts what every successful patch of an image with a
// dpkg status file must give: the base layers untouched plus one layer,
// the config kept, the fixed versions installed, and no package-manager
// leftovers in the new layer.
func checkPatched(t *testing.T, base, got *imagetest.Image, want map[string]string) map[string]string {
	t.Helper()
	return debtest.Versions(checkPatchedPackages(t, base, got, want))
}

// checkPatchedPackages is checkPatched, returning the patched image's
// packages with their architectures.
func checkPatchedPackages(t *testing.T, base, got *imagetest.Image, want map[string]string) map[string]debtest.Package {
	t.Helper()
	layer := checkLayerAndConfig(t, base, got)
	status, ok := layer.Files["var/lib/dpkg/status"]
	if !ok {
		t.Fatal("the patch layer has no var/lib/dpkg/status")
	}
	pkgs, err := debtest.ParseStatus(status)
	if err != nil {
		t.Fatal(err)
	}
	checkVersions(t, debtest.Versions(pkgs), want)
	checkPackageFiles(t, base, layer, pkgs)
	return pkgs
}

func checkVersions(t *testing.T, installed, want map[string]string) {
	t.Helper()
	for name, fixed := range want {
		if v, ok := installed[name]; !ok || (debtest.Versioning{}).Compare(v, fixed) < 0 {
			t.Errorf("%s: installed %q, want %s or later", name, v, fixed)
		}
	}
}

// checkLayerAndConfig asserts that got is base plus one layer, that the
// layer holds no package-manager leftovers and that the config is kept;
// it returns the layer.
func checkLayerAndConfig(t *testing.T, base, got *imagetest.Image) *imagetest.Layer {
	t.Helper()
	bl, gl := base.LayerDigests(), got.LayerDigests()
	if len(gl) != len(bl)+1 || !slices.Equal(gl[:len(bl)], bl) {
		t.Fatalf("layers = %v, want the base's %v plus one", gl, bl)
	}
	layer, err := got.Layer(len(gl) - 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range layer.Headers {
		n := h.Name
		switch {
		case strings.HasPrefix(n, "var/lib/apt/lists/") && n != "var/lib/apt/lists/",
			strings.HasPrefix(n, "var/cache/apt/") && n != "var/cache/apt/",
			strings.HasSuffix(n, ".deb"),
			strings.HasPrefix(n, "var/log/") && n != "var/log/",
			strings.HasPrefix(n, "var/cache/debconf/") && strings.HasSuffix(n, "-old"),
			strings.HasPrefix(n, "tmp/") && n != "tmp/":
			t.Errorf("package-manager leftover in the patch layer: %s", n)
		}
	}

	bc, gc := base.Config.Config, got.Config.Config
	type kept struct {
		name      string
		base, got any
	}
	for _, k := range []kept{
		{"Entrypoint", bc.Entrypoint, gc.Entrypoint},
		{"Cmd", bc.Cmd, gc.Cmd},
		{"Env", bc.Env, gc.Env},
		{"User", bc.User, gc.User},
		{"WorkingDir", bc.WorkingDir, gc.WorkingDir},
		{"ExposedPorts", bc.ExposedPorts, gc.ExposedPorts},
		{"Volumes", bc.Volumes, gc.Volumes},
		{"StopSignal", bc.StopSignal, gc.StopSignal},
		{"Healthcheck", bc.Healthcheck, gc.Healthcheck},
		{"OnBuild", bc.OnBuild, gc.OnBuild},
		{"Shell", bc.Shell, gc.Shell},
	} {
		if !reflect.DeepEqual(k.base, k.got) {
			t.Errorf("config %s = %#v, want the base's %#v", k.name, k.got, k.base)
		}
	}
	for k, v := range bc.Labels {
		if gc.Labels[k] != v && !strings.HasPrefix(k, "org.opencontainers.image.base.") {
			t.Errorf("label %s = %q, want %q", k, gc.Labels[k], v)
		}
	}
	if gc.Labels[frontend.LabelPatched] != "true" || gc.Labels[frontend.LabelBaseDigest] == "" {
		t.Errorf("patch labels missing: %v", gc.Labels)
	}
	if h := got.Config.History; len(h) != len(base.Config.History)+1 || !strings.HasPrefix(h[len(h)-1].CreatedBy, "copa/frontend:") {
		t.Errorf("history = %+v, want the base's %d entries plus the patch", h, len(base.Config.History))
	}
	if got.Config.Architecture != base.Config.Architecture || got.Config.OS != base.Config.OS {
		t.Errorf("platform %s/%s, want %s/%s", got.Config.OS, got.Config.Architecture, base.Config.OS, base.Config.Architecture)
	}
	return layer
}

// checkPackageFiles asserts that in the patched image every file of every
// upgraded package has the content the new package's md5sums record, where
// a file the patch layer leaves out is the base image's copy; and that the
// patch did leave unchanged files out.
func checkPackageFiles(t *testing.T, base *imagetest.Image, layer *imagetest.Layer, after map[string]debtest.Package) {
	t.Helper()
	layers, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	baseFS := imagetest.Merge(layers...)
	patched := imagetest.Merge(append(layers, layer)...)
	st, _ := baseFS.ReadFile("var/lib/dpkg/status")
	before, err := debtest.ParseStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	leftOut := 0
	for name, p := range after {
		if before[name].Version == p.Version {
			continue
		}
		sums, ok := patched.ReadFile("var/lib/dpkg/info/" + name + ":" + p.Arch + ".md5sums")
		if !ok {
			sums, ok = patched.ReadFile("var/lib/dpkg/info/" + name + ".md5sums")
		}
		if !ok {
			t.Errorf("%s was upgraded but has no md5sums", name)
			continue
		}
		for _, resolved := range checkMD5Sums(t, patched, name, sums) {
			if layer.Files[resolved] == nil {
				leftOut++
			}
		}
	}
	if leftOut == 0 {
		t.Error("the patch layer carries every file of the upgraded packages: unchanged files were not left out")
	}
	t.Logf("%d unchanged package files left out of the patch layer", leftOut)
}

// checkMD5Sums asserts that every file an md5sums file lists is in the
// patched image with that md5, and returns the paths they resolve to.
func checkMD5Sums(t *testing.T, patched *imagetest.FS, pkg string, sums []byte) []string {
	t.Helper()
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, file, _ := strings.Cut(line, "  ")
		content, ok := patched.ReadFile(file)
		if !ok {
			t.Errorf("%s: /%s is missing from the patched image", pkg, file)
			continue
		}
		if got := fmt.Sprintf("%x", md5.Sum(content)); got != sum {
			t.Errorf("%s: /%s has md5 %s, the package records %s", pkg, file, got, sum)
		}
		resolved, _ := patched.Resolve(file)
		paths = append(paths, resolved)
	}
	return paths
}

func TestPatchFromTrivyReport(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	res := patch(t, env, map[string]string{
		"Patchfile":   "# syntax=copa/frontend\nARG TAG=12-stale\nPATCH " + env.registry + "/copa-test/debian:${TAG}\nREPORT report.json\n",
		"report.json": report,
	}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	fixes := trivyFixes(t, report)
	base := baseImage(t, env, "12-stale")
	installed := checkPatched(t, base, res.image, fixes)

	// Exactly the reported packages (and what apt had to pull in): a
	// package that has an update but is not in the report stays as it was.
	basePkgs := baseInstalled(t, base)
	var upgraded []string
	for _, name := range changed(basePkgs, installed) {
		if basePkgs[name] != "" && installed[name] != "" {
			upgraded = append(upgraded, name)
		}
	}
	baseFS, patchedFS := mergedFS(t, base), mergedFS(t, res.image)
	baseStatus, _ := baseFS.ReadFile("var/lib/dpkg/status")
	patchedStatus, _ := patchedFS.ReadFile("var/lib/dpkg/status")
	need := neededUpgrades(t, baseStatus, patchedStatus, fixes, upgraded)
	for _, name := range upgraded {
		if !need[name] {
			t.Errorf("%s was upgraded (%s → %s) though the report does not name it and no reported package needs it", name, basePkgs[name], installed[name])
		}
	}
	t.Logf("upgraded %d package(s) for %d reported: %s", len(upgraded), len(fixes), strings.Join(upgraded, " "))
}

func baseInstalled(t *testing.T, base *imagetest.Image) map[string]string {
	t.Helper()
	fs, err := base.FS()
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fs.ReadFile("var/lib/dpkg/status")
	if !ok {
		t.Fatal("base image has no dpkg status")
	}
	pkgs, err := debtest.ParseStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	return debtest.Versions(pkgs)
}

func TestPatchAddsReleaseSuites(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale-nosecurity\nREPORT report.json\n",
		"report.json": report,
	}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkPatched(t, baseImage(t, env, "12-stale-nosecurity"), res.image, trivyFixes(t, report))
	if !slices.ContainsFunc(res.warnings, func(w string) bool { return strings.Contains(w, "bookworm-security") }) {
		t.Errorf("no warning about adding bookworm-security; warnings: %q", res.warnings)
	}
	// The image's own sources are not changed by the patch.
	layer, err := res.image.Layer(len(res.image.Manifest.Layers) - 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range layer.Headers {
		if strings.HasPrefix(h.Name, "etc/apt/") {
			t.Errorf("the patch changed %s", h.Name)
		}
	}
}

func TestPatchEverythingWithoutReport(t *testing.T) {
	env := needEnv(t)
	base := baseImage(t, env, "12-stale")
	before := baseInstalled(t, base)
	want := upgradableOf(t, env, "debian-12-stale.upgradable", before)
	if len(want) == 0 {
		noHarnessData(t, env, "no upgradable package in debian-12-stale.upgradable")
	}
	res := patch(t, env, map[string]string{
		"Patchfile": "PATCH " + env.registry + "/copa-test/debian:12-stale\n",
	}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	after := checkPatched(t, base, res.image, want)
	// The summary shows each upgrade from the version it replaced to the
	// one installed (the archive may have published a later one since the
	// harness listed the upgrades).
	for name := range want {
		if row := before[name] + " → " + after[name]; !strings.Contains(res.logs, row) {
			t.Errorf("the summary has no row %q for %s:\n%s", row, name, res.logs)
		}
	}
}
