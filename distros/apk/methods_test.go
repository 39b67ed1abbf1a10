package apk

import (
	"context"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

type mapFS = distrostest.MapFS

var (
	alpine321 = distros.OSRelease{ID: "alpine", VersionID: "3.21.3"}
	wolfi     = distros.OSRelease{ID: "wolfi", VersionID: "20230201"}
)

// TestDetect runs both methods' detection, in the order the registry is
// to try them, on the layouts they must tell apart, and the tooling
// method's native detection.
func TestDetect(t *testing.T) {
	ctx := context.Background()
	db := InstalledPath
	tests := []struct {
		name   string
		fs     mapFS
		want   string // the first method that detects it: "apk", "tooling" or ""
		native bool   // whether Tooling.DetectNative takes it
	}{
		{"alpine", mapFS{db: "", "/bin/sh": "", "/sbin/apk": ""}, "apk", true},
		{"apk in /usr/bin", mapFS{db: "", "/bin/sh": "", "/usr/bin/apk": ""}, "apk", true},
		{"wolfi distroless", mapFS{db: "", "/usr/bin/python3": ""}, "tooling", true},
		{"alpine without apk", mapFS{db: "", "/bin/sh": ""}, "tooling", true},
		{"apk without a shell", mapFS{db: "", "/sbin/apk": ""}, "tooling", true},
		{"no database", mapFS{"/bin/sh": "", "/sbin/apk": ""}, "", false},
	}
	for _, tt := range tests {
		got := ""
		for _, m := range []struct {
			name string
			m    distros.Method
		}{{"apk", InImage{}}, {"tooling", Tooling{}}} {
			ok, err := m.m.Detect(ctx, tt.fs, alpine321)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if ok {
				got = m.name
				break
			}
		}
		native, err := Tooling{}.DetectNative(ctx, tt.fs, alpine321)
		if got != tt.want || native != tt.native || err != nil {
			t.Errorf("%s: detected %q, native %v (%v); want %q, %v", tt.name, got, native, err, tt.want, tt.native)
		}
	}
}

func TestCheckTooling(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		tooling   mapFS
		toolingOS distros.OSRelease
		osr       distros.OSRelease
		err       string
	}{
		{"alpine for alpine", mapFS{"/bin/sh": "", "/sbin/apk": ""}, alpine321, alpine321, ""},
		// apk --root takes the repositories, keys and arch from the image:
		// another branch's apk serves.
		{"another branch", mapFS{"/bin/sh": "", "/sbin/apk": ""}, distros.OSRelease{ID: "alpine", VersionID: "3.22.1"}, alpine321, ""},
		{"wolfi-base for chainguard", mapFS{"/bin/sh": "", "/usr/bin/apk": ""}, wolfi, distros.OSRelease{ID: "chainguard"}, ""},
		{"not apk", mapFS{"/bin/sh": "", "/sbin/apk": ""}, distros.OSRelease{ID: "debian", VersionID: "12"}, alpine321, "not an apk distro: use an image with apk, e.g. docker.io/library/alpine:3.21"},
		{"no apk", mapFS{"/bin/sh": ""}, wolfi, wolfi, "lacks apk (/sbin/apk"},
		{"no shell", mapFS{"/sbin/apk": ""}, alpine321, alpine321, "lacks /bin/sh: it needs a shell and apk"},
	}
	for _, tt := range tests {
		err := Tooling{}.CheckTooling(ctx, tt.tooling, tt.toolingOS, tt.osr)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
		}
	}
}

func TestArch(t *testing.T) {
	for _, tt := range []struct{ arch, variant, want string }{
		{"amd64", "", "x86_64"}, {"arm64", "v8", "aarch64"}, {"arm", "v7", "armv7"}, {"arm", "v6", "armhf"},
		{"386", "", "x86"}, {"ppc64le", "", "ppc64le"}, {"s390x", "", "s390x"}, {"riscv64", "", "riscv64"}, {"loong64", "", "loongarch64"},
	} {
		if got := Arch(tt.arch, tt.variant); got != tt.want {
			t.Errorf("Arch(%s, %s) = %s, want %s", tt.arch, tt.variant, got, tt.want)
		}
	}
}
