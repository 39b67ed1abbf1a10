package frontend_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/apk/apkstep"
	"github.com/copa/frontend/internal/imagetest"
)

// apkCase is one apk test image of the harness and how it must be patched.
type apkCase struct {
	name      string
	repo, tag string
	report    string // the harness's Trivy report of it
	tooling   string // TOOLING, for an image without apk
	noShell   bool   // the image has neither a shell nor apk
}

var apkCases = []apkCase{
	{name: "alpine", repo: "copa-test/alpine", tag: "3.21-stale", report: "apk/alpine-3.21-stale.trivy.json"},
	{name: "wolfi", repo: "copa-test/wolfi", tag: "stale", report: "apk/wolfi-stale.trivy.json", tooling: "copa-test/alpine:3.21-tooling", noShell: true},
	// The same through apk 3 (Alpine 3.23's apk-tools), which reads and
	// writes the same installed database.
	{name: "wolfi-apk3", repo: "copa-test/wolfi", tag: "stale", report: "apk/wolfi-stale.trivy.json", tooling: "copa-test/alpine:3.23-tooling", noShell: true},
}

// apkUpgrades reads apk/packages.txt: the new version of each test
// package the harness's repository offers at one.
func apkUpgrades(t *testing.T, env testEnv) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(readData(t, env, "apk/packages.txt"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 {
			t.Fatalf("apk/packages.txt: malformed line %q", line)
		}
		out[f[0]] = f[2]
	}
	if len(out) < 2 {
		t.Fatalf("apk/packages.txt names %d upgrades; the test packages have two", len(out))
	}
	return out
}

// apkReportFixes is the highest FixedVersion of each PkgName of a Trivy
// report, in apk's order.
func apkReportFixes(t *testing.T, report string) map[string]string {
	t.Helper()
	return someFixes(t, report, apk.Versioning{})
}

// TestPatchAPK patches the Alpine-like image (apk in the image) and the
// Wolfi-like one (no shell, no apk: a tooling image's apk), from the
// report and without one, and checks the result against its base.
func TestPatchAPK(t *testing.T) {
	env := needEnv(t)
	upgrades := apkUpgrades(t, env)
	for _, c := range apkCases {
		for _, withReport := range []bool{true, false} {
			name := c.name + "/report"
			if !withReport {
				name = c.name + "/all"
			}
			t.Run(name, func(t *testing.T) {
				pf := "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\n"
				files := map[string]string{}
				want := upgrades
				if withReport {
					pf += "REPORT report.json\n"
					files["report.json"] = readData(t, env, c.report)
					want = apkReportFixes(t, files["report.json"])
				}
				if c.tooling != "" {
					pf += "TOOLING " + env.registry + "/" + c.tooling + "\n"
				}
				files["Patchfile"] = pf
				res := patch(t, env, files, nil)
				if res.err != nil {
					t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
				}
				checkAPKPatched(t, harnessImage(t, env, c.repo, c.tag), res.image, c, want, upgrades, withReport)
				warnings := strings.Join(res.warnings, "\n")
				if scripts := strings.Contains(warnings, "install scripts"); scripts != c.noShell {
					t.Errorf("warning about install scripts not run: %v, want %v (warnings: %q)", scripts, c.noShell, res.warnings)
				}
				// The Alpine-like image's app.conf was edited as a user
				// would: apk keeps it, and the user is told.
				if kept := strings.Contains(warnings, "etc/copa/app.conf"); kept != !c.noShell {
					t.Errorf("warning about the kept /etc/copa/app.conf: %v, want %v (warnings: %q)", kept, !c.noShell, res.warnings)
				}
			})
		}
	}
}

