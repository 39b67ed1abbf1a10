package frontend_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/tonistiigi/fsutil"

	"github.com/copa/frontend/frontend"
)

// callCheck runs --call check (the lint subrequest) on the real daemon
// with the frontend in this process, and returns what it answered.
func callCheck(t *testing.T, env testEnv, files map[string]string) lint.LintResults {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fs := contextFS(t, files)
	c, err := client.New(ctx, env.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []byte
	_, err = c.Build(ctx, client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: map[string]string{"filename": "Patchfile", "requestid": lint.SubrequestLintDefinition.Name},
	}, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		res, err := frontend.Build(ctx, gc)
		if res != nil {
			out = res.Metadata["result.json"]
		}
		return res, err
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lr lint.LintResults
	if err := json.Unmarshal(out, &lr); err != nil {
		t.Fatalf("check result %q: %v", out, err)
	}
	return lr
}

func trivyDoc(family, version, arch string, fixed string) string {
	return `{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image",
 "Metadata": {"OS": {"Family": "` + family + `", "Name": "` + version + `"}, "ImageConfig": {"architecture": "` + arch + `", "os": "linux"}},
 "Results": [{"Target": "x", "Class": "os-pkgs", "Type": "` + family + `", "Vulnerabilities": [
  {"VulnerabilityID": "CVE-2099-0001", "PkgName": "tzdata", "InstalledVersion": "2024a-0+deb12u1", "FixedVersion": "` + fixed + `"}]}]}`
}

// TestCallCheck runs --call check on a Patchfile that breaks every rule
// and pins the answer (testdata/check.golden.json, without the sources):
// the rules' names, descriptions, docs links, details and lines. Nothing
// is pulled or run: the answer comes before any patch step could.
func TestCallCheck(t *testing.T) {
	env := needEnv(t)
	files := map[string]string{
		"Patchfile": "ARG UNUSED=1\nARG IMAGE=" + env.registry + "/copa-test/debian:12-stale-multi\nPATCH ${IMAGE}\n" +
			"REPORT nofix.json\nREPORT s390x.json\nREPORT --platform=linux/riscv64 bound.json\nREPORT stretch.json\nUNRESOLVED warn\n",
		"nofix.json":   trivyDoc("debian", "12.5", "amd64", ""),
		"s390x.json":   trivyDoc("debian", "12.5", "s390x", "2099a-0+deb12u1"),
		"bound.json":   trivyDoc("debian", "12.5", "", "2099a-0+deb12u1"),
		"stretch.json": trivyDoc("debian", "9.13", "amd64", "2099a-0+deb9u1"),
	}
	start := time.Now()
	lr := callCheck(t, env, files)
	t.Logf("--call check answered in %v", time.Since(start))
	if lr.Error != nil {
		t.Fatalf("check failed: %+v", lr.Error)
	}
	lr.Sources = nil
	got, err := json.MarshalIndent(lr, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = []byte(strings.ReplaceAll(string(got), env.registry, "REGISTRY") + "\n")
	golden := filepath.Join("testdata", "check.golden.json")
	if os.Getenv("COPA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (COPA_UPDATE_GOLDEN=1 writes it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("check result differs from %s (COPA_UPDATE_GOLDEN=1 rewrites it):\n%s", golden, got)
	}
	var rules []string
	for _, w := range lr.Warnings {
		rules = append(rules, w.RuleName)
	}
	for _, r := range []string{"UnusedArg", "PatchByTag", "UnresolvedWarnWithReport", "ReportWithoutFixes", "ReportForOtherPlatform", "ReleaseEndOfLife"} {
		if !slices.Contains(rules, r) {
			t.Errorf("rule %s did not fire (got %v)", r, rules)
		}
	}
}

// TestCheckErrorDirective: a rule's finding is a build warning, and with
// "# check=error=true" it fails the build before anything is patched.
func TestCheckErrorDirective(t *testing.T) {
	env := needEnv(t)
	pf := "ARG UNUSED\nPATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT r.json\n"
	report := trivyDoc("debian", "12.5", "amd64", "")
	res := patch(t, env, map[string]string{"Patchfile": "# check=error=true\n" + pf, "r.json": report}, nil)
	if res.err == nil || !strings.Contains(res.err.Error(), "UnusedArg: ARG UNUSED is declared but not used") || !strings.Contains(res.err.Error(), "ReportWithoutFixes") {
		t.Fatalf("error %v, want the failed checks named", res.err)
	}
	if strings.Contains(res.logs, "copa: reading") {
		t.Errorf("a patch step ran:\n%s", res.logs)
	}
	// skip= leaves a rule out.
	res = patch(t, env, map[string]string{"Patchfile": "# check=skip=ReportWithoutFixes;error=true\n" + pf, "r.json": report}, nil)
	if res.err == nil || strings.Contains(res.err.Error(), "ReportWithoutFixes") {
		t.Fatalf("error %v, want UnusedArg only", res.err)
	}
}
