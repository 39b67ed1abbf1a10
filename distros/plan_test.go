package distros_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/distrostest"
)

func TestMakePlan(t *testing.T) {
	installed := distrostest.Installed(map[string]string{
		"libssl3":   "3.0.11-1~deb12u1",
		"perl-base": "5.36.0-7+deb12u1",
		"tzdata":    "2025b-0+deb12u1",
		"bash":      "5.2.15-2+b2",
	})
	findings := []distros.Finding{
		{Package: "perl-base", FixedVersions: []string{"5.36.0-7+deb12u2"}, VulnerabilityID: "CVE-2023-47038", Entry: "e1"},
		{Package: "libssl3", FixedVersions: []string{"3.0.13-1~deb12u1"}, VulnerabilityID: "CVE-2023-5678", Entry: "e2"},
		// the same package again with a higher fix: the highest wins
		{Package: "libssl3", FixedVersions: []string{"3.0.15-1~deb12u1"}, VulnerabilityID: "CVE-2024-5535", Entry: "e3"},
		{Package: "libssl3", FixedVersions: []string{"3.0.13-1~deb12u1"}, VulnerabilityID: "CVE-2023-5678", Entry: "e4"},
		// already at the fixed version
		{Package: "tzdata", FixedVersions: []string{"2024a-0+deb12u1"}, VulnerabilityID: "X-1", Entry: "e5"},
		// not in the image
		{Package: "curl", FixedVersions: []string{"7.88.1-10+deb12u5"}, VulnerabilityID: "CVE-2023-38545", Entry: "e6"},
		// no fix published
		{Package: "bash", VulnerabilityID: "CVE-2022-3715", Entry: "e7"},
		// an unfixed CVE of a package that has another, fixed, one
		{Package: "perl-base", VulnerabilityID: "CVE-2011-4116", Entry: "e8"},
	}
	plan := distros.MakePlan(deb.Versioning{}, installed, findings)
	wantUpdates := []distros.Update{
		{Name: "libssl3", Installed: "3.0.11-1~deb12u1", Fixed: "3.0.15-1~deb12u1", VulnerabilityIDs: []string{"CVE-2023-5678", "CVE-2024-5535"}},
		{Name: "perl-base", Installed: "5.36.0-7+deb12u1", Fixed: "5.36.0-7+deb12u2", VulnerabilityIDs: []string{"CVE-2023-47038"}},
	}
	if !reflect.DeepEqual(plan.Updates, wantUpdates) {
		t.Errorf("Updates = %+v\nwant %+v", plan.Updates, wantUpdates)
	}
	wantSkipped := []distros.Skip{
		{Name: "tzdata", Installed: "2025b-0+deb12u1", Fixed: "2024a-0+deb12u1", Reason: distros.SkipAlreadyFixed, VulnerabilityIDs: []string{"X-1"}},
		{Name: "curl", Fixed: "7.88.1-10+deb12u5", Reason: distros.SkipNotInstalled, VulnerabilityIDs: []string{"CVE-2023-38545"}},
		{Name: "bash", Installed: "5.2.15-2+b2", Reason: distros.SkipNoFix, VulnerabilityIDs: []string{"CVE-2022-3715"}},
		{Name: "perl-base", Installed: "5.36.0-7+deb12u1", Reason: distros.SkipNoFix, VulnerabilityIDs: []string{"CVE-2011-4116"}},
	}
	if !reflect.DeepEqual(plan.Skipped, wantSkipped) {
		t.Errorf("Skipped = %+v\nwant %+v", plan.Skipped, wantSkipped)
	}
	if got := plan.Names(); !reflect.DeepEqual(got, []string{"libssl3", "perl-base"}) {
		t.Errorf("Names = %q", got)
	}
}

