package frontend

import (
	"slices"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/frontend/report"
)

func TestReportsFor(t *testing.T) {
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	armv7 := ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	rep := func(path, bound, arch string) loadedReport {
		return loadedReport{Path: path, Platform: bound, Report: &report.Report{Arch: arch}}
	}
	tests := []struct {
		name    string
		reports []loadedReport
		p       ocispecs.Platform
		want    []string
	}{
		{"unbound, same arch", []loadedReport{rep("a.json", "", "amd64")}, amd64, []string{"a.json"}},
		{"unbound, arch unknown", []loadedReport{rep("a.json", "", "")}, arm64, []string{"a.json"}},
		{"bound reports pick their platform", []loadedReport{rep("amd.json", "linux/amd64", "amd64"), rep("arm.json", "linux/arm64", "arm64")}, arm64, []string{"arm.json"}},
		{"variant from the report", []loadedReport{rep("v7.json", "", "arm/v7")}, armv7, []string{"v7.json"}},
		{"unbound reports apply by their arch", []loadedReport{rep("amd.json", "", "amd64"), rep("arm.json", "", "arm64")}, arm64, []string{"arm.json"}},
		{"unbound report of another arch", []loadedReport{rep("amd.json", "", "amd64")}, arm64, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &builder{reports: tt.reports}
			var paths []string
			for _, r := range b.reportsFor(tt.p) {
				paths = append(paths, r.Path)
			}
			if !slices.Equal(paths, tt.want) {
				t.Errorf("reports = %q, want %q", paths, tt.want)
			}
		})
	}
}

func TestCheckReportPlatforms(t *testing.T) {
	amd64 := sourcePlatform{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	arm64 := sourcePlatform{Platform: ocispecs.Platform{OS: "linux", Architecture: "arm64"}}
	rep := func(path, bound, arch string) loadedReport {
		return loadedReport{Path: path, Platform: bound, Report: &report.Report{Arch: arch}}
	}
	tests := []struct {
		name    string
		reports []loadedReport
		jobs    []job
		err     string
	}{
		{"each report has its platform", []loadedReport{rep("amd.json", "", "amd64"), rep("arm.json", "linux/arm64", "")},
			[]job{{sp: amd64, patch: true}, {sp: arm64, patch: true}}, ""},
		{"a scan of a carried platform", []loadedReport{rep("arm.json", "", "arm64")},
			[]job{{sp: amd64, patch: true}, {sp: arm64}},
			"REPORT arm.json is a scan of linux/arm64, but the build patches linux/amd64"},
		{"bound to a platform not patched: not used", []loadedReport{rep("arm.json", "linux/arm64", "")},
			[]job{{sp: amd64, patch: true}, {sp: arm64}}, ""},
		{"bound to a platform the image lacks", []loadedReport{rep("s390x.json", "linux/s390x", "")},
			[]job{{sp: amd64, patch: true}, {sp: arm64}},
			"REPORT s390x.json is bound to linux/s390x, which img does not have (it has linux/amd64, linux/arm64)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &builder{reports: tt.reports}
			src := &source{Name: "img"}
			for _, j := range tt.jobs {
				src.Platforms = append(src.Platforms, j.sp)
			}
			err := b.checkReportPlatforms(src, tt.jobs)
			if tt.err == "" && err != nil {
				t.Fatal(err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
