package summary

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/distrostest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// bookworm is a stale Debian 12 image's patch as the frontend sees it:
// findings go through the real planner, so the summary is tested on the
// plan shapes the frontend produces. Vulnerability IDs and versions are
// realistic but illustrative.
func bookworm(t *testing.T) Input {
	t.Helper()
	installed := map[string]string{
		"perl-base":     "5.36.0-7+deb12u3",
		"apt":           "2.6.1",
		"libapt-pkg6.0": "2.6.1",
		"bash":          "5.2.15-2+b2",
		"tzdata":        "2024a-0+deb12u1",
		"libc6":         "2.36-9+deb12u10",
	}
	f := func(pkg, id string, fixed ...string) distros.Finding {
		return distros.Finding{Package: pkg, FixedVersions: fixed, VulnerabilityID: id, Entry: id + "/" + pkg}
	}
	plan := distros.MakePlan(debian, distrostest.Installed(installed), []distros.Finding{
		f("perl-base", "CVE-2024-56406", "5.36.0-7+deb12u2"),
		f("perl-base", "CVE-2025-40909", "5.36.0-7+deb12u4"),
		f("perl-base", "CVE-2023-47038", "5.36.0-7+deb12u1"),
		f("apt", "CVE-2025-6020", "2.6.2"),
		f("libapt-pkg6.0", "CVE-2025-6020", "2.6.2"),
		f("bash", "CVE-2022-3715"),
		f("tzdata", "CVE-2025-1234", "2025b-0+deb12u1"),
		f("libc6", "CVE-2023-4911", "2.36-9+deb12u3"),
		f("libperl5.36", "CVE-2025-40909", "5.36.0-7+deb12u4"),
	})
	after := map[string]string{}
	for k, v := range installed {
		after[k] = v
	}
	after["perl-base"] = "5.36.0-7+deb12u4"
	after["apt"] = "2.6.2"
	after["libapt-pkg6.0"] = "2.6.2"
	return Input{
		Image:      "docker.io/library/debian:12",
		BaseDigest: "sha256:2171c87301e5ea528cee5c2308a4589f8f2ac819d4d434b679b7cb1dc8de6912",
		Platform:   "linux/amd64",
		OS:         OS{ID: "debian", Version: "12", Manager: "apt"},
		Reports:    []string{"debian-12.trivy.json"},
		Plan:       plan,
		Unresolved: []distros.Unresolved{{Name: "tzdata", Want: "2025b-0+deb12u1", Best: "2025a-0+deb12u1"}},
		After:      after,
		Versioning: debian,
	}
}

