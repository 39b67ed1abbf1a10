package frontend_test

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/errdefs"

	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// Images without apt are patched from a tooling image of their release.
// The harness pushes debian:bookworm and debian:bullseye tooling images
// to its registry, since docker.io (the default) is out of reach here.

// trivyFor keeps the findings of report whose package is installed, as a
// scan of the image itself would have listed them.
func trivyFor(t *testing.T, report string, installed map[string]string) string {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatal(err)
	}
	for _, res := range r["Results"].([]any) {
		res := res.(map[string]any)
		vulns, _ := res["Vulnerabilities"].([]any)
		var keep []any
		for _, v := range vulns {
			if _, ok := installed[v.(map[string]any)["PkgName"].(string)]; ok {
				keep = append(keep, v)
			}
		}
		res["Vulnerabilities"] = keep
	}
	dt, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}

// statusD reads the status.d database of an image's filesystem.
func statusD(t *testing.T, fs *imagetest.FS, names []string) map[string]debtest.Package {
	t.Helper()
	pkgs := map[string]debtest.Package{}
	for _, n := range names {
		dt, ok := fs.ReadFile(path.Join("var/lib/dpkg/status.d", n))
		if !ok {
			continue
		}
		p, err := debtest.ParseStatusD(dt)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range p {
			pkgs[k] = v
		}
	}
	return pkgs
}

func mergedFS(t *testing.T, img *imagetest.Image) *imagetest.FS {
	t.Helper()
	fs, err := img.FS()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func hasWarning(warnings []string, substr string) bool {
	return slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, substr) })
}

// TestPatchDistroless patches the distroless-style image (the files and
// status.d entries of a few packages, no shell, no dpkg, no apt), from its
// report and without one, and checks that the layer holds exactly the
// updated packages' changed files and their rewritten status.d entries,
// and nothing that could run a shell.
func TestPatchDistroless(t *testing.T) {
	env := needEnv(t)
	for _, rel := range []struct{ version, codename string }{{"12", "bookworm"}, {"11", "bullseye"}} {
		t.Run(rel.version, func(t *testing.T) {
			tag := rel.version + "-stale"
			base := harnessImage(t, env, "copa-test/distroless", tag)
			baseFS := mergedFS(t, base)
			names := statusDNames(t, baseFS)
			before := debtest.Versions(statusD(t, baseFS, names))
			report := trivyFor(t, readData(t, env, "debian-"+tag+".trivy.json"), before)
			image := "PATCH " + env.registry + "/copa-test/distroless:" + tag + "\nTOOLING " + env.registry + "/copa-test/debian:" + rel.codename + "\n"
			tests := []struct {
				name       string
				files      map[string]string
				want       func(t *testing.T) map[string]string
				everything bool
			}{
				{"report", map[string]string{"Patchfile": image + "REPORT report.json\n", "report.json": report},
					func(t *testing.T) map[string]string { return trivyFixes(t, report) }, false},
				{"everything", map[string]string{"Patchfile": image},
					func(t *testing.T) map[string]string { return distrolessUpgradable(t, env, tag, before) }, true},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					want := tt.want(t)
					res := patch(t, env, tt.files, nil)
					if res.err != nil {
						t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
					}
					patched := checkDistroless(t, base, res.image, names, before, want, tt.everything)
					for _, p := range []string{"usr/bin/sh", "bin/sh", "usr/bin/dpkg", "usr/bin/apt-get", "var/lib/dpkg/status"} {
						if _, ok := patched.ReadFile(p); ok {
							t.Errorf("the patched image has %s; the distroless image has none", p)
						}
					}
					if _, ok := want["tzdata"]; ok && !slices.ContainsFunc(res.warnings, func(w string) bool {
						return strings.Contains(w, "were not run, because nothing of the image runs in this patch") && strings.Contains(w, "tzdata (")
					}) {
						t.Errorf("no warning that tzdata's maintainer scripts did not run: %q", res.warnings)
					}
					if h := res.image.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "tooling image localhost:5000/copa-test/debian:"+rel.codename) {
						t.Errorf("history %q does not name the tooling image", h[len(h)-1].CreatedBy)
					}
				})
			}
		})
	}
}

