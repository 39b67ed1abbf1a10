package rpm

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

var update = flag.Bool("update", false, "rewrite golden files")

type mapFS = distrostest.MapFS

var (
	el9 = distros.OSRelease{ID: "rocky", IDLike: []string{"rhel", "centos", "fedora"}, VersionID: "9.4"}
	// epoch is a build's SOURCE_DATE_EPOCH.
	epoch  = time.Unix(1764028800, 0)
	amd64  = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	report = &distros.Plan{Updates: []distros.Update{
		{Name: "copa-libcore", Fixed: "1:1.1-1"},
		{Name: "copa-tool", Fixed: "2.0-2"},
	}}
)

func helperState() *llb.State {
	h := llb.Image("localhost:5000/copa/frontend:dev")
	return &h
}

// TestInImageStepGolden pins the step of each manager in the image: its
// arguments, environment, mounts and the plan file.
func TestInImageStepGolden(t *testing.T) {
	image := func(bin string) mapFS {
		return mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": "", bin: "", "/var/log/dnf.log": "", "/var/tmp/.keep": ""}
	}
	tests := []struct {
		name    string
		manager Manager
		fs      mapFS
		plan    *distros.Plan
		policy  distros.Policy
		keep    bool
		epoch   *time.Time
		proxy   *llb.ProxyEnv
		sources *distros.Sources
	}{
		{"dnf-report", DNF, image("/usr/bin/dnf"), report, distros.PolicyFail, true, &epoch, nil, nil},
		// SOURCES --add --keep mirror.repo: the file is an input, the
		// step is told what to do with it.
		{"dnf-report-sources", DNF, image("/usr/bin/dnf"), report, distros.PolicyFail, true, nil, nil, &distros.Sources{Name: "mirror.repo", Data: []byte("[mirror]\nbaseurl=https://satellite.example/el9\n"), Add: true, Keep: true}},
		{"dnf-all", DNF, image("/usr/bin/dnf"), &distros.Plan{All: true}, distros.PolicyFail, false, nil, nil, nil},
		// The proxy build args reach the step as BuildKit's proxy
		// environment, not as its env.
		{"dnf-report-proxy", DNF, image("/usr/bin/dnf"), report, distros.PolicyFail, true, nil, &llb.ProxyEnv{HTTPProxy: "http://proxy.example:3128", NoProxy: "localhost,127.0.0.1"}, nil},
		{"yum-report", Yum, image("/usr/bin/yum"), report, distros.PolicyWarn, true, nil, nil, nil},
		{"microdnf-report", Microdnf, mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": "", "/usr/bin/microdnf": "", "/var/lib/dnf/history.sqlite": ""}, report, distros.PolicyFail, true, nil, nil, nil},
		{"tdnf-report", Tdnf, image("/usr/bin/tdnf"), report, distros.PolicyFail, true, nil, nil, nil},
		{"zypper-report", Zypper, mapFS{"/usr/lib/sysimage/rpm/rpmdb.sqlite": "", "/bin/sh": "", "/usr/bin/zypper": "", "/run/.keep": "", "/var/log/zypper.log": ""}, report, distros.PolicyFail, true, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := InImage{Manager: tt.manager}
			ok, err := m.Detect(context.Background(), tt.fs, el9)
			if err != nil || !ok {
				t.Fatalf("Detect = %v, %v", ok, err)
			}
			p, err := m.Patch(context.Background(), tt.fs, distros.PatchRequest{
				Helper:          helperState(),
				KeepUnchanged:   tt.keep,
				Image:           llb.Image("localhost:5000/copa-test/el:9-dnf"),
				OS:              el9,
				Platform:        amd64,
				Plan:            tt.plan,
				Policy:          tt.policy,
				SourceDateEpoch: tt.epoch,
				Proxy:           tt.proxy,
				Sources:         tt.sources,
			})
			if err != nil {
				t.Fatal(err)
			}
			distrostest.CheckGolden(t, "./distros/rpm", "inimage-step-"+tt.name, distrostest.RenderExec(t, p.Root), *update)
		})
	}
}

