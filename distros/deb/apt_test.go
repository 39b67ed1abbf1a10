package deb

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// epoch is a build's SOURCE_DATE_EPOCH.
var epoch = time.Unix(1764028800, 0)

type mapFS = distrostest.MapFS

// TestAptStepGolden pins the apt step: its arguments (the plan as
// NAME=VERSION words after a fixed script), environment, user and mounts.
func TestAptStepGolden(t *testing.T) {
	tests := []struct {
		name    string
		fs      mapFS
		plan    *distros.Plan
		policy  distros.Policy
		helper  bool
		epoch   *time.Time
		sources *distros.Sources
	}{
		{
			name: "report-bookworm-full-sources",
			fs: mapFS{SourcesPartDir + "/debian.sources": "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
				"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n"},
			plan: &distros.Plan{Updates: []distros.Update{
				{Name: "libpcre2-8-0", Fixed: "10.42-1+deb12u2"},
				{Name: "perl-base", Fixed: "5.36.0-7+deb12u4"},
			}},
			policy: distros.PolicyFail,
			helper: true,
			epoch:  &epoch,
		},
		{
			name:   "report-bookworm-debootstrap-sources",
			fs:     mapFS{SourcesList: "deb http://deb.debian.org/debian bookworm main\n"},
			plan:   &distros.Plan{Updates: []distros.Update{{Name: "apt", Fixed: "2.6.2"}}},
			policy: distros.PolicyWarn,
		},
		{
			name:   "all",
			fs:     mapFS{SourcesList: "deb http://deb.debian.org/debian bookworm main\n"},
			plan:   &distros.Plan{All: true},
			policy: distros.PolicyFail,
		},
		// SOURCES --only --keep mirror.list: the image's sources are
		// replaced, nothing official is added, the result keeps the file.
		{
			name:    "sources-only-keep",
			fs:      mapFS{SourcesList: "deb http://127.0.0.1:9/debian bookworm main\n"},
			plan:    &distros.Plan{Updates: []distros.Update{{Name: "apt", Fixed: "2.6.2"}}},
			policy:  distros.PolicyFail,
			sources: &distros.Sources{Name: "mirror.list", Data: []byte("deb http://mirror.example/debian bookworm main\n"), Only: true, Keep: true},
		},
		// SOURCES --add: the release's missing suites are still added.
		{
			name:    "sources-add",
			fs:      mapFS{SourcesList: "deb http://deb.debian.org/debian bookworm main\n"},
			plan:    &distros.Plan{Updates: []distros.Update{{Name: "apt", Fixed: "2.6.2"}}},
			policy:  distros.PolicyFail,
			sources: &distros.Sources{Name: "extra.sources", Data: []byte("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-updates\nComponents: main\n"), Add: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var helper *llb.State
			if tt.helper {
				h := llb.Image("localhost:5000/copa/frontend:dev")
				helper = &h
			}
			p, err := Apt{}.Patch(context.Background(), tt.fs, distros.PatchRequest{
				Helper:          helper,
				KeepUnchanged:   tt.helper,
				Image:           llb.Image("localhost:5000/copa-test/debian:12-stale"),
				OS:              distros.OSRelease{ID: "debian", VersionID: "12", VersionCodename: "bookworm"},
				Platform:        ocispecs.Platform{OS: "linux", Architecture: "amd64"},
				Plan:            tt.plan,
				Policy:          tt.policy,
				SourceDateEpoch: tt.epoch,
				Sources:         tt.sources,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "apt-step-"+tt.name, renderExec(t, p.Root))
		})
	}
}

// TestToolingStepGolden pins the tooling step the same way: it runs in the
// tooling image, with the image to patch mounted as its output.
func TestToolingStepGolden(t *testing.T) {
	distroless := mapFS{
		StatusDir + "/libc6":          "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n",
		StatusDir + "/libc6.md5sums":  "0123 usr/lib/x86_64-linux-gnu/libc.so.6\n",
		StatusDir + "/libpcre2-8-0":   "Package: libpcre2-8-0\nVersion: 10.42-1\nArchitecture: amd64\n",
		StatusDir + "/tzdata":         "Package: tzdata\nVersion: 2026b-0+deb12u1\nArchitecture: all\n",
		StatusDir + "/tzdata.md5sums": "",
		"/usr/lib/os-release":         "ID=debian\n",
	}
	tooling := mapFS{SourcesPartDir + "/debian.sources": "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"}
	report := &distros.Plan{Updates: []distros.Update{{Name: "libpcre2-8-0", Fixed: "10.42-1+deb12u2"}, {Name: "tzdata", Fixed: "2026f-0+deb12u1"}}}
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	tests := []struct {
		name     string
		plan     *distros.Plan
		platform ocispecs.Platform
		native   bool
		epoch    *time.Time
	}{
		{name: "report", plan: report, platform: amd64, epoch: &epoch},
		{name: "all", plan: &distros.Plan{All: true}, platform: amd64},
		// arm64 patched on the build platform: apt fetches arm64 packages.
		{name: "native-arm64", plan: report, platform: ocispecs.Platform{OS: "linux", Architecture: "arm64"}, native: true},
	}
	installed, err := ReadInstalled(context.Background(), distroless)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			helper := llb.Image("localhost:5000/copa/frontend:dev")
			p, err := Tooling{}.Patch(context.Background(), distroless, distros.PatchRequest{
				Helper:          &helper,
				Tooling:         &distros.Tooling{Name: "debian:bookworm", State: llb.Image("localhost:5000/copa-test/debian:bookworm"), FS: tooling},
				Image:           llb.Image("localhost:5000/copa-test/distroless:12-stale"),
				OS:              distros.OSRelease{ID: "debian", VersionID: "12", VersionCodename: "bookworm"},
				Platform:        tt.platform,
				Native:          tt.native,
				Plan:            tt.plan,
				Installed:       installed,
				Policy:          distros.PolicyFail,
				SourceDateEpoch: tt.epoch,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "tooling-step-"+tt.name, renderExec(t, p.Root))
		})
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	distrostest.CheckGolden(t, "./distros/deb", name, got, *update)
}

