package deb

import (
	"reflect"
	"testing"
)

const statusSample = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u3

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
`

func TestParseStatus(t *testing.T) {
	got, err := ParseStatus([]byte(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Package{
		// the lower of the two architectures' versions
		"libc6":  {Name: "libc6", Version: "2.36-9+deb12u3", Arch: "i386"},
		"tzdata": {Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseStatus = %#v\nwant %#v", got, want)
	}
}

func TestParseStatusMissingVersion(t *testing.T) {
	_, err := ParseStatus([]byte("Package: x1\nStatus: install ok installed\n\n"))
	if err == nil || err.Error() != "dpkg status line 3: package x1 has no Version" {
		t.Fatalf("err = %v", err)
	}
}