// checkAPKPatched checks a patched apk image: the base's layers plus one
// and its config; each wanted package at or above its version in the
// result's database, and no other package upgraded than upgrades names
// (with exact, than want names);
// every Z: checksum of the upgraded packages matching its file; no apk
// cache or step file in the layer; the files whose content did not change
// out of it; install scripts run only where the image has a shell; and an
// image without a shell or apk still without them.
func checkAPKPatched(t *testing.T, base, got *imagetest.Image, c apkCase, want, upgrades map[string]string, exact bool) {
	t.Helper()
	layer := checkLayerAndConfig(t, base, got)
	inLayer := map[string]byte{}
	for _, h := range layer.Headers {
		inLayer[h.Name] = h.Typeflag
		for _, leftover := range []string{"var/cache/apk/", "etc/apk/cache/", "tmp/", "lib/apk/db/lock", "var/log/apk.log"} {
			if strings.HasPrefix(h.Name, leftover) && h.Name != leftover {
				t.Errorf("apk leftover in the patch layer: %s", h.Name)
			}
		}
	}
	history := got.Config.History[len(got.Config.History)-1].CreatedBy
	if !strings.Contains(history, "apk") || (c.tooling != "") != strings.Contains(history, "tooling image") {
		t.Errorf("history %q does not name apk (with tooling image: %v)", history, c.tooling != "")
	}

	ctx := context.Background()
	bfs, err := base.FS()
	if err != nil {
		t.Fatal(err)
	}
	gfs, err := got.FS()
	if err != nil {
		t.Fatal(err)
	}
	before, err := apk.ReadInstalled(ctx, bfs.Root())
	if err != nil {
		t.Fatal(err)
	}
	after, err := apk.ReadInstalled(ctx, gfs.Root())
	if err != nil {
		t.Fatalf("reading the patched image's apk database: %v", err)
	}
	v := apk.Versioning{}
	var changed []string
	for _, o := range before.Records {
		n, ok := after.Lookup(o.Name)
		if !ok {
			t.Errorf("%s: gone from the patched image's database", o.Name)
			continue
		}
		if n.Version != o.Version {
			changed = append(changed, o.Name)
			if n.Version != upgrades[o.Name] {
				t.Errorf("%s: %s → %s, but the repository offers %q", o.Name, o.Version, n.Version, upgrades[o.Name])
			}
		}
		if fixed, ok := want[o.Name]; ok && v.Compare(n.Version, fixed) < 0 {
			t.Errorf("%s: %s installed, want %s or later", o.Name, n.Version, fixed)
		}
	}
	for name := range want {
		if !slices.Contains(changed, name) {
			t.Errorf("%s was not upgraded", name)
		}
	}
	// From a report, exactly the planned packages: the test packages'
	// dependency (copa-lib) has an update too, which copa-base does not
	// need.
	if exact {
		for _, name := range changed {
			if _, ok := want[name]; !ok {
				t.Errorf("%s was upgraded, though the report does not name it and no planned package needs it", name)
			}
		}
	}

	// The database stays true: every file of an upgraded package is as
	// its Z: checksum says, but for a configuration file apk kept as the
	// image had it (its new version beside it as .apk-new).
	dir := t.TempDir()
	if err := gfs.Extract(dir); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	mismatches, err := apkstep.VerifyChecksums(ctx, root, after, changed)
	if err != nil {
		t.Fatal(err)
	}
	configKept := 0
	for _, m := range mismatches {
		if m.ConfigKept && strings.HasPrefix(m.Path, "etc/") {
			configKept++
			continue
		}
		t.Errorf("checksum: %s", m)
	}
	checked := 0
	for _, name := range changed {
		r, _ := after.Lookup(name)
		checked += len(r.Files)
	}
	t.Logf("%d file(s) of %d upgraded package(s) match their Z: checksums; %d configuration file(s) kept", checked-configKept, len(changed), configKept)

	// Only changed content: a regular file whose checksum both versions
	// record is the base's copy, so the layer leaves it out. (A symlink
	// apk rewrote with the same target is in the layer: its times are
	// not given back.)
	kept := 0
	for _, name := range changed {
		o, _ := before.Lookup(name)
		n, _ := after.Lookup(name)
		old := map[string]apk.File{}
		for _, f := range o.Files {
			old[f.Path] = f
		}
		for _, f := range n.Files {
			of, ok := old[f.Path]
			if !ok || f.Checksum.IsZero() || f.Checksum != of.Checksum || f.Attrs != of.Attrs {
				continue
			}
			switch typ, ok := inLayer[f.Path]; {
			case ok && typ == tar.TypeSymlink:
				continue
			case ok:
				t.Errorf("%s: /%s did not change, but is in the patch layer", name, f.Path)
			}
			kept++
		}
	}
	if kept == 0 {
		t.Error("no upgraded package kept a file unchanged: the test packages are meant to")
	}
	t.Logf("%d unchanged file(s) stayed out of the layer", kept)

	_, ran := gfs.ReadFile("/var/lib/copa/post-upgrade-ran")
	if ran == c.noShell && slices.Contains(changed, "copa-base") {
		t.Errorf("copa-base's post-upgrade script ran: %v; the image has a shell: %v", ran, !c.noShell)
	}
	if c.noShell {
		for _, p := range []string{"/bin/sh", "/bin/busybox", "/sbin/apk", "/usr/bin/apk"} {
			if _, ok := gfs.Resolve(p); ok {
				t.Errorf("the patched image has %s; the original has neither a shell nor apk", p)
			}
		}
	}
}