func TestMakePlanFixLists(t *testing.T) {
	// A supplier's list has one fix per release line: the lowest fix above
	// the installed version is the one for the installed line.
	installed := distrostest.Installed(map[string]string{"pkg": "1.2-1"})
	tests := []struct {
		list []string
		want string
	}{
		{[]string{"2.0-1", "1.3-1", "1.1-1"}, "1.3-1"},
		{[]string{"1.1-1", "1.0-1"}, ""}, // every fix is older than what is installed
	}
	for _, tt := range tests {
		plan := distros.MakePlan(deb.Versioning{}, installed, []distros.Finding{{Package: "pkg", FixedVersions: tt.list, VulnerabilityID: "V", Entry: "e"}})
		var got string
		if len(plan.Updates) == 1 {
			got = plan.Updates[0].Fixed
		}
		if got != tt.want {
			t.Errorf("list %q: fixed = %q, want %q", tt.list, got, tt.want)
		}
	}
}

func TestFindingValidate(t *testing.T) {
	tests := []struct {
		f    distros.Finding
		want string
	}{
		{distros.Finding{Package: "-oAPT::Get::Foo=1", FixedVersions: []string{"1.0"}, Entry: "Results[0].Vulnerabilities[2] (CVE-1, x)"}, "report entry Results[0].Vulnerabilities[2] (CVE-1, x)"},
		{distros.Finding{Package: "libfoo", FixedVersions: []string{"1.0;reboot"}, Entry: "Results[0].Vulnerabilities[7]"}, "report entry Results[0].Vulnerabilities[7]: fixed version"},
	}
	for _, tt := range tests {
		err := tt.f.Validate(deb.Versioning{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) error = %v, want it to name %q", tt.f, err, tt.want)
		}
	}
	ok := distros.Finding{Package: "libfoo", FixedVersions: []string{"1:1.0-1+deb12u1"}, Entry: "e"}
	if err := ok.Validate(deb.Versioning{}); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
}

func TestVerify(t *testing.T) {
	after := distrostest.Installed(map[string]string{"libssl3": "3.0.15-1~deb12u1", "perl-base": "5.36.0-7+deb12u1"})
	want := []distros.Update{
		{Name: "libssl3", Fixed: "3.0.13-1~deb12u1"},
		{Name: "perl-base", Fixed: "5.36.0-7+deb12u2"},
		{Name: "gone", Fixed: "1.0"},
	}
	got := distros.Verify(deb.Versioning{}, after, want)
	wantShort := []distros.Shortfall{
		{Name: "perl-base", Installed: "5.36.0-7+deb12u1", Want: "5.36.0-7+deb12u2"},
		{Name: "gone", Want: "1.0"},
	}
	if !reflect.DeepEqual(got, wantShort) {
		t.Errorf("Verify = %+v", got)
	}
	if s := got[0].String(); s != "perl-base: 5.36.0-7+deb12u1 installed, want 5.36.0-7+deb12u2 or later" {
		t.Errorf("String = %q", s)
	}
}

func TestParseOSRelease(t *testing.T) {
	osr := distros.ParseOSRelease([]byte(`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
# a comment
ID_LIKE='ubuntu debian'
broken line
`))
	want := distros.OSRelease{ID: "debian", IDLike: []string{"ubuntu", "debian"}, VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}
	if !reflect.DeepEqual(osr, want) {
		t.Errorf("ParseOSRelease = %+v", osr)
	}
	if osr.String() != "debian 12 (bookworm)" || !osr.Is("debian") || osr.Is("alpine") {
		t.Errorf("String/Is wrong: %s", osr)
	}
}

func TestStepName(t *testing.T) {
	plan := func(names ...string) *distros.Plan {
		p := &distros.Plan{}
		for _, n := range names {
			p.Updates = append(p.Updates, distros.Update{Name: n})
		}
		return p
	}
	for _, tt := range []struct {
		plan *distros.Plan
		want string
	}{
		{&distros.Plan{All: true}, "apt: upgrade every package that has an update"},
		{plan("tzdata"), "apt: 1 security update (tzdata)"},
		{plan("a", "b", "c"), "apt: 3 security updates (a, b, c)"},
		{plan("apt", "libapt-pkg6.0", "liblzma5", "d", "e"), "apt: 5 security updates (apt, libapt-pkg6.0, liblzma5, … +2)"},
	} {
		if got := distros.StepName("apt", tt.plan); got != tt.want {
			t.Errorf("StepName = %q, want %q", got, tt.want)
		}
	}
}
