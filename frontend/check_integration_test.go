package frontend_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/pb"
	"github.com/tonistiigi/fsutil"

	"github.com/copa/frontend/frontend"
)

// callCheck runs --call check (the lint subrequest) on the real daemon
// with the frontend in this process, and returns what it answered and the
// images whose files it read (solved).
func callCheck(t *testing.T, env testEnv, files map[string]string) (lint.LintResults, []string) {
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
	var rec *solveRecorder
	_, err = c.Build(ctx, client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: map[string]string{"filename": "Patchfile", "requestid": lint.SubrequestLintDefinition.Name},
	}, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		rec = &solveRecorder{Client: gc}
		res, err := frontend.Build(ctx, rec)
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
	return lr, rec.images
}

// solveRecorder records the images the frontend solves, whose files it
// can then read.
type solveRecorder struct {
	gateway.Client
	mu     sync.Mutex
	images []string
}

func (r *solveRecorder) Solve(ctx context.Context, req gateway.SolveRequest) (*gateway.Result, error) {
	if req.Definition != nil {
		for _, dt := range req.Definition.Def {
			var op pb.Op
			if err := op.UnmarshalVT(dt); err != nil {
				continue
			}
			if src := op.GetSource(); src != nil && strings.HasPrefix(src.Identifier, "docker-image://") {
				r.mu.Lock()
				r.images = append(r.images, strings.TrimPrefix(src.Identifier, "docker-image://")+" "+op.GetPlatform().GetArchitecture())
				r.mu.Unlock()
			}
		}
	}
	return r.Client.Solve(ctx, req)
}

func trivyDoc(family, version, arch string, fixed string) string {
	return trivyDocOf(family, version, arch, "tzdata", fixed)
}

// trivyDocOf is a Trivy report of one finding, of package pkg.
func trivyDocOf(family, version, arch, pkg, fixed string) string {
	return `{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image",
 "Metadata": {"OS": {"Family": "` + family + `", "Name": "` + version + `"}, "ImageConfig": {"architecture": "` + arch + `", "os": "linux"}},
 "Results": [{"Target": "x", "Class": "os-pkgs", "Type": "` + family + `", "Vulnerabilities": [
  {"VulnerabilityID": "CVE-2099-0001", "PkgName": "` + pkg + `", "InstalledVersion": "2024a-0+deb12u1", "FixedVersion": "` + fixed + `"}]}]}`
}

// TestCallCheck runs --call check on Patchfiles that break every rule
// and pins the answers (testdata/check*.golden.json, without the
// sources): the rules' names, descriptions, docs links, details and lines.
// Nothing is installed or run: the answer comes before any patch step
// could.
func TestCallCheck(t *testing.T) {
	env := needEnv(t)
	rpmData := os.Getenv("COPA_TEST_RPM_DATA")
	tests := []struct {
		name   string
		golden string
		files  map[string]string
		rules  []string // that must fire
	}{
		{
			name:   "debian index",
			golden: "check.golden.json",
			files: map[string]string{
				"Patchfile": "ARG UNUSED=1\nARG IMAGE=" + env.registry + "/copa-test/debian:12-stale-multi\nPATCH ${IMAGE}\n" +
					"REPORT nofix.json\nREPORT s390x.json\nREPORT --platform=linux/riscv64 bound.json\nREPORT stretch.json\nUNRESOLVED warn\n" +
					"REPORT alpine.json\nREPORT other.json\nTOOLING " + env.registry + "/copa-test/debian:bookworm\n",
				"nofix.json":   trivyDoc("debian", "12.5", "amd64", ""),
				"s390x.json":   trivyDoc("debian", "12.5", "s390x", "2099a-0+deb12u1"),
				"bound.json":   trivyDoc("debian", "12.5", "", "2099a-0+deb12u1"),
				"stretch.json": trivyDoc("debian", "9.13", "amd64", "2099a-0+deb9u1"),
				// linux/amd64, of another OS family.
				"alpine.json": mustRead(t, "../../shared/fixtures/reports/trivy/alpine-3.21.0.json"),
				// Of no architecture, so of both platforms, naming
				// a package neither has.
				"other.json": trivyDocOf("debian", "12.5", "", "copa-not-installed", "2.0-1"),
			},
			rules: []string{"UnusedArg", "PatchByTag", "UnresolvedWarnWithReport", "ReportWithoutFixes", "ReportForOtherPlatform", "ReleaseEndOfLife",
				"ReportForOtherOS", "ReportNothingInstalled", "UnusedTooling"},
		},
		{
			name:   "rpm image",
			golden: "check-rpm.golden.json",
			files: map[string]string{
				"Patchfile":   "PATCH " + env.registry + "/copa-test/el:9-dnf\nREPORT el.json\nREPORT debian.json\nTOOLING " + env.registry + "/copa-test/el:9-tooling\n",
				"el.json":     mustRead(t, filepath.Join(rpmData, "el-9-dnf.trivy.json")),
				"debian.json": trivyDoc("debian", "12.5", "amd64", "2099a-0+deb12u1"),
			},
			rules: []string{"PatchByTag", "ReportForOtherOS", "UnusedTooling"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			lr, _ := callCheck(t, env, tt.files)
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
			golden := filepath.Join("testdata", tt.golden)
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
			if got := ruleNames(lr); !slices.Equal(got, tt.rules) {
				t.Errorf("rules %v fired, want %v", got, tt.rules)
			}
		})
	}
}

