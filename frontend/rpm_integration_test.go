package frontend_test

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros/rpm"
	"github.com/copa/frontend/distros/rpm/rpmdb"
	"github.com/copa/frontend/internal/imagetest"
)

// rpmPackage is one line of the harness's rpm/packages.txt: a test
// package it built in two versions, installed at Old in the images, and
// offered at New by its repository.
type rpmPackage struct{ Name, Old, New, Arch string }

func rpmPackages(t *testing.T, env testEnv) []rpmPackage {
	t.Helper()
	var out []rpmPackage
	for _, line := range strings.Split(readData(t, env, "rpm/packages.txt"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 4 {
			t.Fatalf("rpm/packages.txt: malformed line %q", line)
		}
		out = append(out, rpmPackage{f[0], f[1], f[2], f[3]})
	}
	if len(out) == 0 {
		t.Fatal("rpm/packages.txt names no package")
	}
	return out
}

// rpmCase is one rpm test image and how it must be patched.
type rpmCase struct {
	repo, tag string
	report    string // in $COPA_TEST_DATA/rpm
	method    string // the manager the history names
	tooling   string // TOOLING, for images without a package manager
	noShell   bool   // the image has no shell, so its scripts cannot run
	// platform is the image's ("" for the harness's usual linux/amd64),
	// and arch the rpm architecture of its arch-specific packages, which
	// the upgrades must have too ("": only the same as before).
	platform, arch string
}

// image reads the case's harness image for its platform.
func (c rpmCase) image(t *testing.T, env testEnv) *imagetest.Image {
	t.Helper()
	if c.platform == "" {
		return harnessImage(t, env, c.repo, c.tag)
	}
	return platformImage(t, env, c.repo, c.tag, c.platform)
}

var rpmCases = []rpmCase{
	{repo: "copa-test/el", tag: "9-dnf", report: "el-9-dnf.trivy.json", method: "dnf"},
	{repo: "copa-test/el", tag: "9-rpmdb", report: "el-9-rpmdb.trivy.json", method: "rpm", tooling: "copa-test/el:9-tooling", noShell: true},
	{repo: "copa-test/suse", tag: "15-zypper", report: "suse-15-zypper.trivy.json", method: "zypper"},
}

// TestPatchRPM patches each rpm test image from its report and without one
// and checks the result: the base layers plus one, the config kept, every
// package at or above its fixed version in the result's rpm database, no
// package-manager state in the layer, only changed files in it, rpm -V
// clean, and an image without a package manager still without one.
func TestPatchRPM(t *testing.T) {
	env := needEnv(t)
	pkgs := rpmPackages(t, env)
	for _, c := range rpmCases {
		for _, withReport := range []bool{true, false} {
			name := c.tag + "/report"
			if !withReport {
				name = c.tag + "/all"
			}
			t.Run(name, func(t *testing.T) {
				pf := "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\n"
				files := map[string]string{}
				if withReport {
					pf += "REPORT report.json\n"
					files["report.json"] = readData(t, env, filepath.Join("rpm", c.report))
				}
				if c.tooling != "" {
					pf += "TOOLING " + env.registry + "/" + c.tooling + "\n"
				}
				files["Patchfile"] = pf
				ref := env.registry + "/" + c.repo + ":" + c.tag + "-patched-" + strings.TrimPrefix(name, c.tag+"/")
				res := patch(t, env, files, nil, ref)
				if res.err != nil {
					t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
				}
				base := c.image(t, env)
				want := map[string]string{}
				if withReport {
					want = rpmReportFixes(t, files["report.json"])
				} else {
					for _, p := range pkgs {
						want[p.Name] = p.New
					}
				}
				kept := checkRPMPatched(t, base, res.image, c, want)
				checkRPMVerify(t, env, c, ref, keys(want), kept)
				scripts := strings.Contains(strings.Join(res.warnings, "\n"), "install scripts")
				if scripts != c.noShell {
					t.Errorf("warning about install scripts not run: %v, want %v (warnings: %q)", scripts, c.noShell, res.warnings)
				}
			})
		}
	}
}

// TestPatchRPMKeepingNothing patches the dnf image with
// BUILDKIT_COPA_KEEP_UNCHANGED=false: every file of an upgraded package is
// then the new package's, mtime included, so rpm -V finds nothing at all,
// and the unchanged files are in the layer.
func TestPatchRPMKeepingNothing(t *testing.T) {
	env := needEnv(t)
	c := rpmCases[0]
	ref := env.registry + "/" + c.repo + ":" + c.tag + "-patched-keepnothing"
	report := readData(t, env, filepath.Join("rpm", c.report))
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\n",
		"report.json": report,
	}, map[string]string{"BUILDKIT_COPA_KEEP_UNCHANGED": "false"}, ref)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	want := rpmReportFixes(t, report)
	out := runInImage(t, env, ref, `rpm -V "$@" >/out/verify 2>&1; echo $? >/out/rc`, keys(want)...)
	if strings.TrimSpace(out["rc"]) != "0" || out["verify"] != "" {
		t.Errorf("rpm -V: exit %s\n%s", strings.TrimSpace(out["rc"]), out["verify"])
	}
	base := harnessImage(t, env, c.repo, c.tag)
	layer, err := res.image.Layer(len(res.image.LayerDigests()) - 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.image.LayerDigests()) != len(base.LayerDigests())+1 {
		t.Fatalf("%d layers, want the base's %d plus one", len(res.image.LayerDigests()), len(base.LayerDigests()))
	}
	if _, ok := layer.Files["usr/share/copa-libcore/blobs/blob-00.bin"]; !ok {
		t.Error("an unchanged file of an upgraded package is not in the layer, though nothing was to be kept")
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// rpmReportFixes is the highest FixedVersion of each PkgName of a Trivy
// report, in rpm's order.
func rpmReportFixes(t *testing.T, report string) map[string]string {
	t.Helper()
	return someFixes(t, report, rpm.Versioning{})
}

// checkRPMPatched checks the patched image against its base. It returns
// the files of upgraded packages that kept the original's copy.
func checkRPMPatched(t *testing.T, base, got *imagetest.Image, c rpmCase, want map[string]string) map[string]bool {
	t.Helper()
	layer := checkLayerAndConfig(t, base, got)
	for _, h := range layer.Headers {
		for _, leftover := range []string{"var/cache/dnf/", "var/cache/yum/", "var/cache/zypp/", "var/lib/dnf/", "var/lib/zypp/", "run/", "var/tmp/", "usr/lib/sysimage/rpm/__db.", "var/lib/rpm/__db."} {
			if strings.HasPrefix(h.Name, leftover) && h.Name != leftover {
				t.Errorf("package-manager leftover in the patch layer: %s", h.Name)
			}
		}
	}
	history := got.Config.History[len(got.Config.History)-1].CreatedBy
	if !strings.Contains(history, c.method) {
		t.Errorf("history %q does not name %s", history, c.method)
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
	before, err := rpmdb.Read(ctx, bfs.Root())
	if err != nil {
		t.Fatal(err)
	}
	after, err := rpmdb.Read(ctx, gfs.Root())
	if err != nil {
		t.Fatalf("reading the patched image's rpm database: %v", err)
	}
	v := rpm.Versioning{}
	installed := map[string]*rpmdb.Header{}
	for i := range after.Headers {
		installed[after.Headers[i].Name] = &after.Headers[i]
	}
	baseArch := map[string]string{}
	for _, h := range before.Headers {
		baseArch[h.Name] = h.Arch
	}
	for name, fixed := range want {
		h := installed[name]
		if h == nil || v.Compare(h.EVR(), fixed) < 0 {
			got := "nothing"
			if h != nil {
				got = h.EVR()
			}
			t.Errorf("%s: %s installed, want %s or later", name, got, fixed)
			continue
		}
		// An upgrade keeps the architecture: a noarch package stays
		// noarch, the others are the image's.
		if h.Arch != baseArch[name] || (c.arch != "" && h.Arch != c.arch && h.Arch != "noarch") {
			t.Errorf("%s: %s installed for %s, the image had it for %s (want %s or noarch)", name, h.EVR(), h.Arch, baseArch[name], cmp.Or(c.arch, baseArch[name]))
		}
	}

	// Only changed content: a file whose digest both headers share is
	// the base's copy, so the layer leaves it out; one only the old
	// package had is gone.
	inLayer := map[string]bool{}
	for _, h := range layer.Headers {
		inLayer[h.Name] = true
	}
	kept := map[string]bool{}
	dropped := 0
	for _, o := range before.Headers {
		n := installed[o.Name]
		if n == nil || n.EVR() == o.EVR() {
			continue
		}
		newFiles := map[string]rpmdb.File{}
		for _, f := range n.Files {
			newFiles[f.Path] = f
		}
		for _, f := range o.Files {
			p := strings.TrimPrefix(f.Path, "/")
			nf, still := newFiles[f.Path]
			switch {
			case !still:
				if _, ok := gfs.ReadFile(f.Path); ok {
					t.Errorf("%s: /%s, dropped by the new version, is still in the image", o.Name, p)
				}
				dropped++
			case f.Digest != "" && nf.Digest == f.Digest && nf.Mode == f.Mode && f.Mode&0o170000 == 0o100000:
				if inLayer[p] {
					t.Errorf("%s: /%s did not change, but is in the patch layer", o.Name, p)
				}
				kept[f.Path] = true
			}
		}
	}
	if len(kept) == 0 {
		t.Error("no upgraded package kept a file unchanged: the test packages are meant to")
	}
	t.Logf("%d unchanged files stayed out of the layer; %d dropped files are gone", len(kept), dropped)

	// Azure Linux's manifests, where the image carries them beside its
	// database, list what the database does after the patch.
	if _, ok := bfs.ReadFile("/var/lib/rpmmanifest/container-manifest-2"); ok {
		dt, ok := gfs.ReadFile("/var/lib/rpmmanifest/container-manifest-2")
		if !ok {
			t.Fatal("the patched image lost its container-manifest-2")
		}
		listed, err := rpmdb.ParseManifest(dt)
		if err != nil {
			t.Fatal(err)
		}
		nevra := func(hs []rpmdb.Header) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.Name+" "+h.EVR()+" "+h.Arch)
			}
			slices.Sort(out)
			return out
		}
		if got, want := nevra(listed), nevra(after.Headers); !slices.Equal(got, want) {
			t.Errorf("container-manifest-2 lists %v, the rpm database %v", got, want)
		}
		t.Logf("container-manifest-2 lists the %d packages of the patched database", len(listed))
		one, _ := gfs.ReadFile("/var/lib/rpmmanifest/container-manifest-1")
		for _, u := range keys(want) {
			if h := installed[u]; h != nil && !strings.Contains(string(one), rpmdb.ManifestNEVRA(*h)+"\n") {
				t.Errorf("container-manifest-1 does not list %s", rpmdb.ManifestNEVRA(*h))
			}
		}
	}
	if c.noShell {
		for _, p := range []string{"/bin/sh", "/usr/bin/dnf", "/usr/bin/rpm", "/usr/bin/microdnf", "/usr/bin/tdnf"} {
			if _, ok := gfs.ReadFile(p); ok {
				t.Errorf("the patched image has %s; the original has no shell and no package manager", p)
			}
		}
		if _, ok := gfs.ReadFile("/var/lib/copa-test/tool-post-ran"); ok {
			t.Error("copa-tool's post-install script ran in an image without a shell")
		}
	} else if _, ok := gfs.ReadFile("/var/lib/copa-test/tool-post-ran"); !ok {
		t.Error("copa-tool's post-install script did not run, though the image has a shell and its own package manager")
	}
	return kept
}

