package frontend_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// reportOf keeps the findings of a Trivy report whose package is one of
// names.
func reportOf(t *testing.T, report string, names []string) string {
	t.Helper()
	keep := map[string]string{}
	for _, n := range names {
		keep[n] = ""
	}
	return trivyFor(t, report, keep)
}

// fixedVulnerabilities reads the vulnerabilities the VEX attestation of
// an image in the registry states fixed.
func fixedVulnerabilities(t *testing.T, env testEnv, repo, tag string) map[string]bool {
	t.Helper()
	_, sts, err := imagetest.Attestations(env.registry, repo, tag, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	fixed := map[string]bool{}
	for _, st := range sts {
		if st.PredicateType != frontend.PredicateTypeOpenVEX {
			continue
		}
		var doc struct {
			Statements []struct {
				Vulnerability struct{ Name string }
				Status        string
			}
		}
		if err := json.Unmarshal(st.Predicate, &doc); err != nil {
			t.Fatal(err)
		}
		for _, s := range doc.Statements {
			if s.Status == "fixed" {
				fixed[s.Vulnerability.Name] = true
			}
		}
	}
	return fixed
}

// reportVulnerabilities lists the vulnerabilities with a fixed version
// that a Trivy report names for packages of names (nil: every package).
func reportVulnerabilities(t *testing.T, report string, names []string) []string {
	t.Helper()
	var r struct {
		Results []struct {
			Vulnerabilities []struct{ VulnerabilityID, PkgName, FixedVersion string }
		}
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if v.FixedVersion != "" && (names == nil || slices.Contains(names, v.PkgName)) && !slices.Contains(ids, v.VulnerabilityID) {
				ids = append(ids, v.VulnerabilityID)
			}
		}
	}
	return ids
}

// TestRepatch patches the stale image with a report of three packages,
// then patches the result again: the earlier patch layer is replaced (the
// original's layers plus exactly one), nothing the first patch installed
// goes back, and the VEX document states both patches' fixes. Patching
// the fully patched image once more gives its manifest back.
func TestRepatch(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	fixes := trivyFixes(t, report)
	names := slices.Sorted(maps.Keys(fixes))
	if len(names) < 4 {
		noHarnessData(t, env, fmt.Sprintf("the report fixes %d package(s); the re-patch test needs four or more", len(names)))
	}
	first, rest := names[:3], names[3:]
	base := baseImage(t, env, "12-stale")
	repo := "copa-test/patched"
	ref := func(tag string) string { return env.registry + "/" + repo + ":" + tag }
	patchfile := func(image string) string { return "PATCH " + image + "\nREPORT report.json\n" }

	res1 := patch(t, env, map[string]string{"Patchfile": patchfile(env.registry + "/copa-test/debian:12-stale"), "report.json": reportOf(t, report, first)}, nil, ref("repatch-1"))
	if res1.err != nil {
		t.Fatalf("first patch failed: %v\n%s", res1.err, res1.logs)
	}
	firstWant := map[string]string{}
	for _, n := range first {
		firstWant[n] = fixes[n]
	}
	after1 := checkPatched(t, base, res1.image, firstWant)

	t.Run("full report", func(t *testing.T) {
		res := patch(t, env, map[string]string{"Patchfile": patchfile(ref("repatch-1")), "report.json": report}, nil, ref("repatch-2"))
		if res.err != nil {
			t.Fatalf("re-patch failed: %v\n%s", res.err, res.logs)
		}
		after := checkPatched(t, base, res.image, fixes) // the original's layers plus one
		checkNotDowngraded(t, after1, after, first)
		if !slices.ContainsFunc(res.warnings, func(w string) bool { return strings.Contains(w, "was patched by copa/frontend: patching its original") }) {
			t.Errorf("no warning about patching the original; warnings: %q", res.warnings)
		}
		if got := res.image.Config.Config.Labels[frontend.LabelBaseDigest]; got != base.Digest.String() && got != res1.image.Config.Config.Labels[frontend.LabelBaseDigest] {
			t.Errorf("base digest label %q, want the original's", got)
		}
		fixed := fixedVulnerabilities(t, env, repo, "repatch-2")
		for _, id := range reportVulnerabilities(t, report, nil) {
			if !fixed[id] {
				t.Errorf("the VEX document does not state %s fixed", id)
			}
		}

		// Idempotency: with nothing left to patch, patching the image
		// and pushing it back under its tag, as a weekly job does,
		// leaves the tag where it was: the same manifest and, with the
		// earlier VEX attestation kept, the same index.
		manifest, index := digests(t, env, repo, "repatch-2")
		again := patch(t, env, map[string]string{"Patchfile": patchfile(ref("repatch-2")), "report.json": report}, nil, ref("repatch-2"))
		if again.err != nil {
			t.Fatalf("third patch failed: %v\n%s", again.err, again.logs)
		}
		if m, i := digests(t, env, repo, "repatch-2"); m != manifest || i != index {
			t.Errorf("re-patching the fully patched image gave manifest %s and index %s, want %s and %s", m, i, manifest, index)
		}
		if !slices.ContainsFunc(again.warnings, func(w string) bool { return strings.Contains(w, "every reported fix is installed already") }) {
			t.Errorf("no warning that the image is returned unchanged; warnings: %q", again.warnings)
		}
	})

	t.Run("report of the other packages", func(t *testing.T) {
		// The new report names none of the first three: the earlier
		// patch's upgrades and VEX statements are kept all the same.
		res := patch(t, env, map[string]string{"Patchfile": patchfile(ref("repatch-1")), "report.json": reportOf(t, report, rest)}, nil, ref("repatch-4"))
		if res.err != nil {
			t.Fatalf("re-patch failed: %v\n%s", res.err, res.logs)
		}
		after := checkPatched(t, base, res.image, fixes)
		checkNotDowngraded(t, after1, after, first)
		fixed := fixedVulnerabilities(t, env, repo, "repatch-4")
		for _, id := range reportVulnerabilities(t, report, nil) {
			if !fixed[id] {
				t.Errorf("the VEX document does not state %s fixed", id)
			}
		}
	})
}