// checkDistroless asserts one layer, the config kept, the wanted versions
// in status.d, and that the layer holds, for every updated package, its
// status.d entry and md5sums and the files whose content changed, each
// with the md5 the package records, and no other file. Only the packages
// of want are updated, unless everything: a patch of every package gets
// what the archive offers when the test runs, which may be more than the
// harness listed on its day.
func checkDistroless(t *testing.T, base, got *imagetest.Image, names []string, before, want map[string]string, everything bool, alsoChanged ...string) *imagetest.FS {
	t.Helper()
	layer := checkLayerAndConfig(t, base, got)
	patched := mergedFS(t, got)
	after := debtest.Versions(statusD(t, patched, names))
	checkVersions(t, after, want)
	allowed := map[string]bool{}
	updated := 0
	for name, v := range after {
		entry := "var/lib/dpkg/status.d/" + name
		if before[name] == v {
			if layer.Files[entry] != nil {
				t.Errorf("status.d/%s is in the layer though %s was not updated", name, name)
			}
			continue
		}
		updated++
		if layer.Files[entry] == nil {
			t.Errorf("%s was updated to %s but its status.d entry is not in the layer", name, v)
		}
		allowed[entry] = true
		sums, ok := patched.ReadFile(entry + ".md5sums")
		if !ok {
			t.Errorf("%s lost its status.d md5sums", name)
			continue
		}
		allowed[entry+".md5sums"] = true
		for _, resolved := range checkMD5Sums(t, patched, name, sums) {
			allowed[resolved] = true
		}
	}
	var extra []string
	for _, name := range changed(before, after) {
		if _, ok := want[name]; !ok {
			extra = append(extra, name)
		}
	}
	switch {
	case len(extra) > 0 && !everything:
		t.Errorf("%d packages updated, want %d (%v): %s should not have been", updated, len(want), want, strings.Join(extra, ", "))
	case len(extra) > 0:
		t.Logf("also updated, though the harness did not list them as upgradable: %s", strings.Join(extra, ", "))
	}
	unchanged := 0
	for p := range allowed {
		if !strings.HasPrefix(p, "var/lib/dpkg/") && layer.Files[p] == nil {
			unchanged++
		}
	}
	for n, content := range layer.Files {
		if content != nil && !allowed[n] && !slices.Contains(alsoChanged, n) {
			t.Errorf("the layer carries %s, which is no file of an updated package", n)
		}
	}
	if unchanged == 0 {
		t.Error("every file of the updated packages is in the layer: unchanged files were not left out")
	}
	t.Logf("updated %d package(s); %d unchanged files left out of the layer", updated, unchanged)
	return patched
}

// distrolessUpgradable is upgradableOf for a distroless image: the harness's
// upgrades of its packages, which a test of them needs.
func distrolessUpgradable(t *testing.T, env testEnv, tag string, installed map[string]string) map[string]string {
	t.Helper()
	want := upgradableOf(t, env, "debian-"+tag+".upgradable", installed)
	if len(want) == 0 {
		noHarnessData(t, env, "no upgrade for a package of copa-test/distroless:"+tag+" in debian-"+tag+".upgradable")
	}
	return want
}

// upgradableOf reads the harness's list of pending upgrades ("NAME OLD NEW"
// lines) and keeps the packages installed maps.
func upgradableOf(t *testing.T, env testEnv, list string, installed map[string]string) map[string]string {
	t.Helper()
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readData(t, env, list)), "\n") {
		if f := strings.Fields(line); len(f) == 3 && installed[f[0]] != "" {
			want[f[0]] = f[2]
		}
	}
	return want
}

func statusDNames(t *testing.T, fs *imagetest.FS) []string {
	t.Helper()
	var names []string
	for _, n := range fs.List("var/lib/dpkg/status.d") {
		if !strings.HasSuffix(n, ".md5sums") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatal("the harness distroless image has no status.d entries")
	}
	return names
}

