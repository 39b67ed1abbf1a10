package summary

import (
	"fmt"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
)

// TestLargeSummary builds the summary of a 100,000-vulnerability plan and
// checks every vulnerability is counted once, in the groups and in the
// JSON's counts. No timing is asserted.
func TestLargeSummary(t *testing.T) {
	const n = 100000
	p := &distros.Plan{}
	after := map[string]string{}
	for i := range 2000 {
		name := fmt.Sprintf("pkg%04d", i)
		u := distros.Update{Name: name, Installed: "1.0-1", Fixed: "1.0-2"}
		for k := i; k < n; k += 2000 {
			u.VulnerabilityIDs = append(u.VulnerabilityIDs, fmt.Sprintf("CVE-2026-%d", k))
		}
		p.Updates = append(p.Updates, u)
		after[name] = "1.0-2"
	}
	s := New(Input{Plan: p, After: after, Versioning: deb.Versioning{}})
	if s.Counts.Vulnerabilities != n || s.Counts.Patched != n || s.Counts.UpgradedPackages != 2000 {
		t.Errorf("counts %+v, want %d patched vulnerabilities of 2000 packages", s.Counts, n)
	}
	if vs := s.Vulnerabilities(); len(vs) != n {
		t.Errorf("%d groups, want %d", len(vs), n)
	}
}

// TestVulnerabilitiesGroups checks the grouping of unsorted entries (a
// hand-made Summary) and that a group's entries cannot be appended over
// the next group's, since groups share the summary's entries.
func TestVulnerabilitiesGroups(t *testing.T) {
	s := &Summary{Entries: []Entry{
		{Vulnerability: "CVE-2", Package: "b", Status: Patched},
		{Package: "x", Status: Patched},
		{Vulnerability: "CVE-1", Package: "a", Status: Failed},
		{Vulnerability: "CVE-2", Package: "a", Status: NotFixable},
	}}
	vs := s.Vulnerabilities()
	if len(vs) != 2 || vs[0].ID != "CVE-1" || vs[1].ID != "CVE-2" || len(vs[1].Entries) != 2 || vs[1].Status != NotFixable || vs[1].Entries[0].Package != "a" {
		t.Fatalf("unsorted entries grouped as %+v", vs)
	}
	s.Sort()
	vs = s.Vulnerabilities()
	_ = append(vs[0].Entries, Entry{Vulnerability: "clobber"})
	if vs[1].Entries[0].Vulnerability != "CVE-2" || s.Entries[1].Vulnerability != "CVE-2" {
		t.Error("appending to a group wrote over the next one")
	}
}
