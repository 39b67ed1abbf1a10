package frontend

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/frontend/patchfile"
	"github.com/copa/frontend/frontend/report"
)

// The image rules on in-memory images: which fire, on which platforms,
// and what they read.
func TestImageRules(t *testing.T) {
	status := stanza("libssl3", "3.0.11-1~deb12u1") + stanza("tzdata", "2024a-0+deb12u1")
	aptImage := distrostest.MapFS{"/etc/os-release": bookwormRelease, "/var/lib/dpkg/status": status, "/bin/sh": "", "/usr/bin/apt-get": ""}
	distroless := distrostest.MapFS{"/usr/lib/os-release": bookwormRelease, "/var/lib/dpkg/status.d/tzdata": "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"}
	alpine := distrostest.MapFS{"/etc/os-release": "ID=alpine\nVERSION_ID=3.21.0\n"}
	noOSRelease := distrostest.MapFS{"/var/lib/dpkg/status": status}

	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	line := func(n int) []parser.Range {
		return []parser.Range{{Start: parser.Position{Line: n}, End: parser.Position{Line: n}}}
	}
	rep := func(path string, n int, family, version string, pkgs ...string) loadedReport {
		r := &report.Report{Family: family, OSVersion: version}
		for _, p := range pkgs {
			r.Findings = append(r.Findings, report.Finding{Package: p, FixedVersion: "9:9", VulnerabilityID: "CVE-" + p})
		}
		return loadedReport{Path: path, Location: line(n), Report: r}
	}
	// plat is a platform of the image, with the reports (by index) that
	// apply to it.
	type plat struct {
		p       ocispecs.Platform
		fs      distrostest.MapFS
		native  bool
		reports []int
	}
	type want struct {
		rule   string
		line   int
		detail string
	}
	tests := []struct {
		name    string
		reports []loadedReport
		tooling bool
		plats   []plat
		want    []want
		// opened is how many platforms' files were read.
		opened int32
	}{
		{
			name:    "a report of the image: nothing",
			reports: []loadedReport{rep("r.json", 2, "debian", "12.5", "curl", "tzdata")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}},
			opened:  1,
		},
		{
			name:   "no report and no TOOLING: nothing is read",
			plats:  []plat{{p: amd64, fs: aptImage}, {p: arm64, fs: aptImage}},
			opened: 0,
		},
		{
			name:    "a report without an OS or findings: nothing is read",
			reports: []loadedReport{rep("empty.json", 2, "", "")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}},
			opened:  0,
		},
		{
			name:    "a report of another OS family",
			reports: []loadedReport{rep("rhel.json", 3, "redhat", "9.4", "openssl")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}},
			want:    []want{{"ReportForOtherOS", 3, "REPORT rhel.json is a scan of redhat 9.4, but img on linux/amd64 is debian 12 (bookworm): scan this image and report that"}},
			opened:  1,
		},
		{
			name:    "another OS family on two platforms is one finding",
			reports: []loadedReport{rep("alpine.json", 2, "alpine", "3.21.0", "busybox")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}, {p: arm64, fs: distroless, reports: []int{0}}},
			want:    []want{{"ReportForOtherOS", 2, "REPORT alpine.json is a scan of alpine 3.21.0, but img on linux/amd64, linux/arm64 is debian 12 (bookworm): scan this image and report that"}},
			opened:  2,
		},
		{
			name:    "an image no method patches is still of its OS",
			reports: []loadedReport{rep("deb.json", 2, "debian", "12.5", "tzdata")},
			tooling: true,
			plats:   []plat{{p: amd64, fs: alpine, reports: []int{0}}},
			want:    []want{{"ReportForOtherOS", 2, "REPORT deb.json is a scan of debian 12.5, but img on linux/amd64 is alpine 3.21.0: scan this image and report that"}},
			opened:  1,
		},
		{
			name:    "a report naming nothing the image has",
			reports: []loadedReport{rep("other.json", 4, "debian", "12.5", "curl", "wget", "curl")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}},
			want:    []want{{"ReportNothingInstalled", 4, "REPORT other.json names 2 package(s) (curl, wget), none of which img on linux/amd64 has installed: it is likely a scan of another image"}},
			opened:  1,
		},
		{
			name:    "nothing installed on one platform only",
			reports: []loadedReport{rep("libssl.json", 2, "debian", "12.5", "libssl3")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}, {p: arm64, fs: distroless, reports: []int{0}}},
			want:    []want{{"ReportNothingInstalled", 2, "REPORT libssl.json names 1 package(s) (libssl3), none of which img on linux/arm64 has installed: it is likely a scan of another image"}},
			opened:  2,
		},
		{
			name:    "a report bound to the other platform is not judged here",
			reports: []loadedReport{rep("arm.json", 2, "debian", "12.5", "libssl3")},
			plats:   []plat{{p: amd64, fs: aptImage, reports: []int{0}}, {p: arm64, fs: distroless}},
			opened:  1,
		},
		{
			name:    "TOOLING for an image with apt",
			tooling: true,
			plats:   []plat{{p: amd64, fs: aptImage}},
			want:    []want{{"UnusedTooling", 5, "TOOLING tools:12 is not used: img is patched inside the image itself, by apt on linux/amd64; a tooling image patches only images without their package manager, or with PATCH --native"}},
			opened:  1,
		},
		{
			name:    "TOOLING unused on every platform is one finding",
			tooling: true,
			plats:   []plat{{p: amd64, fs: aptImage}, {p: arm64, fs: aptImage}},
			want:    []want{{"UnusedTooling", 5, "TOOLING tools:12 is not used: img is patched inside the image itself, by apt on linux/amd64, linux/arm64; a tooling image patches only images without their package manager, or with PATCH --native"}},
			opened:  2,
		},
		{
			name:    "TOOLING for an image without apt",
			tooling: true,
			plats:   []plat{{p: amd64, fs: distroless}},
			opened:  1,
		},
		{
			name:    "TOOLING used on one platform is used",
			tooling: true,
			plats:   []plat{{p: amd64, fs: aptImage}, {p: arm64, fs: distroless}},
			opened:  2,
		},
		{
			name:    "TOOLING for a native patch",
			tooling: true,
			plats:   []plat{{p: amd64, fs: aptImage, native: true}},
			opened:  1,
		},
		{
			name:    "an image without os-release is left to the build",
			reports: []loadedReport{rep("r.json", 2, "debian", "12.5", "curl")},
			tooling: true,
			plats:   []plat{{p: amd64, fs: noOSRelease, reports: []int{0}}},
			opened:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &builder{reg: all.Registry, reports: tt.reports, pf: &patchfile.Patchfile{}}
			if tt.tooling {
				b.pf.Tooling = patchfile.Instruction[string]{Value: "tools:12", Location: line(5)}
			}
			var opened atomic.Int32
			var checks []platformCheck
			for _, p := range tt.plats {
				fs := p.fs
				open := func(context.Context) (distros.FS, error) {
					opened.Add(1)
					return fs, nil
				}
				checks = append(checks, platformCheck{platform: p.p, view: newImageView(all.Registry, p.native, open), reports: p.reports})
			}
			fs, err := b.imageFindings(context.Background(), "img", checks)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, f := range fs {
				got = append(got, want{f.rule.Name, f.location[0].Start.Line, f.detail})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings\n %+v\nwant %+v", got, tt.want)
			}
			if n := opened.Load(); n != tt.opened {
				t.Errorf("read the files of %d platform(s), want %d", n, tt.opened)
			}
		})
	}
}

// A fault reading the image fails the check; an image no method patches
// does not.
func TestImageRulesFault(t *testing.T) {
	b := &builder{reg: all.Registry, reports: []loadedReport{{Path: "r.json", Report: &report.Report{Family: "debian"}}}, pf: &patchfile.Patchfile{}}
	open := func(context.Context) (distros.FS, error) { return nil, errors.New("the daemon is gone") }
	_, err := b.imageFindings(context.Background(), "img", []platformCheck{{platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}, view: newImageView(all.Registry, false, open), reports: []int{0}}})
	if err == nil || !strings.Contains(err.Error(), "the daemon is gone") {
		t.Errorf("error %v", err)
	}
}
