package deb

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestDetectLayoutAndFamily(t *testing.T) {
	const status = "Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\n\n"
	bookworm := distros.OSRelease{ID: "debian", VersionID: "12", VersionCodename: "bookworm"}
	tests := []struct {
		name    string
		fs      mapFS
		osr     distros.OSRelease
		layout  Layout
		family  string // "" when neither family takes the image
		install map[string]string
	}{
		{
			name:    "full Debian image",
			fs:      mapFS{StatusPath: status, shellPath: "x", aptGetPath: "x"},
			layout:  LayoutApt,
			family:  "apt",
			install: map[string]string{"dash": "0.5.12-2"},
		},
		{
			name:    "apt removed",
			fs:      mapFS{StatusPath: status, shellPath: ""},
			layout:  LayoutStatus,
			family:  "dpkg",
			install: map[string]string{"dash": "0.5.12-2"},
		},
		{
			name:    "apt but no shell",
			fs:      mapFS{StatusPath: status, aptGetPath: ""},
			layout:  LayoutStatus,
			family:  "dpkg",
			install: map[string]string{"dash": "0.5.12-2"},
		},
		{
			name: "distroless status.d, control files without Status",
			fs: mapFS{
				StatusDir + "/libc6":          "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n",
				StatusDir + "/libc6.md5sums":  "0123  usr/lib/x86_64-linux-gnu/libc.so.6\n",
				StatusDir + "/base":           "Package: base-files\nVersion: 12.4+deb12u5\n\nPackage: netbase\nVersion: 6.4\n",
				StatusDir + "/tzdata.md5sums": "",
			},
			layout:  LayoutStatusD,
			family:  "dpkg",
			install: map[string]string{"libc6": "2.36-9+deb12u4", "base-files": "12.4+deb12u5", "netbase": "6.4"},
		},
		{
			name:    "empty status falls back to status.d",
			fs:      mapFS{StatusPath: "\n", StatusDir + "/zlib1g": "Package: zlib1g\nVersion: 1:1.2.13.dfsg-1\n"},
			layout:  LayoutStatusD,
			family:  "dpkg",
			install: map[string]string{"zlib1g": "1:1.2.13.dfsg-1"},
		},
		{
			name: "status and status.d, no apt: status wins, as in the install step",
			fs: mapFS{StatusPath: status, shellPath: "",
				StatusDir + "/dash": "Package: dash\nVersion: 0.5.11-1\n"},
			layout:  LayoutStatus,
			family:  "dpkg",
			install: map[string]string{"dash": "0.5.12-2"},
		},
		{
			name:   "empty status, status.d of md5sums only",
			fs:     mapFS{StatusPath: " \n", StatusDir + "/x.md5sums": ""},
			layout: LayoutNone,
		},
		{
			name:   "no database",
			fs:     mapFS{shellPath: ""},
			layout: LayoutNone,
		},
		{
			name:   "not Debian",
			fs:     mapFS{StatusPath: status},
			osr:    distros.OSRelease{ID: "alpine", VersionID: "3.20.0"},
			layout: LayoutStatus,
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			osr := tt.osr
			if osr.ID == "" {
				osr = bookworm
			}
			l, err := DetectLayout(ctx, tt.fs)
			if err != nil {
				t.Fatal(err)
			}
			if l != tt.layout {
				t.Errorf("layout %v, want %v", l, tt.layout)
			}
			reg := distros.MustRegistry(distros.Entries{Formats: []distros.Format{Format{}}, Methods: []distros.Method{Apt{}, Tooling{}}})
			var got string
			if m, err := reg.Detect(ctx, tt.fs, osr, false); err == nil {
				got = m.Name()
			} else if tt.family != "" {
				t.Fatal(err)
			}
			if got != tt.family {
				t.Errorf("method %q, want %q", got, tt.family)
			}
			// Natively, the tooling method takes every image whose
			// database it reads, the apt ones too.
			var native string
			if m, err := reg.Detect(ctx, tt.fs, osr, true); err == nil {
				native = m.Name()
			}
			if want := map[bool]string{true: "dpkg"}[tt.family != ""]; native != want {
				t.Errorf("native method %q, want %q", native, want)
			}
			if tt.family != "" {
				inst, err := Format{}.Installed(ctx, tt.fs)
				if err != nil {
					t.Fatal(err)
				}
				if got := inst.Versions(Versioning{}); !maps.Equal(got, tt.install) {
					t.Errorf("installed %v, want %v", got, tt.install)
				}
			}
		})
	}
}