// TestPatchWithoutApt patches the Debian 11 image whose apt was removed:
// dpkg's status file and info files are updated in place, every updated
// file matches its package's md5sums, and apt does not come back.
func TestPatchWithoutApt(t *testing.T) {
	env := needEnv(t)
	base := baseImage(t, env, "11-stale-noapt")
	report := trivyFor(t, readData(t, env, "debian-11-stale.trivy.json"), baseInstalled(t, base))
	ref := env.registry + "/copa-test/debian:11-stale-noapt-patched"
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:11-stale-noapt\nTOOLING " + env.registry + "/copa-test/debian:bullseye\nREPORT report.json\n",
		"report.json": report,
	}, nil, ref)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	after := checkPatched(t, base, res.image, trivyFixes(t, report))
	if _, ok := after["apt"]; ok {
		t.Error("apt is installed in the patched image")
	}
	patched := mergedFS(t, res.image)
	if _, ok := patched.ReadFile("usr/bin/apt-get"); ok {
		t.Error("the patched image has usr/bin/apt-get")
	}
	if len(patched.List("var/lib/dpkg/status.d")) > 0 {
		t.Error("the patch created a status.d database")
	}
	// The updated packages that have maintainer scripts (dpkg keeps them
	// in its info directory) are named in one warning: nothing ran them.
	updated := changed(baseInstalled(t, base), after)
	var scripted []string
	for _, name := range updated {
		for _, s := range []string{"preinst", "postinst", "prerm", "postrm", "config"} {
			_, plain := patched.ReadFile("var/lib/dpkg/info/" + name + "." + s)
			_, qualified := patched.ReadFile("var/lib/dpkg/info/" + name + ":" + res.image.Config.Architecture + "." + s)
			if plain || qualified {
				scripted = append(scripted, name)
				break
			}
		}
	}
	var notRun []string
	for _, w := range res.warnings {
		if strings.Contains(w, "were not run, because nothing of the image runs in this patch") {
			notRun = append(notRun, w)
		}
	}
	switch {
	case len(scripted) == 0 && len(notRun) > 0:
		t.Errorf("no updated package has maintainer scripts, but the build warned %q", notRun)
	case len(scripted) > 0 && len(notRun) != 1:
		t.Errorf("want one warning about the maintainer scripts of %s, got %q", strings.Join(scripted, ", "), notRun)
	case len(scripted) > 0:
		if want := fmt.Sprintf(" of %d updated package(s) were not run", len(scripted)); !strings.Contains(notRun[0], want) {
			t.Errorf("warning %q does not say %q", notRun[0], want)
		}
		for _, name := range scripted {
			if !strings.Contains(notRun[0], name+" (") {
				t.Errorf("warning %q does not name %s", notRun[0], name)
			}
		}
		t.Logf("%d updated package(s) with maintainer scripts, all named in the warning: %s", len(scripted), strings.Join(scripted, " "))
	}

	// The image's own dpkg agrees, on the daemon that patched it: every
	// updated package verifies, and its database has no half-installed
	// package; perl (perl-base is essential, so in every Debian image)
	// still runs.
	out := runInImage(t, env, ref, `dpkg --verify "$@" >/out/verify 2>&1; echo $? >/out/verify-rc
dpkg --audit >/out/audit 2>&1
perl -e 'print "perl ", 6 * 7, "\n"' >/out/perl 2>&1
true`, updated...)
	if out["verify"] != "" || strings.TrimSpace(out["verify-rc"]) != "0" {
		t.Errorf("dpkg --verify %s: exit %s\n%s", strings.Join(updated, " "), out["verify-rc"], out["verify"])
	}
	if out["audit"] != "" {
		t.Errorf("dpkg --audit: %s", out["audit"])
	}
	if !strings.Contains(out["perl"], "perl 42") {
		t.Errorf("perl printed %q", out["perl"])
	}
	t.Logf("dpkg verified %d updated packages: %s", len(updated), strings.Join(updated, " "))
}