// digests are the linux/amd64 manifest digest and the index digest of a
// tag in the registry.
func digests(t *testing.T, env testEnv, repo, tag string) (manifest, index string) {
	t.Helper()
	img, err := imagetest.FromRegistry(env.registry, repo, tag, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodHead, "http://"+env.registry+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ocispecs.MediaTypeImageIndex+", "+ocispecs.MediaTypeImageManifest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return img.Digest.String(), resp.Header.Get("Docker-Content-Digest")
}

func checkNotDowngraded(t *testing.T, before, after map[string]string, names []string) {
	t.Helper()
	for _, n := range names {
		if (debtest.Versioning{}).Compare(after[n], before[n]) < 0 {
			t.Errorf("%s went back from %s to %s", n, before[n], after[n])
		}
	}
}

// TestRepatchOriginalGone patches an image that says it was patched by
// this frontend from an original that cannot be pulled: the patch goes on
// top of it, with a warning, and does not fail.
func TestRepatchOriginalGone(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	fixes := trivyFixes(t, report)
	base := baseImage(t, env, "12-stale")
	gone := env.registry + "/copa-test/never-pushed:orig"
	if _, err := imagetest.PushWithConfig(env.registry, "copa-test/debian", "12-stale-original-gone", base, func(cfg map[string]any) {
		c := cfg["config"].(map[string]any)
		labels, _ := c["Labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels[frontend.LabelPatched] = "true"
		labels[frontend.LabelBaseName] = gone
		labels[frontend.LabelBaseDigest] = digest.FromString("gone").String()
		c["Labels"] = labels
		cfg["history"] = append(cfg["history"].([]any), map[string]any{
			"created_by": "copa/frontend: apt update of nothing", "comment": frontend.HistoryComment, "empty_layer": true,
		})
	}); err != nil {
		t.Fatal(err)
	}
	stacked := baseImage(t, env, "12-stale-original-gone")
	res := patch(t, env, map[string]string{"Patchfile": "PATCH " + env.registry + "/copa-test/debian:12-stale-original-gone\nREPORT report.json\n", "report.json": report}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkPatched(t, stacked, res.image, fixes) // on top of the patched image
	if !slices.ContainsFunc(res.warnings, func(w string) bool {
		return strings.Contains(w, "was patched by copa/frontend from "+env.registry+"/copa-test/never-pushed@") && strings.Contains(w, "cannot be pulled")
	}) {
		t.Errorf("no warning that the original is gone; warnings: %q", res.warnings)
	}
}
