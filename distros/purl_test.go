package distros_test

import (
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
)

// TestPackageURLs writes each format's package URLs as Trivy writes them
// (shared/fixtures/reports/SCHEMA.md 1.5), so VEX statements match scans.
func TestPackageURLs(t *testing.T) {
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	armv7 := ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	tests := []struct {
		osr      distros.OSRelease
		platform ocispecs.Platform
		pkg      distros.Package
		want     string
	}{
		{distros.OSRelease{ID: "debian", VersionID: "12"}, amd64, distros.Package{Name: "perl-base", Version: "5.36.0-7+deb12u4", Arch: "amd64"},
			"pkg:deb/debian/perl-base@5.36.0-7%2Bdeb12u4?arch=amd64&distro=debian-12"},
		// An arch-all package keeps its own architecture; one the database
		// does not describe gets the image's, in dpkg's words.
		{distros.OSRelease{ID: "debian", VersionID: "12"}, amd64, distros.Package{Name: "tzdata", Version: "2025b-0+deb12u1", Arch: "all"},
			"pkg:deb/debian/tzdata@2025b-0%2Bdeb12u1?arch=all&distro=debian-12"},
		{distros.OSRelease{ID: "ubuntu", VersionID: "22.04"}, armv7, distros.Package{Name: "libc6", Version: "2.35-0ubuntu3.8"},
			"pkg:deb/ubuntu/libc6@2.35-0ubuntu3.8?arch=armhf&distro=ubuntu-22.04"},
		{distros.OSRelease{ID: "raspbian", IDLike: []string{"debian"}, VersionID: "12"}, armv7, distros.Package{Name: "libc6", Version: "2.36-9", Arch: "armhf"},
			"pkg:deb/debian/libc6@2.36-9?arch=armhf&distro=debian-12"},
		// The epoch is a qualifier, not part of the version.
		{distros.OSRelease{ID: "rocky", VersionID: "8.5"}, amd64, distros.Package{Name: "openssl-libs", Version: "1:1.1.1k-4.el8", Arch: "x86_64"},
			"pkg:rpm/rocky/openssl-libs@1.1.1k-4.el8?arch=x86_64&distro=rocky-8.5&epoch=1"},
		{distros.OSRelease{ID: "rhel", VersionID: "9.4"}, amd64, distros.Package{Name: "bash", Version: "0:5.1.8-9.el9", Arch: "x86_64"},
			"pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64&distro=redhat-9.4"},
		{distros.OSRelease{ID: "sles", VersionID: "15.6"}, amd64, distros.Package{Name: "libz1", Version: "1.2.13-150500.4.3.1", Arch: "x86_64"},
			"pkg:rpm/suse/libz1@1.2.13-150500.4.3.1?arch=x86_64&distro=suse-15.6"},
		// apk's distro qualifier is the release alone.
		{distros.OSRelease{ID: "alpine", VersionID: "3.19.1"}, amd64, distros.Package{Name: "busybox", Version: "1.36.1-r15", Arch: "x86_64"},
			"pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1"},
	}
	for _, tt := range tests {
		f, _, ok := all.Registry.ForOS(tt.osr)
		if !ok {
			t.Fatalf("no format for %s", tt.osr)
		}
		if got := f.PackageURL(distros.PURLTarget{OS: tt.osr, Platform: tt.platform}, tt.pkg); got != tt.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tt.osr, tt.pkg.Name, got, tt.want)
		}
	}
}