// TestToolingChoice covers how the tooling image is chosen: a named build
// context replaces the default as it replaces a Dockerfile FROM, and a
// tooling image of another release is refused at its Patchfile line.
func TestToolingChoice(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	image := env.registry + "/copa-test/distroless:12-stale"
	baseFS := mergedFS(t, harnessImage(t, env, "copa-test/distroless", "12-stale"))
	installed := debtest.Versions(statusD(t, baseFS, statusDNames(t, baseFS)))

	t.Run("build context replaces the default", func(t *testing.T) {
		// The report is the full Debian image's: one warning names, in
		// report order, the reported packages the distroless image does
		// not have.
		var missing []string
		for _, name := range reportFixOrder(t, report) {
			if _, ok := installed[name]; !ok {
				missing = append(missing, name)
			}
		}
		res := patch(t, env, map[string]string{
			"Patchfile":   "PATCH " + image + "\nREPORT report.json\n",
			"report.json": report,
		}, map[string]string{"context:debian:bookworm": "docker-image://" + env.registry + "/copa-test/debian:bookworm"})
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		var got []string
		for _, w := range res.warnings {
			if strings.Contains(w, "in the report are not installed in the image") {
				got = append(got, w)
			}
		}
		switch want := skippedWarning(missing); {
		case want == "" && len(got) > 0:
			t.Errorf("every reported package is installed, but the build warned %q", got)
		case want != "" && (len(got) != 1 || !strings.HasSuffix(got[0], want)):
			t.Errorf("want one warning %q, got %q", want, got)
		default:
			t.Logf("skipped-packages warning as expected: %q", got)
		}
		if fixes := upgradesOf(reportFixes(t, report), installed); len(fixes) == 0 {
			noHarnessData(t, env, "no upgrade for a package of copa-test/distroless:12-stale in debian-12-stale.trivy.json, so the patch used no tooling image")
		}
		if h := res.image.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "tooling image debian:bookworm (from build context)") {
			t.Errorf("history %q does not say the tooling image came from the build context", h[len(h)-1].CreatedBy)
		}
	})

	t.Run("other release is refused", func(t *testing.T) {
		// The release check comes before anything is resolved, so a made-up
		// fix for a package the image has does, on any day.
		tz, ok := installed["tzdata"]
		if !ok {
			t.Fatalf("copa-test/distroless:12-stale has no tzdata (hack/harness.sh DISTROLESS_PKGS_12 installs it): %v", installed)
		}
		made := `{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image",
 "Metadata": {"OS": {"Family": "debian", "Name": "12.0"}},
 "Results": [{"Target": "x (debian 12.0)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
  {"VulnerabilityID": "CVE-2099-0001", "PkgName": "tzdata", "InstalledVersion": "` + tz + `", "FixedVersion": "9999z-0+deb12u1"}]}]}`
		res := patch(t, env, map[string]string{
			"Patchfile":   "PATCH " + image + "\nREPORT report.json\nTOOLING " + env.registry + "/copa-test/debian:bullseye\n",
			"report.json": made,
		}, nil)
		if res.err == nil {
			t.Fatal("patching a bookworm image with bullseye tooling succeeded")
		}
		want := "the tooling image is debian bullseye but the image is debian bookworm: use a tooling image of the same release"
		if !strings.Contains(res.err.Error(), want) {
			t.Errorf("error %q does not say %q", res.err, want)
		}
		if srcs := errdefs.Sources(res.err); len(srcs) == 0 || len(srcs[0].Ranges) == 0 || srcs[0].Ranges[0].Start.Line != 3 {
			t.Errorf("error does not point at the TOOLING line 3: %+v", srcs)
		}
	})
}

// upgradesOf keeps the fixes above the installed version.
func upgradesOf(fixes, installed map[string]string) map[string]string {
	out := map[string]string{}
	for name, fixed := range fixes {
		if v, ok := installed[name]; ok && (debtest.Versioning{}).Compare(fixed, v) > 0 {
			out[name] = fixed
		}
	}
	return out
}