func TestNew(t *testing.T) {
	type row struct {
		id, pkg string
		status  Status
		reason  string
	}
	tests := []struct {
		name   string
		input  func(t *testing.T) Input
		want   []row
		counts Counts
	}{
		{
			name:  "bookworm",
			input: bookworm,
			want: []row{
				{"CVE-2022-3715", "bash", NotFixable, ""},
				{"CVE-2023-4911", "libc6", AlreadyFixed, ""},
				{"CVE-2023-47038", "perl-base", Patched, ""},
				{"CVE-2024-56406", "perl-base", Patched, ""},
				{"CVE-2025-1234", "tzdata", Failed, "fixed version 2025b-0+deb12u1 not available (best: 2025a-0+deb12u1)"},
				{"CVE-2025-6020", "apt", Patched, ""},
				{"CVE-2025-6020", "libapt-pkg6.0", Patched, ""},
				{"CVE-2025-40909", "libperl5.36", NotInstalled, ""},
				{"CVE-2025-40909", "perl-base", Patched, ""},
			},
			// CVE-2025-40909 counts as patched: the package that is
			// not installed cannot carry it.
			counts: Counts{Vulnerabilities: 7, Patched: 4, AlreadyFixed: 1, NotFixable: 1, Failed: 1, UpgradedPackages: 3},
		},
		{
			name: "verification shortfall",
			input: func(t *testing.T) Input {
				in := bookworm(t)
				in.Unresolved = nil
				in.Failed = map[string]string{"tzdata": distros.Shortfall{Name: "tzdata", Installed: "2024a-0+deb12u1", Want: "2025b-0+deb12u1"}.String()}
				in.Plan.Skipped = nil
				in.Plan.Updates = in.Plan.Updates[len(in.Plan.Updates)-1:]
				return in
			},
			want:   []row{{"CVE-2025-1234", "tzdata", Failed, "tzdata: 2024a-0+deb12u1 installed, want 2025b-0+deb12u1 or later"}},
			counts: Counts{Vulnerabilities: 1, Failed: 1},
		},
		{
			name: "update below fix without a failed entry",
			input: func(t *testing.T) Input {
				in := bookworm(t)
				in.Unresolved = nil
				in.After["tzdata"] = "2025a-0+deb12u1"
				in.Plan.Skipped = nil
				in.Plan.Updates = in.Plan.Updates[len(in.Plan.Updates)-1:]
				return in
			},
			want:   []row{{"CVE-2025-1234", "tzdata", Failed, "tzdata: 2025a-0+deb12u1 installed, want 2025b-0+deb12u1 or later"}},
			counts: Counts{Vulnerabilities: 1, Failed: 1},
		},
		{
			name: "upgrade all without a report",
			input: func(t *testing.T) Input {
				return Input{
					Image: "docker.io/library/debian:12", Platform: "linux/arm64",
					Plan:     &distros.Plan{All: true},
					Upgrades: []distros.Update{{Name: "libssl3", Installed: "3.0.11-1~deb12u2", Fixed: "3.0.15-1~deb12u1"}},
					After:    map[string]string{"libssl3": "3.0.15-1~deb12u1"},
				}
			},
			want:   []row{{"", "libssl3", Patched, ""}},
			counts: Counts{UpgradedPackages: 1},
		},
		{
			name:  "nothing",
			input: func(*testing.T) Input { return Input{Plan: &distros.Plan{}} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.input(t))
			var got []row
			for _, e := range s.Entries {
				got = append(got, row{e.Vulnerability, e.Package, e.Status, e.Reason})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("entries:\n got %v\nwant %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
			if s.Counts != tt.counts {
				t.Errorf("counts: got %+v, want %+v", s.Counts, tt.counts)
			}
		})
	}
}

func TestPatchedEntryVersions(t *testing.T) {
	s := New(bookworm(t))
	for _, e := range s.Entries {
		if e.Package == "perl-base" && (e.Installed != "5.36.0-7+deb12u3" || e.After != "5.36.0-7+deb12u4" || e.Fixed != "5.36.0-7+deb12u4") {
			t.Errorf("perl-base: %+v; want the package's highest fix as target for each of its CVEs", e)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"CVE-2023-4039", "CVE-2023-39804", -1},
		{"CVE-2023-39804", "CVE-2023-4039", 1},
		{"CVE-2022-9999", "CVE-2023-1", -1},
		{"CVE-2023-1", "CVE-2023-1", 0},
		{"CVE-2023-01", "CVE-2023-1", -1}, // equal numbers: the text decides, so the order is total
		{"CVE-2023-1", "GHSA-xxxx", -1},
		{"TEMP-0841856-B18BAF", "CVE-2023-1", 1},
		{"CVE-2023-1", "", -1},
		{"", "CVE-2023-1", 1},
		{"CVE-2023-1", "CVE-2023-1a", -1},
	}
	for _, tt := range tests {
		got := CompareIDs(tt.a, tt.b)
		if sign(got) != tt.want {
			t.Errorf("CompareIDs(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{[]Status{Patched, AlreadyFixed}, Patched},
		{[]Status{Patched, NotInstalled}, Patched},
		{[]Status{Patched, NotFixable}, NotFixable},
		{[]Status{NotFixable, Failed, Patched}, Failed},
		{[]Status{NotInstalled}, NotInstalled},
		{[]Status{Patched, "bogus"}, "bogus"},
	}
	for _, tt := range tests {
		if got := Worst(tt.in...); got != tt.want {
			t.Errorf("Worst(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTableWidth(t *testing.T) {
	long := strings.Repeat("x", 200)
	s := &Summary{Image: long, Platform: "linux/amd64", Entries: []Entry{
		{Vulnerability: "GHSA-" + long, Package: "lib" + long, Status: Failed, Installed: "1:" + long, Fixed: "2:" + long, Reason: long},
		{Vulnerability: "CVE-2024-1", Package: "a", Status: Patched, Installed: "1", After: "2"},
	}}
	out := s.Table()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > Width {
			t.Errorf("line of %d runes > %d: %q", n, Width, line)
		}
	}
	if !strings.Contains(out, "…") {
		t.Errorf("long cells were not marked as cut:\n%s", out)
	}
	if !strings.HasSuffix(out, "2 vulnerabilities: 1 patched, 0 not fixable, 1 failed; 1 package upgraded\n") {
		t.Errorf("count line:\n%s", out)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	s := New(bookworm(t))
	dt, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(dt, []byte(`{"schema":"copa-frontend/summary/v1",`)) {
		t.Errorf("schema is not first: %.80s", dt)
	}
	var back Summary
	if err := json.Unmarshal(dt, &back); err != nil {
		t.Fatal(err)
	}
	if back.Table() != s.Table() || back.Counts != s.Counts {
		t.Errorf("round trip changed the summary:\n%s\n%s", back.Table(), s.Table())
	}
	if err := json.Unmarshal([]byte(`{"schema":"copa-frontend/summary/v2"}`), &back); err == nil {
		t.Error("another schema was accepted")
	}
}

func TestGolden(t *testing.T) {
	s := New(bookworm(t))
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{
		"bookworm.table.golden": []byte(s.Table()),
		"bookworm.json.golden":  append(js, '\n'),
	} {
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test ./frontend/summary -update rewrites it):\n%s", golden, got)
		}
	}
}

// debian is the deb format's version order, from the registry.
var debian = func() distros.Versioning {
	f, _, ok := all.Registry.ForFamily("debian")
	if !ok {
		panic("no format for debian")
	}
	return f.Versioning()
}()
