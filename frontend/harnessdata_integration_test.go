package frontend_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/copa/frontend/internal/debtest"
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

// statusFields parses a dpkg status file into each package's fields
// (the last stanza of a name wins; continuation lines are appended).
func statusFields(data []byte) map[string]map[string]string {
	pkgs := map[string]map[string]string{}
	for _, stanza := range bytes.Split(data, []byte("\n\n")) {
		fields := map[string]string{}
		last := ""
		for _, line := range strings.Split(string(stanza), "\n") {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				if last != "" {
					fields[last] += "\n" + line
				}
				continue
			}
			if k, v, ok := strings.Cut(line, ":"); ok {
				last = k
				fields[k] = strings.TrimSpace(v)
			}
		}
		if name := fields["Package"]; name != "" {
			pkgs[name] = fields
		}
	}
	return pkgs
}

// sourceOf is the source package a status stanza was built from.
func sourceOf(name string, fields map[string]string) string {
	if src, _, _ := strings.Cut(fields["Source"], " "); src != "" {
		return src
	}
	return name
}

// neededUpgrades returns which of the upgraded packages a patch for the
// reported ones had to upgrade, from the two images' dpkg status files:
// the reported packages, the packages built from the same source as a
// reported one (apt moves them in lockstep), and, transitively, those
// whose old version does not meet a Depends or Pre-Depends of the new
// version of a package already needed.
func neededUpgrades(t *testing.T, baseStatus, patchedStatus []byte, reported map[string]string, upgraded []string) map[string]bool {
	t.Helper()
	before, after := statusFields(baseStatus), statusFields(patchedStatus)
	sources := map[string]bool{}
	for name := range reported {
		if f, ok := before[name]; ok {
			sources[sourceOf(name, f)] = true
		}
	}
	need := map[string]bool{}
	for _, name := range upgraded {
		if _, ok := reported[name]; ok || sources[sourceOf(name, before[name])] {
			need[name] = true
		}
	}
	for grew := true; grew; {
		grew = false
		state := map[string]string{}
		for name, f := range before {
			state[name] = f["Version"]
		}
		depends := map[string][]string{}
		for name := range need {
			state[name] = after[name]["Version"]
			depends[name] = []string{after[name]["Depends"], after[name]["Pre-Depends"]}
		}
		unmet := func(name, version string) int {
			old := state[name]
			state[name] = version
			defer func() { state[name] = old }()
			u, err := debtest.UnmetDepends(depends, state)
			if err != nil {
				t.Fatalf("the patched image's dependencies: %v", err)
			}
			return len(u)
		}
		for _, name := range upgraded {
			if !need[name] && unmet(name, before[name]["Version"]) > unmet(name, after[name]["Version"]) {
				need[name] = true
				grew = true
			}
		}
	}
	return need
}
