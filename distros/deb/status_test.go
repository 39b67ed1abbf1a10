package deb_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/internal/debtest"
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
	got, err := debtest.ParseStatus([]byte(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]debtest.Package{
		// the lower of the two architectures' versions
		"libc6":  {Name: "libc6", Version: "2.36-9+deb12u3", Arch: "i386"},
		"tzdata": {Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseStatus = %#v\nwant %#v", got, want)
	}
}

func TestParseStatusMissingVersion(t *testing.T) {
	_, err := debtest.ParseStatus([]byte("Package: x1\nStatus: install ok installed\n\n"))
	if err == nil || err.Error() != "dpkg status line 1: package x1 has no Version" {
		t.Fatalf("err = %v", err)
	}
}

func TestParseStatusForms(t *testing.T) {
	// Two-letter names: dpkg refuses shorter ones, and so does the parser.
	tests := []struct {
		name     string
		data     string
		statusD  bool
		want     map[string]debtest.Package
		wantErrs string
	}{
		{
			name: "continuation lines and comments are no fields",
			data: "Package: pa\nStatus: install ok installed\nDescription: x\n Version: 9\n# Version: 8\nVersion: 1\n",
			want: map[string]debtest.Package{"pa": {Name: "pa", Version: "1"}},
		},
		{
			name: "CRLF and blank-only separators",
			data: "Package: pa\r\nStatus: hold ok installed\r\nVersion: 1\r\n\r\n \nPackage: pb\r\nStatus: install ok installed\r\nVersion: 2\r\n",
			want: map[string]debtest.Package{"pa": {Name: "pa", Version: "1"}, "pb": {Name: "pb", Version: "2"}},
		},
		{
			name: "field names in any case",
			data: "package: pa\nstatus: install ok installed\nversion: 1\narchitecture: all\n",
			want: map[string]debtest.Package{"pa": {Name: "pa", Version: "1", Arch: "all"}},
		},
		{
			name: "status file: a stanza without Status is not installed",
			data: "Package: pa\nVersion: 1\n",
			want: map[string]debtest.Package{},
		},
		{
			name:    "status.d: a stanza without Status is installed",
			data:    "Package: pa\nVersion: 1\n\nPackage: pb\nStatus: deinstall ok config-files\nVersion: 1\n",
			statusD: true,
			want:    map[string]debtest.Package{"pa": {Name: "pa", Version: "1"}},
		},
		{
			name:     "the error names the stanza's first line",
			data:     "Package: pa\nStatus: install ok installed\nVersion: 1\n\n\nPackage: pb\nStatus: install ok installed\n",
			wantErrs: "dpkg status line 6: package pb has no Version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := debtest.ParseStatus
			if tt.statusD {
				parse = debtest.ParseStatusD
			}
			got, err := parse([]byte(tt.data))
			if tt.wantErrs != "" {
				if err == nil || err.Error() != tt.wantErrs {
					t.Fatalf("err = %v, want %q", err, tt.wantErrs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseInstalledRecords(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		statusD bool
		want    distros.Packages
	}{
		{
			name: "one record per architecture, in file order",
			data: statusSample,
			want: distros.Packages{
				{Name: "libc6", Arch: "amd64", Version: "2.36-9+deb12u4"},
				{Name: "libc6", Arch: "i386", Version: "2.36-9+deb12u3"},
				{Name: "tzdata", Arch: "all", Version: "2024a-0+deb12u1"},
			},
		},
		{
			name: "Source without and with its version; naming the package itself",
			data: "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\n" +
				"Package: libpcre2-8-0\nStatus: install ok installed\nSource: pcre2 (10.42-1)\nVersion: 10.42-1+b1\nArchitecture: amd64\n\n" +
				"Package: dash\nStatus: install ok installed\nSource: dash\nVersion: 0.5.12-2\nArchitecture: amd64\n",
			want: distros.Packages{
				{Name: "libssl3", Arch: "amd64", Version: "3.0.15-1~deb12u1", Source: "openssl"},
				{Name: "libpcre2-8-0", Arch: "amd64", Version: "10.42-1+b1", Source: "pcre2"},
				{Name: "dash", Arch: "amd64", Version: "0.5.12-2"},
			},
		},
		{
			name:    "status.d control files without Status; no architecture",
			data:    "Package: base-files\nVersion: 12.4+deb12u5\n\nPackage: netbase\nSource: netbase (6.4)\nVersion: 6.4\n",
			statusD: true,
			want: distros.Packages{
				{Name: "base-files", Version: "12.4+deb12u5"},
				{Name: "netbase", Version: "6.4"},
			},
		},
		{name: "nothing installed", data: "Package: x\nStatus: purge ok not-installed\nVersion: 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := deb.ParseInstalled
			if tt.statusD {
				parse = deb.ParseInstalledD
			}
			got, err := parse([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestParseInstalledRejectsWhatIsNoPackage feeds database stanzas a
// hostile image could hold: a name or version that would be an option or
// several words to the package manager, and an architecture that is a
// path. Each must be refused, naming its line, not passed on.
func TestParseInstalledRejectsWhatIsNoPackage(t *testing.T) {
	for _, tt := range []struct{ name, stanza, want string }{
		{"option name", "Package: -oAPT::Get::Assume-Yes=1\nVersion: 1.0\n", "is not a Debian package name"},
		{"two words", "Package: libc6 -odir=/x\nVersion: 1.0\n", "is not a Debian package name"},
		{"upper case", "Package: LibC6\nVersion: 1.0\n", "is not a Debian package name"},
		{"version option", "Package: libc6\nVersion: --reinstall\n", "is not a Debian version"},
		{"version words", "Package: libc6\nVersion: 1.0 libevil\n", "is not a Debian version"},
		{"path arch", "Package: libc6\nArchitecture: ../../x\nVersion: 1.0\n", "is not a dpkg architecture"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deb.ParseInstalledD([]byte("\n" + tt.stanza))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "line 2") {
				t.Errorf("err = %v, want one at line 2 saying %q", err, tt.want)
			}
		})
	}
}