// TestPatchAPKHostileReport gives the apk images reports whose package
// names are shell words or apk constraints: each fails at planning, naming
// the entry, before any step runs.
func TestPatchAPKHostileReport(t *testing.T) {
	env := needEnv(t)
	for _, bad := range []string{"copa-base;touch${IFS}/pwned", "foo>=0", "copa-base@edge", "--allow-untrusted", "../../etc/passwd"} {
		for _, c := range apkCases {
			t.Run(c.name+"/"+bad, func(t *testing.T) {
				report := readData(t, env, c.report)
				b, _ := json.Marshal(bad)
				hostile := strings.Replace(report, `"PkgName": "copa-base"`, `"PkgName": `+string(b), 1)
				if hostile == report {
					t.Fatal("the report has no copa-base entry to replace")
				}
				pf := "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\n"
				if c.tooling != "" {
					pf += "TOOLING " + env.registry + "/" + c.tooling + "\n"
				}
				res := patch(t, env, map[string]string{"Patchfile": pf, "report.json": hostile}, nil)
				if res.err == nil {
					t.Fatal("a hostile package name was patched")
				}
				if !strings.Contains(res.err.Error(), "report entry report.json") || !strings.Contains(res.err.Error(), "is not an apk package name") {
					t.Errorf("error %q does not name the entry and the grammar", res.err)
				}
				if strings.Contains(res.progress, "apk-patch.sh") || strings.Contains(res.progress, "[internal] patch step inputs") {
					t.Errorf("a step ran before the bad name was refused:\n%s", res.progress)
				}
			})
		}
	}
}

// TestPatchAPKUnresolved patches the Alpine-like image to a version the
// repository does not have: the build fails naming it, and with UNRESOLVED
// warn goes on with a warning.
func TestPatchAPKUnresolved(t *testing.T) {
	env := needEnv(t)
	report := strings.Replace(readData(t, env, apkCases[0].report), `"FixedVersion": "1.0-r1"`, `"FixedVersion": "1.0-r99"`, 1)
	files := map[string]string{"Patchfile": "PATCH " + env.registry + "/copa-test/alpine:3.21-stale\nREPORT report.json\n", "report.json": report}
	res := patch(t, env, files, nil)
	if res.err == nil {
		t.Fatal("patching to a version the repository lacks succeeded")
	}
	for _, want := range []string{"fixed version(s) are not available from the package sources read (" + os.Getenv("COPA_TEST_APK_REPO"), "copa-base 1.0-r99 (best on offer: 1.0-r1)"} {
		if !strings.Contains(res.err.Error(), want) {
			t.Errorf("error %q does not say %q", res.err, want)
		}
	}
	files["Patchfile"] += "UNRESOLVED warn\n"
	res = patch(t, env, files, nil)
	if res.err != nil {
		t.Fatalf("UNRESOLVED warn still failed: %v\n%s", res.err, res.logs)
	}
	if !slices.ContainsFunc(res.warnings, func(w string) bool { return strings.Contains(w, "copa-base stays unpatched") }) {
		t.Errorf("no warning for copa-base; warnings: %q", res.warnings)
	}
}

