package distros_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
)

// TestVersionsMatchesVersion holds the one-pass Versions to Version, name
// by name, on random sets with several records per name and architecture,
// including versions that compare equal but are spelt differently.
func TestVersionsMatchesVersion(t *testing.T) {
	v := deb.Versioning{}
	r := rand.New(rand.NewPCG(3, 4))
	versions := []string{"1.0-1", "1.0-2", "0:1.0-1", "1.0-1+b1", "2.0", "1:0.1"}
	for range 50 {
		var ps distros.Packages
		for range r.IntN(40) {
			ps = append(ps, distros.Package{
				Name:    fmt.Sprintf("p%d", r.IntN(6)),
				Arch:    []string{"amd64", "i386", "all", ""}[r.IntN(4)],
				Version: versions[r.IntN(len(versions))],
			})
		}
		got := ps.Versions(v)
		for _, p := range ps {
			want, _ := ps.Version(v, p.Name)
			if got[p.Name] != want {
				t.Fatalf("%v: Versions[%s] = %q, Version = %q", ps, p.Name, got[p.Name], want)
			}
		}
		if _, ok := got["absent"]; ok {
			t.Fatal("Versions has a package that is not installed")
		}
	}
}

// TestMakePlanLarge plans 100,000 findings, the report limit, over 2,500
// packages of which 2,000 are installed, with every kind of outcome, and
// checks the plan states each vulnerability exactly once. It exercises
// the sets that replaced list scans; it asserts no timing.
func TestMakePlanLarge(t *testing.T) {
	const n, pkgs, installedPkgs = 100000, 2500, 2000
	var installed distros.Packages
	for i := range installedPkgs {
		installed = append(installed, distros.Package{Name: fmt.Sprintf("pkg%04d", i), Arch: "amd64", Version: "1.0-1"})
	}
	var findings []distros.Finding
	for k := range n {
		f := distros.Finding{Package: fmt.Sprintf("pkg%04d", k%pkgs), VulnerabilityID: fmt.Sprintf("CVE-2026-%d", k)}
		switch k % 10 {
		case 0: // no fix
		case 1:
			f.FixedVersions = []string{"0.9-1"} // already fixed
		default:
			f.FixedVersions = []string{fmt.Sprintf("1.0-%d", 2+k%5)}
		}
		findings = append(findings, f)
		if k%7 == 0 {
			findings = append(findings, f) // a repeat must not be counted twice
			if len(f.FixedVersions) > 0 && k%10 != 1 {
				// A lower fix of the same vulnerability, which must not win.
				findings = append(findings, distros.Finding{Package: f.Package, VulnerabilityID: f.VulnerabilityID, FixedVersions: []string{"1.0-1+deb1"}})
			}
		}
	}
	p := distros.MakePlan(deb.Versioning{}, installed, findings)

	seen := map[string]bool{}
	count := func(ids []string) {
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s is stated twice", id)
			}
			seen[id] = true
		}
	}
	for _, u := range p.Updates {
		count(u.VulnerabilityIDs)
		var i int
		fmt.Sscanf(u.Name, "pkg%d", &i)
		// A package's findings share k%10 and k%5 with its number.
		if want := fmt.Sprintf("1.0-%d", 2+i%5); u.Fixed != want {
			t.Errorf("%s: fixed %s, want %s", u.Name, u.Fixed, want)
		}
	}
	reasons := map[distros.SkipReason]int{}
	for _, s := range p.Skipped {
		count(s.VulnerabilityIDs)
		reasons[s.Reason] += len(s.VulnerabilityIDs)
	}
	if len(seen) != n {
		t.Errorf("the plan states %d vulnerabilities, want %d", len(seen), n)
	}
	// Of the installed packages, those numbered 0 and 1 modulo 10 have
	// no fix or are already fixed.
	if want := installedPkgs * 8 / 10; len(p.Updates) != want {
		t.Errorf("%d updates, want %d", len(p.Updates), want)
	}
	if want := n / 10; reasons[distros.SkipNoFix] != want {
		t.Errorf("%d vulnerabilities without a fix, want %d", reasons[distros.SkipNoFix], want)
	}
	if want := n * (pkgs - installedPkgs) / pkgs * 9 / 10; reasons[distros.SkipNotInstalled] != want {
		t.Errorf("%d vulnerabilities of absent packages, want %d", reasons[distros.SkipNotInstalled], want)
	}
}
