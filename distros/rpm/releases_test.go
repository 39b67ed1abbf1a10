package rpm

import (
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestReleaseOf(t *testing.T) {
	tests := []struct {
		osr                       distros.OSRelease
		name, releasever, tooling string
		eol, err                  string
	}{
		{distros.OSRelease{ID: "rhel", VersionID: "9.4"}, "9", "9", "registry.access.redhat.com/ubi9/ubi:latest", "2032-05-31", ""},
		{distros.OSRelease{ID: "rocky", VersionID: "8.10"}, "8", "8", "docker.io/rockylinux/rockylinux:8", "2029-05-31", ""},
		{distros.OSRelease{ID: "almalinux", VersionID: "9.5"}, "9", "9", "docker.io/library/almalinux:9", "2032-05-31", ""},
		{distros.OSRelease{ID: "amzn", VersionID: "2023"}, "2023", "2023", "docker.io/library/amazonlinux:2023", "2029-06-30", ""},
		{distros.OSRelease{ID: "azurelinux", VersionID: "3.0"}, "3.0", "3.0", "mcr.microsoft.com/azurelinux/base/core:3.0", "", ""},
		{distros.OSRelease{ID: "mariner", VersionID: "2.0"}, "2.0", "2.0", "mcr.microsoft.com/cbl-mariner/base/core:2.0", "2025-07-31", ""},
		{distros.OSRelease{ID: "opensuse-leap", VersionID: "15.6"}, "15.6", "15.6", "docker.io/opensuse/leap:15.6", "2025-12-31", ""},
		{distros.OSRelease{ID: "sles", VersionID: "15.6"}, "15.6", "15.6", "registry.suse.com/bci/bci-base:15.6", "", ""},
		{distros.OSRelease{ID: "opensuse-tumbleweed", VersionID: "20261130"}, "", "", "docker.io/opensuse/tumbleweed:latest", "", ""},
		// A derivative is its parent's release, by ID_LIKE.
		{distros.OSRelease{ID: "myel", IDLike: []string{"rhel", "fedora"}, VersionID: "9.2"}, "9", "9", "registry.access.redhat.com/ubi9/ubi:latest", "2032-05-31", ""},
		{distros.OSRelease{ID: "rocky"}, "", "", "", "", "no VERSION_ID"},
		{distros.OSRelease{ID: "rocky", VersionID: "9;id"}, "", "", "", "", "not a release number"},
		{distros.OSRelease{ID: "debian", VersionID: "12"}, "", "", "", "", "not an rpm distro"},
	}
	for _, tt := range tests {
		r, err := ReleaseOf(tt.osr)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.osr, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.osr, err)
			continue
		}
		eol := ""
		if !r.EOL.IsZero() {
			eol = r.EOL.Format("2006-01-02")
		}
		if r.Name != tt.name || r.ReleaseVer != tt.releasever || r.Tooling != tt.tooling || eol != tt.eol {
			t.Errorf("%s: got name %q releasever %q tooling %q eol %q; want %q %q %q %q", tt.osr, r.Name, r.ReleaseVer, r.Tooling, eol, tt.name, tt.releasever, tt.tooling, tt.eol)
		}
	}
}

func TestSourceName(t *testing.T) {
	for in, want := range map[string]string{
		"openssl-3.0.7-27.el9.src.rpm":    "openssl",
		"python3.11-3.11.7-1.el9.src.rpm": "python3.11",
		"kernel-5.14.0-1.nosrc.rpm":       "kernel",
		"":                                "",
		"garbage":                         "",
	} {
		if got := sourceName(in); got != want {
			t.Errorf("sourceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArch(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"amd64", ""}: "x86_64", {"arm64", "v8"}: "aarch64", {"386", ""}: "i686",
		{"arm", "v7"}: "armv7hl", {"ppc64le", ""}: "ppc64le", {"s390x", ""}: "s390x",
	} {
		if got := Arch(in[0], in[1]); got != want {
			t.Errorf("Arch(%v) = %q, want %q", in, got, want)
		}
	}
}
