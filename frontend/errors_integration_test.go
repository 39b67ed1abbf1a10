package frontend_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/errdefs"
)

// TestUnresolvedPolicy patches to a fixed version no source offers: the
// build fails naming the package, and with UNRESOLVED warn it goes on
// with a warning. The same for every method that resolves versions.
func TestUnresolvedPolicy(t *testing.T) {
	env := needEnv(t)
	trivy := func(family, name, pkg, installed, fixed string) string {
		return `{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image",
 "Metadata": {"OS": {"Family": "` + family + `", "Name": "` + name + `"}},
 "Results": [{"Target": "x (` + family + ` ` + name + `)", "Class": "os-pkgs", "Type": "` + family + `", "Vulnerabilities": [
  {"VulnerabilityID": "CVE-2099-0001", "PkgName": "` + pkg + `", "InstalledVersion": "` + installed + `", "FixedVersion": "` + fixed + `"}]}]}`
	}
	debian := trivy("debian", "12.0", "tzdata", "2024a-0+deb12u1", "9999z-0+deb12u1")
	el := trivy("rocky", "9.4", "copa-tool", "2.0-1", "2.0-999")
	suse := trivy("opensuse-leap", "15.6", "copa-tool", "2.0-1", "2.0-999")
	tests := []struct {
		name, patchLines, report, pkg, fixed string
	}{
		{"apt", "PATCH " + env.registry + "/copa-test/debian:12-stale\n", debian, "tzdata", "9999z-0+deb12u1"},
		{"distroless", "PATCH " + env.registry + "/copa-test/distroless:12-stale\nTOOLING " + env.registry + "/copa-test/debian:bookworm\n", debian, "tzdata", "9999z-0+deb12u1"},
		{"dnf", "PATCH " + env.registry + "/copa-test/el:9-dnf\n", el, "copa-tool", "2.0-999"},
		{"rpm tooling", "PATCH " + env.registry + "/copa-test/el:9-rpmdb\nTOOLING " + env.registry + "/copa-test/el:9-tooling\n", el, "copa-tool", "2.0-999"},
		{"zypper", "PATCH " + env.registry + "/copa-test/suse:15-zypper\n", suse, "copa-tool", "2.0-999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"report.json": tt.report, "Patchfile": tt.patchLines + "REPORT report.json\n"}
			res := patch(t, env, files, nil)
			if res.err == nil {
				t.Fatal("patching to a version that does not exist succeeded")
			}
			if !strings.Contains(res.logs, tt.pkg+": fixed version "+tt.fixed+" is not available") {
				t.Errorf("the failure does not name the package; logs:\n%s", res.logs)
			}
			// The frontend's own words survive the gateway around the
			// daemon's error. (What the daemon says on the apt path is
			// BuildKit's "releasing already released reference", the
			// hardening issue's to fix.)
			if !strings.Contains(res.err.Error(), "PATCH "+env.registry) || !strings.Contains(res.err.Error(), " could not install the fixed packages: ") {
				t.Errorf("error %q does not say in the frontend's words what failed", res.err)
			}

			files["Patchfile"] = tt.patchLines + "REPORT report.json\nUNRESOLVED warn\n"
			res = patch(t, env, files, nil)
			if res.err != nil {
				t.Fatalf("UNRESOLVED warn still failed: %v", res.err)
			}
			if !slices.ContainsFunc(res.warnings, func(w string) bool { return strings.Contains(w, tt.pkg+" stays unpatched") }) {
				t.Errorf("no warning for %s; warnings: %q", tt.pkg, res.warnings)
			}
		})
	}
}