// checkRPMVerify runs rpm -V on the patched packages: in the image when
// it has rpm, else in its tooling image with the image as the root. The
// only difference it may find is the mtime (T) of a file the patch kept
// as the original had it (kept): its content, mode and owner are the new
// package's, its mtime the old one's, which keeps it out of the layer.
func checkRPMVerify(t *testing.T, env testEnv, c rpmCase, ref string, names []string, kept map[string]bool) {
	t.Helper()
	var out map[string]string
	script := `rpm $ROOT -V "$@" >/out/verify 2>&1; echo $? >/out/rc; rpm $ROOT -V --nomtime "$@" >/out/nomtime 2>&1; echo $? >/out/nomtime-rc`
	if c.tooling == "" {
		out = runInImage(t, env, ref, strings.ReplaceAll(script, "$ROOT", ""), names...)
	} else {
		// The image mounted at /target, writable (rpm opens its database
		// read-write), the changes discarded.
		target := llb.Image(ref)
		if c.platform != "" {
			target = llb.Image(ref, llb.Platform(platforms.MustParse(c.platform)))
		}
		out = runInImageWith(t, env, env.registry+"/"+c.tooling, strings.ReplaceAll(script, "$ROOT", "--root /target"), names, llb.AddMount("/target", target))
	}
	if strings.TrimSpace(out["nomtime-rc"]) != "0" || out["nomtime"] != "" {
		t.Errorf("rpm -V --nomtime %s: exit %s\n%s", strings.Join(names, " "), strings.TrimSpace(out["nomtime-rc"]), out["nomtime"])
	}
	mtimes := 0
	for _, line := range strings.Split(strings.TrimSpace(out["verify"]), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) == 2 && f[0] == ".......T." && kept[f[1]] {
			mtimes++
			continue
		}
		t.Errorf("rpm -V: %s", line)
	}
	t.Logf("rpm -V: clean but for the mtime of %d kept file(s)", mtimes)
}