func renderExec(t *testing.T, st llb.State) string {
	t.Helper()
	return distrostest.RenderExec(t, st, "/debconf.conf")
}

// TestSourcesKey: shared caches are per set of sources, whatever order
// the files were read in, and sources that differ in a file's name, its
// content or the suites added to them get caches of their own.
func TestSourcesKey(t *testing.T) {
	full := map[string][]byte{SourcesPartDir + "/debian.sources": []byte("Types: deb\nSuites: bookworm bookworm-security\n"), SourcesList: []byte("")}
	same := map[string][]byte{SourcesList: []byte(""), SourcesPartDir + "/debian.sources": []byte("Types: deb\nSuites: bookworm bookworm-security\n")}
	if sourcesKey(full, "") != sourcesKey(same, "") {
		t.Error("the same sources got two keys")
	}
	others := []map[string][]byte{
		{SourcesPartDir + "/debian.sources": []byte("Types: deb\nSuites: bookworm\n"), SourcesList: []byte("")},
		{SourcesPartDir + "/other.sources": []byte("Types: deb\nSuites: bookworm bookworm-security\n"), SourcesList: []byte("")},
		{SourcesPartDir + "/debian.sources": []byte("Types: deb\nSuites: bookworm bookworm-security\n")},
	}
	for i, o := range others {
		if sourcesKey(o, "") == sourcesKey(full, "") {
			t.Errorf("sources %d share the key of other sources", i)
		}
	}
	if sourcesKey(full, "deb http://deb.debian.org/debian bookworm-updates main\n") == sourcesKey(full, "") {
		t.Error("the added suites do not change the key")
	}
}