func TestToolingChoiceAndCheck(t *testing.T) {
	ctx := context.Background()
	bookworm := distros.OSRelease{ID: "debian", VersionCodename: "bookworm"}
	jammy := distros.OSRelease{ID: "ubuntu", VersionCodename: "jammy"}
	for _, c := range []struct {
		osr  distros.OSRelease
		want string
	}{
		{bookworm, "docker.io/library/debian:bookworm"},
		{jammy, "docker.io/library/ubuntu:jammy"},
		{distros.OSRelease{ID: "debian", VersionCodename: "zzz"}, "docker.io/library/debian:zzz"}, // not in the table: the distro's default
		{distros.OSRelease{ID: "debian"}, ""},                                                     // no codename: TOOLING must name one
	} {
		rel, err := Format{}.Release(c.osr)
		if err != nil || rel.Tooling != c.want {
			t.Errorf("Release(%v).Tooling = %q, %v; want %q", c.osr, rel.Tooling, err, c.want)
		}
	}

	full := mapFS{shellPath: "", aptGetPath: "", "/usr/bin/apt-cache": "", "/usr/bin/dpkg-deb": ""}
	tests := []struct {
		name    string
		fs      mapFS
		tooling distros.OSRelease
		err     string
	}{
		{name: "same release", fs: full, tooling: bookworm},
		{name: "other release", fs: full, tooling: distros.OSRelease{ID: "debian", VersionCodename: "trixie"}, err: "the tooling image is debian trixie but the image is debian bookworm: use a tooling image of the same release"},
		{name: "other distro", fs: full, tooling: jammy, err: "the tooling image is ubuntu jammy but the image is debian bookworm"},
		{name: "no apt", fs: mapFS{shellPath: "", "/usr/bin/dpkg-deb": ""}, tooling: bookworm, err: "the tooling image lacks /usr/bin/apt-get, /usr/bin/apt-cache: it needs a shell, apt and dpkg-deb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Tooling{}.CheckTooling(ctx, tt.fs, tt.tooling, bookworm)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}

func TestReadInstalled(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		fs       mapFS
		want     distros.Packages
		versions map[string]string
	}{
		{
			name: "status: multi-arch records, sorted",
			fs: mapFS{StatusPath: "Package: zlib1g\nStatus: install ok installed\nArchitecture: i386\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n" +
				"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-2\n\n" +
				"Package: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.12-2\n"},
			want: distros.Packages{
				{Name: "dash", Arch: "amd64", Version: "0.5.12-2"},
				{Name: "zlib1g", Arch: "amd64", Version: "1:1.2.13.dfsg-2", Source: "zlib"},
				{Name: "zlib1g", Arch: "i386", Version: "1:1.2.13.dfsg-1", Source: "zlib"},
			},
			versions: map[string]string{"dash": "0.5.12-2", "zlib1g": "1:1.2.13.dfsg-1"},
		},
		{
			name: "status.d: every file's records",
			fs: mapFS{
				StatusDir + "/libc6":         "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nSource: glibc\n",
				StatusDir + "/libc6.md5sums": "0123  usr/lib/x86_64-linux-gnu/libc.so.6\n",
				StatusDir + "/libc6-i386":    "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: i386\nSource: glibc\n",
			},
			want: distros.Packages{
				{Name: "libc6", Arch: "amd64", Version: "2.36-9+deb12u4", Source: "glibc"},
				{Name: "libc6", Arch: "i386", Version: "2.36-9+deb12u4", Source: "glibc"},
			},
			versions: map[string]string{"libc6": "2.36-9+deb12u4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadInstalled(ctx, tt.fs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ReadInstalled =\n%#v\nwant\n%#v", got, tt.want)
			}
			v, err := InstalledVersions(ctx, tt.fs)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(v, tt.versions) {
				t.Errorf("InstalledVersions = %v, want %v", v, tt.versions)
			}
		})
	}
	if _, err := ReadInstalled(ctx, mapFS{shellPath: ""}); err == nil || !strings.Contains(err.Error(), "no dpkg database") {
		t.Errorf("no database: err = %v", err)
	}
}
