package frontend_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rpmNativeCase is the harness's linux/arm64 rpm image: el:9-rpmdb's recipe
// (no shell, rpm or package manager) of the aarch64 builds of the test
// packages, which the repository offers next to the x86_64 ones.
var rpmNativeCase = rpmCase{
	repo: "copa-test/el", tag: "9-rpmdb-arm64", report: "el-9-rpmdb-arm64.trivy.json",
	method: "rpm", tooling: "copa-test/el:9-tooling", noShell: true,
	platform: "linux/arm64", arch: "aarch64",
}

// TestNativeRPMWithoutEmulation patches the arm64 rpm image on the builder
// that cannot run arm64 (the harness's noemu daemon): the frontend patches
// it natively, with the x86_64 tooling image's dnf --installroot
// --forcearch=aarch64, install scripts skipped. The result must be a
// linux/arm64 image of the base layers plus one, with every reported
// package at its fixed version or later, for aarch64 (noarch ones staying
// noarch), only changed files in the layer, rpm -V clean but for the kept
// files' mtimes, still without a shell, and the build must say that it
// patched natively and that the install scripts did not run.
func TestNativeRPMWithoutEmulation(t *testing.T) {
	env := needEnv(t)
	env.host = os.Getenv("COPA_TEST_NOEMU_BUILDKIT_HOST")
	if env.host == "" {
		t.Fatal("COPA_TEST_NOEMU_BUILDKIT_HOST is not set: run `make test` (hack/harness.sh noemu-up starts that daemon)")
	}
	c := rpmNativeCase
	report := readData(t, env, filepath.Join("rpm", c.report))
	if !strings.Contains(report, `"architecture": "arm64"`) || !strings.Contains(report, "arch=aarch64") {
		t.Fatalf("rpm/%s is not a report of an arm64 image with aarch64 packages", c.report)
	}
	want := rpmReportFixes(t, report)
	base := c.image(t, env)
	if base.Config.OS+"/"+base.Config.Architecture != c.platform {
		t.Fatalf("the harness image %s:%s is %s/%s, not %s", c.repo, c.tag, base.Config.OS, base.Config.Architecture, c.platform)
	}

	ref := env.registry + "/" + c.repo + ":" + c.tag + "-patched-native"
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\nTOOLING " + env.registry + "/" + c.tooling + "\n",
		"report.json": report,
	}, map[string]string{"platform": c.platform}, ref)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	if p := res.image.Config.OS + "/" + res.image.Config.Architecture; p != c.platform {
		t.Errorf("the patched image is %s, want %s", p, c.platform)
	}
	kept := checkRPMPatched(t, base, res.image, c, want)
	if h := res.image.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "(native on ") {
		t.Errorf("not patched natively: history %q", h[len(h)-1].CreatedBy)
	}
	for _, w := range []string{"the builder cannot run " + c.platform, "install scripts", "copa-tool (postin)"} {
		if !slices.ContainsFunc(res.warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning saying %q; warnings: %q", w, res.warnings)
		}
	}
	checkRPMVerify(t, env, c, ref, keys(want), kept)
}
