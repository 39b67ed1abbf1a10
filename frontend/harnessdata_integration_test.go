package frontend_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The harness builds its images and writes $COPA_TEST_DATA on a new
// machine, against whatever the Debian archive serves that day (see
// hack/README.md). So no test names the packages, versions or counts the
// archive offers: the helpers here derive them from that data and from
// the images themselves.

// noHarnessData fails a test whose assertions need an upgrade that the
// harness data does not have, saying so, rather than letting it pass on
// nothing.
func noHarnessData(t *testing.T, env testEnv, what string) {
	t.Helper()
	t.Fatalf("the harness data in %s has %s: the Debian archive offered no such upgrade when hack/harness.sh made it, "+
		"and this test needs one (see hack/README.md)", env.data, what)
}

// reportFixOrder lists the packages of a Trivy report that have a fixed
// version, each once, in the order of their first such finding: the
// order in which the plan lists the reported packages it skips.
func reportFixOrder(t *testing.T, report string) []string {
	t.Helper()
	var r struct {
		Results []struct {
			Vulnerabilities []struct{ PkgName, FixedVersion string }
		}
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var names []string
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if strings.Trim(v.FixedVersion, ", ") == "" || seen[v.PkgName] {
				continue
			}
			seen[v.PkgName] = true
			names = append(names, v.PkgName)
		}
	}
	return names
}

// skippedWarning is the warning the frontend gives for reported packages
// that the image does not have (names in report order), or "" for none:
// at most ten names, then how many more.
func skippedWarning(names []string) string {
	if len(names) == 0 {
		return ""
	}
	list := strings.Join(names, ", ")
	if len(names) > 10 {
		list = strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return fmt.Sprintf("%d package(s) in the report are not installed in the image and were skipped: %s", len(names), list)
}

// TestHarnessDataHelpers checks the helpers above on hand-made data; it
// needs no harness.
func TestHarnessDataHelpers(t *testing.T) {
	report := `{"Results": [{"Vulnerabilities": [
  {"PkgName": "zz", "FixedVersion": "2"}, {"PkgName": "aa", "FixedVersion": ""},
  {"PkgName": "mm", "FixedVersion": "1, 2"}, {"PkgName": "zz", "FixedVersion": "3"}, {"PkgName": "aa", "FixedVersion": "4"}]}]}`
	if got, want := reportFixOrder(t, report), []string{"zz", "mm", "aa"}; !slices.Equal(got, want) {
		t.Errorf("reportFixOrder = %q, want %q", got, want)
	}
	if got := skippedWarning(nil); got != "" {
		t.Errorf("skippedWarning(nil) = %q", got)
	}
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("p%d", i))
	}
	if got, want := skippedWarning(names[:2]), "2 package(s) in the report are not installed in the image and were skipped: p0, p1"; got != want {
		t.Errorf("skippedWarning = %q, want %q", got, want)
	}
	if got, want := skippedWarning(names), "12 package(s) in the report are not installed in the image and were skipped: "+
		strings.Join(names[:10], ", ")+" and 2 more"; got != want {
		t.Errorf("skippedWarning = %q, want %q", got, want)
	}
}