func TestPatchfileErrorsNameTheLine(t *testing.T) {
	env := needEnv(t)
	tests := []struct {
		name      string
		patchfile string
		files     map[string]string
		line      int32
		msg       string
	}{
		{"unknown instruction", "# syntax=copa/frontend\nPATCH x/y:z\nFROM debian\n", nil, 3, `unknown instruction`},
		{"image that does not exist", "ARG T=nope\nPATCH " + env.registry + "/copa-test/debian:${T}\n", nil, 2, "PATCH " + env.registry + "/copa-test/debian:nope: resolving the image"},
		{"missing report", "PATCH " + env.registry + "/copa-test/debian:12-stale\n\nREPORT nope.json\n", nil, 3, "no such file in the build context"},
		// A SOURCES file is checked by the image's format before any step.
		{"SOURCES of another format", "PATCH " + env.registry + "/copa-test/debian:12-stale\nSOURCES corp.repo\n",
			map[string]string{"corp.repo": "[corp]\nbaseurl=http://x\n"}, 2, "SOURCES corp.repo: for deb images: \"corp.repo\" is not a sources file of this image's package format: its name must end in .list or .sources"},
		{"SOURCES with a bad entry", "PATCH " + env.registry + "/copa-test/el:9-dnf\nSOURCES corp.repo\n",
			map[string]string{"corp.repo": "[corp]\nname=no url\n"}, 2, `repository "corp" has no baseurl, mirrorlist or metalink`},
		{"missing SOURCES", "PATCH " + env.registry + "/copa-test/debian:12-stale\nSOURCES nope.list\n", nil, 2, "SOURCES nope.list: no such file in the build context"},
		{"bad package name in report", "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT r.json\n",
			map[string]string{"r.json": `{"SchemaVersion":2,"Metadata":{"OS":{"Family":"debian","Name":"12"}},"Results":[{"Target":"x","Class":"os-pkgs","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"-oAPT::Update::Pre-Invoke::=id","InstalledVersion":"1","FixedVersion":"2"}]}]}`},
			2, "is not a Debian package name"},
		// rpm's grammar refuses options and shell words before any step runs.
		{"option as an rpm package name", "PATCH " + env.registry + "/copa-test/el:9-dnf\nREPORT r.json\n",
			map[string]string{"r.json": `{"SchemaVersion":2,"Metadata":{"OS":{"Family":"rocky","Name":"9.4"}},"Results":[{"Target":"x","Class":"os-pkgs","Type":"rocky","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"--setopt=reposdir=/tmp","InstalledVersion":"1-1","FixedVersion":"2-1"}]}]}`},
			2, "is not an RPM package name"},
		{"shell word as an rpm version", "PATCH " + env.registry + "/copa-test/el:9-rpmdb\nREPORT r.json\n",
			map[string]string{"r.json": `{"SchemaVersion":2,"Metadata":{"OS":{"Family":"rocky","Name":"9.4"}},"Results":[{"Target":"x","Class":"os-pkgs","Type":"rocky","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"copa-tool","InstalledVersion":"2.0-1","FixedVersion":"2.0-2;$(id)"}]}]}`},
			2, "is not an RPM version"},
		{"report for another OS", "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT r.json\n",
			map[string]string{"r.json": mustRead(t, "../../shared/fixtures/reports/trivy/alpine-3.21.0.json")}, 2, "is a scan of alpine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"Patchfile": tt.patchfile}
			for k, v := range tt.files {
				files[k] = v
			}
			res := patch(t, env, files, nil)
			if res.err == nil {
				t.Fatal("build succeeded")
			}
			if strings.Contains(res.logs, "copa: reading") {
				t.Errorf("a patch step ran before the error:\n%s", res.logs)
			}
			if !strings.Contains(res.err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", res.err, tt.msg)
			}
			srcs := errdefs.Sources(res.err)
			if len(srcs) == 0 || len(srcs[0].Ranges) == 0 {
				t.Fatalf("error carries no Patchfile location: %v", res.err)
			}
			if got := srcs[0].Ranges[0].Start.Line; got != tt.line {
				t.Errorf("error is on line %d, want %d", got, tt.line)
			}
			if srcs[0].Info.Filename != "Patchfile" {
				t.Errorf("error names file %q", srcs[0].Info.Filename)
			}
		})
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	dt, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}