// TestEndToEndAPKBuildContext patches the Wolfi-like image through
// `docker buildx build`, its default tooling image (Wolfi's base) replaced
// by a named build context.
func TestEndToEndAPKBuildContext(t *testing.T) {
	env := needEnv(t)
	dir := t.TempDir()
	report := readData(t, env, apkCases[1].report)
	for name, content := range map[string]string{
		"Patchfile":   "# syntax=copa/frontend\nPATCH " + env.registry + "/copa-test/wolfi:stale\nREPORT report.json\n",
		"report.json": report,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := buildx(t, dir,
		"--build-context", "cgr.dev/chainguard/wolfi-base:latest=docker-image://"+env.registry+"/copa-test/alpine:3.21-tooling",
		"-t", env.registry+"/copa-test/wolfi:e2e-patched", "--push")
	if err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	if !strings.Contains(out, "[context cgr.dev/chainguard/wolfi-base") {
		t.Errorf("the build did not load the tooling image from the build context:\n%s", out)
	}
	base := harnessImage(t, env, "copa-test/wolfi", "stale")
	got := harnessImage(t, env, "copa-test/wolfi", "e2e-patched")
	checkAPKPatched(t, base, got, apkCases[1], apkReportFixes(t, report), apkUpgrades(t, env), true)
}

// TestNativeAPKWithoutEmulation patches the harness's linux/arm64
// Wolfi-like image on the builder that cannot run arm64 (the harness's
// noemu daemon): the amd64 tooling image's apk installs aarch64 packages
// into it (--root, --arch aarch64), running nothing of the image. The
// result is a linux/arm64 image of the base layers plus one, with the
// aarch64 upgrade in its database, its files matching their checksums,
// and the history and warnings saying it was patched natively.
func TestNativeAPKWithoutEmulation(t *testing.T) {
	env := needEnv(t)
	env.host = os.Getenv("COPA_TEST_NOEMU_BUILDKIT_HOST")
	if env.host == "" {
		t.Fatal("COPA_TEST_NOEMU_BUILDKIT_HOST is not set: run `make test` (hack/harness.sh noemu-up starts that daemon)")
	}
	c := apkCase{name: "wolfi-arm64", repo: "copa-test/wolfi", tag: "stale-arm64", report: "apk/wolfi-stale-arm64.trivy.json", tooling: "copa-test/alpine:3.21-tooling", noShell: true}
	report := readData(t, env, c.report)
	if !strings.Contains(report, `"architecture": "arm64"`) {
		t.Fatalf("%s is not a report of an arm64 image", c.report)
	}
	base := platformImage(t, env, c.repo, c.tag, "linux/arm64")
	if base.Config.Architecture != "arm64" {
		t.Fatalf("the harness image %s:%s is %s, not arm64", c.repo, c.tag, base.Config.Architecture)
	}
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\nTOOLING " + env.registry + "/" + c.tooling + "\n",
		"report.json": report,
	}, map[string]string{"platform": "linux/arm64"})
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	if p := res.image.Config.OS + "/" + res.image.Config.Architecture; p != "linux/arm64" {
		t.Errorf("the patched image is %s, want linux/arm64", p)
	}
	checkAPKPatched(t, base, res.image, c, apkReportFixes(t, report), apkUpgrades(t, env), true)
	if h := res.image.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "(native on ") {
		t.Errorf("not patched natively: history %q", h[len(h)-1].CreatedBy)
	}
	for _, w := range []string{"the builder cannot run linux/arm64", "install scripts"} {
		if !slices.ContainsFunc(res.warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning saying %q; warnings: %q", w, res.warnings)
		}
	}
	gfs, err := res.image.FS()
	if err != nil {
		t.Fatal(err)
	}
	db, err := apk.ReadInstalled(context.Background(), gfs.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range db.Records {
		if r.Arch != "aarch64" {
			t.Errorf("%s %s is for %q, not aarch64", r.Name, r.Version, r.Arch)
		}
	}
}

