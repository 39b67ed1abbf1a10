package frontend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	govex "github.com/openvex/go-vex/pkg/vex"
	"github.com/tonistiigi/fsutil"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/frontend/summary"
	"github.com/copa/frontend/internal/imagetest"
)

// reportIDs lists the vulnerability IDs with a fix in a Trivy report.
func reportIDs(t *testing.T, report string) []string {
	t.Helper()
	var r struct {
		Results []struct {
			Vulnerabilities []struct{ VulnerabilityID, FixedVersion string }
		}
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if v.FixedVersion != "" && !slices.Contains(ids, v.VulnerabilityID) {
				ids = append(ids, v.VulnerabilityID)
			}
		}
	}
	if len(ids) == 0 {
		t.Fatal("the report names no vulnerability with a fixed version: if it is the harness's, the Debian archive offered no upgrade " +
			"for the image when hack/harness.sh made it, and this test needs one (see hack/README.md)")
	}
	slices.Sort(ids)
	return ids
}

// TestVEXAttestation pushes a patched image and reads its OpenVEX
// attestation back from the registry's index.
func TestVEXAttestation(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	ref := env.registry + "/copa-test/debian:12-stale-vex"
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\n",
		"report.json": report,
	}, map[string]string{frontend.ArgVEXAuthor: "Platform Team <platform@example.com>", "SOURCE_DATE_EPOCH": "1764028800"}, ref)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	if !strings.Contains(res.logs, "VULNERABILITY") || !strings.Contains(res.logs, "patched") {
		t.Errorf("the build progress shows no summary table:\n%s", res.logs)
	}
	imgDigest, statements, err := imagetest.Attestations(env.registry, "copa-test/debian", "12-stale-vex", "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	var doc *govex.VEX
	for _, st := range statements {
		if st.PredicateType != frontend.PredicateTypeOpenVEX {
			continue
		}
		if len(st.Subject) == 0 || "sha256:"+st.Subject[0].Digest["sha256"] != imgDigest.String() {
			t.Errorf("VEX attestation subject %+v is not the image %s", st.Subject, imgDigest)
		}
		doc = &govex.VEX{}
		if err := json.Unmarshal(st.Predicate, doc); err != nil {
			t.Fatalf("VEX predicate: %v", err)
		}
	}
	if doc == nil {
		t.Fatalf("no %s attestation among %d statements", frontend.PredicateTypeOpenVEX, len(statements))
	}
	checkVEX(t, doc, reportIDs(t, report))
	if doc.Author != "Platform Team <platform@example.com>" || !doc.Timestamp.Equal(time.Unix(1764028800, 0)) {
		t.Errorf("author %q timestamp %v: build args not applied", doc.Author, doc.Timestamp)
	}
}

// checkVEX asserts that every id is stated fixed, once, with package URLs
// of the patched packages.
func checkVEX(t *testing.T, doc *govex.VEX, ids []string) {
	t.Helper()
	stated := map[string]govex.Status{}
	for _, st := range doc.Statements {
		id := string(st.Vulnerability.Name)
		if _, dup := stated[id]; dup {
			t.Errorf("%s is stated twice", id)
		}
		stated[id] = st.Status
		for _, p := range st.Products {
			for _, sc := range p.Subcomponents {
				if !strings.HasPrefix(sc.ID, "pkg:deb/debian/") || !strings.Contains(sc.ID, "distro=debian-12") {
					t.Errorf("%s: subcomponent %q is not a Debian package URL", id, sc.ID)
				}
			}
		}
	}
	for _, id := range ids {
		if stated[id] != govex.StatusFixed {
			t.Errorf("%s is stated %q, want fixed", id, stated[id])
		}
	}
}

// TestSummaryAndVEXTargets exports the summary and vex targets to local
// directories and reads them back with their own parsers.
func TestSummaryAndVEXTargets(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	ids := reportIDs(t, report)
	files := map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\n",
		"report.json": report,
	}

	dir := exportTarget(t, env, files, frontend.TargetSummary)
	dt, err := os.ReadFile(filepath.Join(dir, frontend.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s summary.Summary
	if err := json.Unmarshal(dt, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	c := s.Tally()
	if c.Vulnerabilities != len(ids) || c.Patched != len(ids) || c.Failed != 0 {
		t.Errorf("summary counts %+v, want all %d vulnerabilities patched", c, len(ids))
	}
	for _, e := range s.Entries {
		if e.Status == summary.Patched && (e.Installed == "" || e.After == "" || e.Installed == e.After) {
			t.Errorf("patched entry without from → to: %+v", e)
		}
	}

	dir = exportTarget(t, env, files, frontend.TargetVEX)
	doc, err := govex.Open(filepath.Join(dir, frontend.VEXFile))
	if err != nil {
		t.Fatalf("vex.json does not parse as OpenVEX: %v", err)
	}
	checkVEX(t, doc, ids)
}

// exportTarget builds target in process and exports it to a directory.
func exportTarget(t *testing.T, env testEnv, files map[string]string, target string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ctxDir, out := t.TempDir(), t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ctxDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := fsutil.NewFS(ctxDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ctx, env.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Build(ctx, client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: map[string]string{"filename": "Patchfile", "target": target, "source": os.Getenv("COPA_FRONTEND_IMAGE")},
		Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
	}, "", frontend.Build, nil)
	if err != nil {
		t.Fatalf("building target %s: %v", target, err)
	}
	return out
}

// TestPatchFromGrypeReport patches the stale Debian 12 image from a Grype
// report of it: the same packages reach the same versions as from Trivy's.
func TestPatchFromGrypeReport(t *testing.T) {
	env := needEnv(t)
	grype := readData(t, env, "debian-12-stale.grype.json")
	res := patch(t, env, map[string]string{
		"Patchfile": "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT scan.json\n",
		"scan.json": grype,
	}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	// The Trivy report of the same image names the same fixes.
	trivy := readData(t, env, "debian-12-stale.trivy.json")
	checkPatched(t, baseImage(t, env, "12-stale"), res.image, trivyFixes(t, trivy))
	if want := fmt.Sprintf("%d vulnerabilities: %[1]d patched", len(reportIDs(t, trivy))); !strings.Contains(res.logs, want) {
		t.Errorf("the summary does not say %q:\n%s", want, res.logs)
	}
}