// TestToolingStepGolden pins the tooling step: it runs in the tooling
// image with the image mounted as its output, and skips the image's
// install scripts when it has no shell.
func TestToolingStepGolden(t *testing.T) {
	micro := mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/usr/bin/copa-tool": ""}
	withShell := mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": "", "/var/log/x": ""}
	tooling := mapFS{"/bin/sh": "", "/usr/bin/dnf": ""}
	tests := []struct {
		name     string
		fs       mapFS
		plan     *distros.Plan
		platform ocispecs.Platform
		native   bool
	}{
		{"report-noshell", micro, report, amd64, false},
		{"all-shell", withShell, &distros.Plan{All: true}, amd64, false},
		{"native-arm64", micro, report, ocispecs.Platform{OS: "linux", Architecture: "arm64"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Tooling{}.Detect(context.Background(), tt.fs, el9)
			if err != nil || !ok {
				t.Fatalf("Detect = %v, %v", ok, err)
			}
			if err := (Tooling{}).CheckTooling(context.Background(), tooling, el9, el9); err != nil {
				t.Fatal(err)
			}
			p, err := Tooling{}.Patch(context.Background(), tt.fs, distros.PatchRequest{
				Helper:        helperState(),
				KeepUnchanged: true,
				Tooling:       &distros.Tooling{Name: "rockylinux:9", State: llb.Image("localhost:5000/copa-test/el:9-tooling"), FS: tooling},
				Image:         llb.Image("localhost:5000/copa-test/el:9-rpmdb"),
				OS:            el9,
				Platform:      tt.platform,
				Native:        tt.native,
				Plan:          tt.plan,
				Policy:        distros.PolicyFail,
			})
			if err != nil {
				t.Fatal(err)
			}
			distrostest.CheckGolden(t, "./distros/rpm", "tooling-step-"+tt.name, distrostest.RenderExec(t, p.Root), *update)
		})
	}
}

func TestCheckTooling(t *testing.T) {
	ctx := context.Background()
	dnfImage := mapFS{"/bin/sh": "", "/usr/bin/dnf": ""}
	tests := []struct {
		name      string
		tooling   mapFS
		toolingOS distros.OSRelease
		wantErr   string
	}{
		{"same release", dnfImage, distros.OSRelease{ID: "rocky", VersionID: "9.3"}, ""},
		{"other major", dnfImage, distros.OSRelease{ID: "rocky", VersionID: "8.10"}, "same release"},
		{"other distro", dnfImage, distros.OSRelease{ID: "almalinux", VersionID: "9.4"}, "same release"},
		{"not rpm", dnfImage, distros.OSRelease{ID: "debian", VersionID: "12"}, "not an rpm distro"},
		{"no manager", mapFS{"/bin/sh": ""}, distros.OSRelease{ID: "rocky", VersionID: "9.4"}, "no package manager"},
		{"no shell", mapFS{"/usr/bin/dnf": ""}, distros.OSRelease{ID: "rocky", VersionID: "9.4"}, "no /bin/sh"},
	}
	for _, tt := range tests {
		err := Tooling{}.CheckTooling(ctx, tt.tooling, tt.toolingOS, el9)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestDetect runs every rpm method's detection on the image layouts it
// must tell apart, in the registry's order.
func TestDetect(t *testing.T) {
	ctx := context.Background()
	methods := []distros.Method{InImage{DNF}, InImage{Microdnf}, InImage{Tdnf}, InImage{Yum}, InImage{Zypper}, Tooling{}}
	tests := []struct {
		name string
		fs   mapFS
		want string // the first method that detects it; "" none
		err  string
	}{
		{"dnf", mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": "", "/usr/bin/dnf": "", "/usr/bin/yum": ""}, "dnf", ""},
		{"ubi-minimal", mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": "", "/usr/bin/microdnf": ""}, "microdnf", ""},
		{"mariner", mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": "", "/usr/bin/tdnf": ""}, "tdnf", ""},
		{"el7", mapFS{"/var/lib/rpm/Packages": "", "/bin/sh": "", "/usr/bin/yum": ""}, "yum", ""},
		{"suse", mapFS{"/usr/lib/sysimage/rpm/Packages.db": "", "/bin/sh": "", "/usr/bin/zypper": ""}, "zypper", ""},
		{"ubi-micro", mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/bin/sh": ""}, "rpm", ""},
		{"no shell", mapFS{"/var/lib/rpm/rpmdb.sqlite": "", "/usr/bin/dnf": ""}, "rpm", ""},
		{"azure distroless", mapFS{"/var/lib/rpmmanifest/container-manifest-2": ""}, "", "container-manifest-2"},
		{"no database", mapFS{"/bin/sh": "", "/usr/bin/dnf": ""}, "", ""},
	}
	for _, tt := range tests {
		got, gotErr := "", ""
		for _, m := range methods {
			ok, err := m.Detect(ctx, tt.fs, el9)
			if err != nil {
				gotErr = err.Error()
				break
			}
			if ok {
				got = m.Name()
				break
			}
		}
		if got != tt.want || !strings.Contains(gotErr, tt.err) || (tt.err == "") != (gotErr == "") {
			t.Errorf("%s: detected %q (error %q), want %q (error %q)", tt.name, got, gotErr, tt.want, tt.err)
		}
	}
}