// TestRepatchRPM patches the dnf image for one package, then the patched
// image from the full report: the result is the original's layers plus
// one that holds both patches, and a third patch with the same report
// returns the image as it is.
func TestRepatchRPM(t *testing.T) {
	env := needEnv(t)
	c := rpmCases[0]
	report := readData(t, env, filepath.Join("rpm", c.report))
	fixes := rpmReportFixes(t, report)
	base := harnessImage(t, env, c.repo, c.tag)
	ref := func(tag string) string { return env.registry + "/copa-test/el-patched:" + tag }
	patchfile := func(image string) string { return "PATCH " + image + "\nREPORT report.json\n" }

	res1 := patch(t, env, map[string]string{"Patchfile": patchfile(env.registry + "/" + c.repo + ":" + c.tag), "report.json": reportOf(t, report, []string{"copa-data"})}, nil, ref("repatch-1"))
	if res1.err != nil {
		t.Fatalf("first patch failed: %v\n%s", res1.err, res1.logs)
	}
	res2 := patch(t, env, map[string]string{"Patchfile": patchfile(ref("repatch-1")), "report.json": report}, nil, ref("repatch-2"))
	if res2.err != nil {
		t.Fatalf("re-patch failed: %v\n%s", res2.err, res2.logs)
	}
	checkRPMPatched(t, base, res2.image, c, fixes) // the original's layers plus one
	if !slices.ContainsFunc(res2.warnings, func(w string) bool { return strings.Contains(w, "patching its original") }) {
		t.Errorf("no warning about patching the original; warnings: %q", res2.warnings)
	}
	res3 := patch(t, env, map[string]string{"Patchfile": patchfile(ref("repatch-2")), "report.json": report}, nil)
	if res3.err != nil {
		t.Fatalf("third patch failed: %v\n%s", res3.err, res3.logs)
	}
	if !slices.Equal(res3.image.LayerDigests(), res2.image.LayerDigests()) {
		t.Errorf("patching a patched image that needs nothing gave layers %v, want %v", res3.image.LayerDigests(), res2.image.LayerDigests())
	}
}
