package frontend

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/frontend/report"
)

const bookwormRelease = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"

// stanza is one installed package of a dpkg status file.
func stanza(name, version string) string {
	return "Package: " + name + "\nStatus: install ok installed\nArchitecture: amd64\nVersion: " + version + "\n\n"
}

func TestInspect(t *testing.T) {
	status := stanza("libssl3", "3.0.11-1~deb12u1") + stanza("tzdata", "2024a-0+deb12u1")
	tests := []struct {
		name        string
		fs          distrostest.MapFS
		method      string
		release     string
		installed   map[string]string
		unpatchable string // part of the reason, when no method patches the image
	}{
		{
			name:      "apt image",
			fs:        distrostest.MapFS{"/etc/os-release": bookwormRelease, "/var/lib/dpkg/status": status, "/bin/sh": "", "/usr/bin/apt-get": ""},
			method:    "apt",
			release:   "debian bookworm",
			installed: map[string]string{"libssl3": "3.0.11-1~deb12u1", "tzdata": "2024a-0+deb12u1"},
		},
		{
			name:      "os-release under /usr/lib, no apt",
			fs:        distrostest.MapFS{"/usr/lib/os-release": bookwormRelease, "/var/lib/dpkg/status.d/tzdata": "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"},
			method:    "dpkg",
			release:   "debian bookworm",
			installed: map[string]string{"tzdata": "2024a-0+deb12u1"},
		},
		{
			name:        "no os-release",
			fs:          distrostest.MapFS{"/var/lib/dpkg/status": status},
			unpatchable: "has no /etc/os-release or /usr/lib/os-release",
		},
		{
			name:        "debian without a package database",
			fs:          distrostest.MapFS{"/etc/os-release": bookwormRelease, "/bin/sh": ""},
			unpatchable: "the image is debian 12 (bookworm), but the image has no dpkg database",
		},
		{
			name:        "alpine without a package database",
			fs:          distrostest.MapFS{"/etc/os-release": "ID=alpine\nVERSION_ID=3.21.0\n", "/bin/sh": ""},
			unpatchable: "the image is alpine 3.21.0, but it has no apk database (no /lib/apk/db/installed)",
		},
		{
			name:        "an rpm image without a database",
			fs:          distrostest.MapFS{"/etc/os-release": "ID=rhel\nVERSION_ID=9.4\n", "/bin/sh": "", "/usr/bin/dnf": ""},
			unpatchable: "the image is rhel 9.4, but it has no rpm database (looked for rpmdb.sqlite",
		},
		{
			name:        "a distribution nobody knows",
			fs:          distrostest.MapFS{"/etc/os-release": "ID=plan9\n"},
			unpatchable: "the image is plan9; copa/frontend patches debian, ubuntu, rhel, centos",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := inspect(context.Background(), all.Registry, tt.fs, false)
			if tt.unpatchable != "" {
				var up *unpatchable
				if !errors.As(err, &up) || !strings.Contains(err.Error(), tt.unpatchable) {
					t.Fatalf("error %v, want an unpatchable image because %q", err, tt.unpatchable)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Method.Name() != tt.method || in.Release.String() != tt.release {
				t.Errorf("method %s, release %s; want %s, %s", in.Method.Name(), in.Release, tt.method, tt.release)
			}
			if got := in.Installed.Versions(in.Format.Versioning()); !reflect.DeepEqual(got, tt.installed) {
				t.Errorf("installed %v, want %v", got, tt.installed)
			}
		})
	}
}

func TestMakePlanPhase(t *testing.T) {
	fs := distrostest.MapFS{"/etc/os-release": bookwormRelease, "/bin/sh": "", "/usr/bin/apt-get": "",
		"/var/lib/dpkg/status": stanza("libssl3", "3.0.11-1~deb12u1") + stanza("tzdata", "2024a-0+deb12u1")}
	in, err := inspect(context.Background(), all.Registry, fs, false)
	if err != nil {
		t.Fatal(err)
	}
	line := func(n int) []parser.Range {
		return []parser.Range{{Start: parser.Position{Line: n}, End: parser.Position{Line: n}}}
	}
	rep := func(path string, n int, family string, fs ...report.Finding) loadedReport {
		return loadedReport{Path: path, Location: line(n), Report: &report.Report{Family: family, Findings: fs}}
	}
	finding := func(pkg, fixed string) report.Finding {
		return report.Finding{Package: pkg, FixedVersion: fixed, VulnerabilityID: "CVE-" + pkg, Entry: "[" + pkg + "]"}
	}

	t.Run("no reports upgrades everything", func(t *testing.T) {
		p, err := makePlan(all.Registry, in, nil, true, nil)
		if err != nil || !p.Plan.All {
			t.Fatalf("plan %+v, %v", p, err)
		}
	})
	t.Run("warnings name their own report", func(t *testing.T) {
		a := rep("a.json", 2, "debian", finding("libssl3", "3.0.15-1~deb12u1"), finding("curl", "7.88.1-10+deb12u5"))
		b := rep("b.json", 5, "debian", finding("tzdata", "2025b-0+deb12u1"), finding("wget", "1.21.3-1+deb12u1"), finding("gone", ""))
		p, err := makePlan(all.Registry, in, []loadedReport{a, b}, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Plan.Names(); !reflect.DeepEqual(got, []string{"libssl3", "tzdata"}) {
			t.Errorf("updates %v", got)
		}
		want := []lineWarning{
			{Message: "REPORT a.json: 1 package(s) in the report are not installed in the image and were skipped: curl", Location: line(2)},
			{Message: "REPORT b.json: 1 package(s) in the report are not installed in the image and were skipped: wget", Location: line(5)},
		}
		if !reflect.DeepEqual(p.Warnings, want) {
			t.Errorf("warnings\n %+v\nwant %+v", p.Warnings, want)
		}
	})
	t.Run("a report of another distro is refused at its line", func(t *testing.T) {
		_, err := makePlan(all.Registry, in, []loadedReport{rep("r.json", 3, "redhat", finding("openssl", "1:3.0.7-28.el9_4"))}, false, nil)
		var le *parser.LocationError
		if !errors.As(err, &le) || le.Locations[0][0].Start.Line != 3 || !strings.Contains(err.Error(), "REPORT r.json is a scan of redhat") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("bad names are refused at the report's line", func(t *testing.T) {
		_, err := makePlan(all.Registry, in, []loadedReport{rep("r.json", 4, "debian", finding("-oAPT::Get=1", "1.0"))}, false, nil)
		var le *parser.LocationError
		if !errors.As(err, &le) || le.Locations[0][0].Start.Line != 4 || !strings.Contains(err.Error(), "report entry r.json [-oAPT::Get=1]") {
			t.Errorf("error %v", err)
		}
	})
}

func TestVerifyPhase(t *testing.T) {
	f, _, _ := all.Registry.ForFamily("debian")
	pf := f.(distros.PatchFormat)
	patched := distrostest.MapFS{"/var/lib/dpkg/status": stanza("libssl3", "3.0.15-1~deb12u1") + stanza("tzdata", "2024a-0+deb12u1")}
	want := []distros.Update{{Name: "libssl3", Fixed: "3.0.15-1~deb12u1"}, {Name: "tzdata", Fixed: "2025b-0+deb12u1"}}
	if _, err := verify(context.Background(), pf, patched, want[:1]); err != nil {
		t.Errorf("libssl3 is fixed: %v", err)
	}
	_, err := verify(context.Background(), pf, patched, want)
	if err == nil || !strings.Contains(err.Error(), "1 package(s) are still below their fixed version after the patch:\n  tzdata: 2024a-0+deb12u1 installed, want 2025b-0+deb12u1 or later") {
		t.Errorf("error %v", err)
	}
}

func TestDescribePatch(t *testing.T) {
	ups := []distros.Update{{Name: "libssl3"}, {Name: "tzdata"}}
	for _, tt := range []struct {
		all     bool
		tooling *distros.Tooling
		native  string
		want    string
	}{
		{false, nil, "", "copa/frontend: apt update of libssl3 tzdata"},
		{true, nil, "", "copa/frontend: apt upgrade of every package with an update: libssl3 tzdata"},
		{false, &distros.Tooling{Name: "debian:bookworm"}, "", "copa/frontend: apt (tooling image debian:bookworm) update of libssl3 tzdata"},
		{false, &distros.Tooling{Name: "debian:bookworm"}, "linux/amd64", "copa/frontend: apt (native on linux/amd64, tooling image debian:bookworm) update of libssl3 tzdata"},
	} {
		if got := describePatch("apt", tt.tooling, tt.native, ups, tt.all); got != tt.want {
			t.Errorf("describePatch = %q, want %q", got, tt.want)
		}
	}
}

// TestRanInThisBuild: a failed step is run again only when its failure
// may be an earlier build's, answered from the cache.
func TestRanInThisBuild(t *testing.T) {
	started := time.Date(2026, 12, 2, 15, 0, 0, 700_000_000, time.UTC)
	for _, tt := range []struct {
		name     string
		failedAt time.Time
		want     bool
	}{
		{"no date (an older step)", time.Time{}, false},
		{"an earlier build", started.Add(-time.Hour), false},
		{"the second before the build began", started.Truncate(time.Second).Add(-time.Second), false},
		{"the second the build began (in doubt: cached)", started.Truncate(time.Second), false},
		{"the second after", started.Truncate(time.Second).Add(time.Second), true},
		{"during the build", started.Add(61 * time.Second), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &builder{started: started}
			if got := b.ranInThisBuild(&distros.Outcome{FailedAt: tt.failedAt}); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
