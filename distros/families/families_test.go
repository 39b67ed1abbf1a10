package families

import (
	"testing"

	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/rpm"
)

func TestVersioningFor(t *testing.T) {
	tests := map[string]any{
		"debian": deb.Versioning{}, "ubuntu": deb.Versioning{},
		"alpine": apk.Versioning{}, "wolfi": apk.Versioning{}, "chainguard": apk.Versioning{},
		"redhat": rpm.Versioning{}, "centos": rpm.Versioning{}, "rocky": rpm.Versioning{}, "alma": rpm.Versioning{},
		"oracle": rpm.Versioning{}, "amazon": rpm.Versioning{}, "cbl-mariner": rpm.Versioning{}, "azurelinux": rpm.Versioning{},
		"photon": rpm.Versioning{}, "sles": rpm.Versioning{}, "slem": rpm.Versioning{}, "opensuse-leap": rpm.Versioning{},
		"opensuse-tumbleweed": rpm.Versioning{},
		// No OS packages, or not a Report.Family name.
		"": nil, "bottlerocket": nil, "activestate": nil, "rockylinux": nil, "opensuse.leap": nil, "Debian": nil,
	}
	for family, want := range tests {
		got, ok := VersioningFor(family)
		if want == nil {
			if ok {
				t.Errorf("VersioningFor(%q) = %T, want none", family, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("VersioningFor(%q) = %T, %v; want %T", family, got, ok, want)
		}
	}
}
