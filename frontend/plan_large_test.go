package frontend

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/frontend/report"
)

// TestMakePlanLargeReport plans a report of 100,000 findings, the
// parser's limit, over 2,500 packages of which the image has 2,000: every
// installed package is updated once, and the warning names each of the 500
// absent packages once. No timing is asserted; the sets that replaced
// list scans are what it exercises.
func TestMakePlanLargeReport(t *testing.T) {
	var status strings.Builder
	for i := range 2000 {
		status.WriteString(stanza(fmt.Sprintf("pkg%04d", i), "1.0-1"))
	}
	fs := distrostest.MapFS{"/etc/os-release": bookwormRelease, "/bin/sh": "", "/usr/bin/apt-get": "", "/var/lib/dpkg/status": status.String()}
	in, err := inspect(context.Background(), all.Registry, fs, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	rep := &report.Report{Family: "debian"}
	for k := range n {
		rep.Findings = append(rep.Findings, report.Finding{Package: fmt.Sprintf("pkg%04d", k%2500), InstalledVersion: "1.0-1",
			FixedVersion: fmt.Sprintf("1.0-%d", 2+k%3), VulnerabilityID: fmt.Sprintf("CVE-2026-%d", k), Entry: fmt.Sprintf("[%d]", k)})
	}
	p, err := makePlan(all.Registry, in, []loadedReport{{Path: "r.json", Report: rep}}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plan.Updates) != 2000 {
		t.Errorf("%d updates, want 2000", len(p.Plan.Updates))
	}
	ids := 0
	for _, u := range p.Plan.Updates {
		ids += len(u.VulnerabilityIDs)
	}
	for _, s := range p.Plan.Skipped {
		ids += len(s.VulnerabilityIDs)
	}
	if ids != n {
		t.Errorf("the plan states %d vulnerabilities, want %d", ids, n)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Message, ": 500 package(s) in the report are not installed") {
		t.Errorf("warnings %v, want one naming 500 absent packages", p.Warnings)
	}
}