// TestPatchAPKThroughPrivateMirror patches the Alpine-like image from the
// harness's apk repository behind a login (hack/authmirror), named by a
// SOURCES .list file and kept in the result, with its credentials as the
// apk-auth secret: the patch goes through the mirror, the result's
// repositories are the mirror alone, and the password is nowhere in the
// result. Without the secret the build fails naming the repository and the
// secret to give.
func TestPatchAPKThroughPrivateMirror(t *testing.T) {
	env := needEnv(t)
	m := needMirror(t)
	mirror, mirrorLog := os.Getenv("COPA_TEST_AUTH_APK_MIRROR"), os.Getenv("COPA_TEST_AUTH_APK_LOG")
	if mirror == "" {
		t.Fatal("COPA_TEST_AUTH_APK_MIRROR is not set: eval \"$(hack/harness.sh env)\"")
	}
	am := privateMirror{log: mirrorLog}
	c := apkCases[0]
	report := readData(t, env, c.report)
	list := mirror + "/repo\n"
	files := map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\nSOURCES --keep mirror.list\n",
		"report.json": report,
		"mirror.list": list,
	}
	auth := []byte("machine " + strings.TrimPrefix(mirror, "http://") + " login " + m.user + " password " + m.pass + "\n")

	since := am.logSize(t)
	res := patchWithSecrets(t, env, files, freshStep(), map[string][]byte{"apk-auth": auth})
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkAPKPatched(t, harnessImage(t, env, c.repo, c.tag), res.image, c, apkReportFixes(t, report), apkUpgrades(t, env), true)
	if am.served(t, since) == 0 {
		t.Error("the mirror served nothing: the patch did not go through it")
	}
	fs := mergedFS(t, res.image)
	if kept, ok := fs.ReadFile("etc/apk/repositories.d/mirror.list"); !ok || string(kept) != list {
		t.Errorf("SOURCES --keep: etc/apk/repositories.d/mirror.list is %q (present: %v), want the given file", kept, ok)
	}
	if own, _ := fs.ReadFile("etc/apk/repositories"); len(own) != 0 {
		t.Errorf("SOURCES --keep (replacing): /etc/apk/repositories still names %q", own)
	}
	checkNoSecret(t, res, m.pass)

	res = patchWithSecrets(t, env, files, freshStep(), map[string][]byte{})
	if res.err == nil {
		t.Fatalf("a repository that wants credentials patched without them\n%s", res.progress)
	}
	for _, want := range []string{mirror + "/repo", "--secret id=apk-auth,src="} {
		if !strings.Contains(res.err.Error(), want) {
			t.Errorf("error %q does not say %q\n%s", res.err, want, res.logs)
		}
	}
}

// TestRepatchAPK patches the Alpine-like image from its report, then the
// patched image without a report: the result is the original's layers
// plus one that holds both patches (every package of packages.txt at its
// new version), and a third patch without a report returns the image as
// it is.
func TestRepatchAPK(t *testing.T) {
	env := needEnv(t)
	c := apkCases[0]
	report := readData(t, env, c.report)
	upgrades := apkUpgrades(t, env)
	base := harnessImage(t, env, c.repo, c.tag)
	ref := func(tag string) string { return env.registry + "/copa-test/alpine-patched:" + tag }

	res1 := patch(t, env, map[string]string{"Patchfile": "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\n", "report.json": report}, nil, ref("repatch-1"))
	if res1.err != nil {
		t.Fatalf("first patch failed: %v\n%s", res1.err, res1.logs)
	}
	res2 := patch(t, env, map[string]string{"Patchfile": "PATCH " + ref("repatch-1") + "\n"}, nil, ref("repatch-2"))
	if res2.err != nil {
		t.Fatalf("re-patch failed: %v\n%s", res2.err, res2.logs)
	}
	checkAPKPatched(t, base, res2.image, c, upgrades, upgrades, false) // the original's layers plus one
	if !slices.ContainsFunc(res2.warnings, func(w string) bool { return strings.Contains(w, "patching its original") }) {
		t.Errorf("no warning about patching the original; warnings: %q", res2.warnings)
	}
	res3 := patch(t, env, map[string]string{"Patchfile": "PATCH " + ref("repatch-2") + "\n"}, nil)
	if res3.err != nil {
		t.Fatalf("third patch failed: %v\n%s", res3.err, res3.logs)
	}
	if !slices.Equal(res3.image.LayerDigests(), res2.image.LayerDigests()) {
		t.Errorf("patching a patched image that needs nothing gave layers %v, want %v", res3.image.LayerDigests(), res2.image.LayerDigests())
	}
}
