package apk

import (
	"strings"
	"testing"
	"time"

	"github.com/copa/frontend/distros"
)

func TestReleaseOf(t *testing.T) {
	tests := []struct {
		name    string
		osr     distros.OSRelease
		want    string // Release.String()
		tooling string
		eol     string // "" for none
		cache   string
		err     string
	}{
		{"alpine point release", distros.OSRelease{ID: "alpine", VersionID: "3.21.3"}, "alpine 3.21", "docker.io/library/alpine:3.21", "2026-11-01", "alpine-3.21", ""},
		{"a scanner's version", distros.OSRelease{ID: "alpine", VersionID: "3.18.3"}, "alpine 3.18", "docker.io/library/alpine:3.18", "2025-05-09", "alpine-3.18", ""},
		{"branch alone", distros.OSRelease{ID: "alpine", VersionID: "3.22"}, "alpine 3.22", "docker.io/library/alpine:3.22", "2027-05-01", "alpine-3.22", ""},
		{"a branch the table lacks", distros.OSRelease{ID: "alpine", VersionID: "3.30.0"}, "alpine 3.30", "docker.io/library/alpine:3.30", "", "alpine-3.30", ""},
		{"edge", distros.OSRelease{ID: "alpine", VersionID: "3.22_alpha20250108"}, "alpine edge", "docker.io/library/alpine:edge", "", "alpine-edge", ""},
		{"wolfi is rolling", distros.OSRelease{ID: "wolfi", VersionID: "20230201"}, "wolfi", "cgr.dev/chainguard/wolfi-base:latest", "", "wolfi", ""},
		{"chainguard takes wolfi's tooling", distros.OSRelease{ID: "chainguard", VersionID: "20230214"}, "chainguard", "cgr.dev/chainguard/wolfi-base:latest", "", "chainguard", ""},
		{"minimos has no tooling image", distros.OSRelease{ID: "minimos"}, "minimos", "", "", "minimos", ""},
		{"alpine without VERSION_ID", distros.OSRelease{ID: "alpine"}, "", "", "", "", "has no VERSION_ID"},
		{"alpine with a made-up version", distros.OSRelease{ID: "alpine", VersionID: "3.21; rm -rf /"}, "", "", "", "", "not an Alpine release"},
		{"not apk", distros.OSRelease{ID: "debian", VersionID: "12"}, "", "", "", "", "not an apk distro"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReleaseOf(tt.osr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eol := ""
			if !r.EOL.IsZero() {
				eol = r.EOL.Format(time.DateOnly)
			}
			if r.String() != tt.want || r.Tooling != tt.tooling || eol != tt.eol || r.CacheKey != tt.cache {
				t.Errorf("got %q tooling %q eol %q cache %q; want %q %q %q %q", r, r.Tooling, eol, r.CacheKey, tt.want, tt.tooling, tt.eol, tt.cache)
			}
			fr, err := Format{}.Release(tt.osr)
			if err != nil || fr != r.Release {
				t.Errorf("Format.Release = %+v, %v; want %+v", fr, err, r.Release)
			}
		})
	}
}

// TestEndOfLife: the --call check rule ReleaseEndOfLife warns of a report
// of an Alpine branch past its date, and never of a rolling distro.
func TestEndOfLife(t *testing.T) {
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]bool{"3.20.1": true, "3.21.0": true, "3.22.2": false, "3.30.0": false} {
		r, err := ReleaseOf(distros.OSRelease{ID: "alpine", VersionID: v})
		if err != nil || r.EndOfLife(at) != want {
			t.Errorf("alpine %s: EndOfLife = %v (%v), want %v", v, r.EndOfLife(at), err, want)
		}
	}
	if r, _ := ReleaseOf(distros.OSRelease{ID: "wolfi", VersionID: "20230201"}); r.EndOfLife(at) {
		t.Error("wolfi is past its end of life")
	}
}