// ruleNames are the rules that fired, each once, in order.
func ruleNames(lr lint.LintResults) []string {
	var rules []string
	for _, w := range lr.Warnings {
		if !slices.Contains(rules, w.RuleName) {
			rules = append(rules, w.RuleName)
		}
	}
	return rules
}

// TestCheckImageRulesQuiet: the image rules do not fire on Patchfiles
// that are right: a tooling image for images without their package
// manager, and each image's own report.
func TestCheckImageRulesQuiet(t *testing.T) {
	env := needEnv(t)
	rpmData := os.Getenv("COPA_TEST_RPM_DATA")
	for name, files := range map[string]map[string]string{
		"distroless": {
			"Patchfile": "PATCH " + env.registry + "/copa-test/distroless:12-stale\nTOOLING " + env.registry + "/copa-test/debian:bookworm\nREPORT r.json\n",
			"r.json":    trivyDocOf("debian", "12.5", "amd64", "tzdata", "2099a-0+deb12u1"),
		},
		"rpm database only": {
			"Patchfile": "PATCH " + env.registry + "/copa-test/el:9-rpmdb\nTOOLING " + env.registry + "/copa-test/el:9-tooling\nREPORT r.json\n",
			"r.json":    mustRead(t, filepath.Join(rpmData, "el-9-rpmdb.trivy.json")),
		},
		"debian index, each platform its report": {
			"Patchfile":  "PATCH " + env.registry + "/copa-test/debian:12-stale-multi\nREPORT --platform=linux/amd64 amd64.json\nREPORT --platform=linux/arm64 arm64.json\n",
			"amd64.json": mustRead(t, filepath.Join(env.data, "debian-12-stale.trivy.json")),
			"arm64.json": mustRead(t, filepath.Join(env.data, "debian-12-stale-arm64.trivy.json")),
		},
	} {
		t.Run(name, func(t *testing.T) {
			lr, images := callCheck(t, env, files)
			if lr.Error != nil {
				t.Fatalf("check failed: %+v", lr.Error)
			}
			if got := ruleNames(lr); !slices.Equal(got, []string{"PatchByTag"}) {
				t.Errorf("rules %v fired, want only PatchByTag: %+v", got, lr.Warnings)
			}
			if len(images) == 0 {
				t.Errorf("no image was read: the image rules judged nothing")
			}
		})
	}
}

// TestCheckReadsOnlyWhatItNeeds: --call check reads an image's files
// only when a rule needs them, once per platform the build would patch,
// and never the tooling image.
func TestCheckReadsOnlyWhatItNeeds(t *testing.T) {
	env := needEnv(t)
	image := env.registry + "/copa-test/debian:12-stale-multi"
	_, images := callCheck(t, env, map[string]string{"Patchfile": "ARG UNUSED\nPATCH " + image + "\n"})
	if len(images) != 0 {
		t.Errorf("a Patchfile whose rules need no files read %v", images)
	}
	_, images = callCheck(t, env, map[string]string{
		"Patchfile": "PATCH " + image + "\nREPORT r.json\nTOOLING " + env.registry + "/copa-test/debian:bookworm\n",
		"r.json":    trivyDoc("debian", "12.5", "", "2099a-0+deb12u1"),
	})
	if len(images) != 2 || slices.ContainsFunc(images, func(s string) bool { return strings.Contains(s, "bookworm") }) {
		t.Errorf("read %v, want each platform of %s once", images, image)
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
