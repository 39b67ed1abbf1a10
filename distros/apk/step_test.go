package apk

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

var (
	// epoch is a build's SOURCE_DATE_EPOCH.
	epoch      = time.Unix(1764028800, 0)
	amd64      = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	reportPlan = &distros.Plan{Updates: []distros.Update{
		{Name: "busybox", Fixed: "1.37.0-r14"},
		{Name: "libcrypto3", Fixed: "3.3.3-r0"},
	}}
	alpineImage = mapFS{InstalledPath: "", "/bin/sh": "", "/sbin/apk": ""}
)

func helperState() *llb.State {
	h := llb.Image("localhost:5000/copa/frontend:dev")
	return &h
}

// TestInImageStepGolden pins the step of apk in the image: its
// arguments, environment, mounts and the plan file.
func TestInImageStepGolden(t *testing.T) {
	tests := []struct {
		name    string
		fs      mapFS
		plan    *distros.Plan
		policy  distros.Policy
		keep    bool
		epoch   *time.Time
		proxy   *llb.ProxyEnv
		sources *distros.Sources
	}{
		{"report", alpineImage, reportPlan, distros.PolicyFail, true, &epoch, nil, nil},
		{"all", alpineImage, &distros.Plan{All: true}, distros.PolicyWarn, false, nil, nil, nil},
		// SOURCES --add --keep mirror.list and the proxy build args.
		{"report-sources-proxy", mapFS{InstalledPath: "", "/bin/sh": "", "/usr/bin/apk": ""}, reportPlan, distros.PolicyFail, true, nil,
			&llb.ProxyEnv{HTTPProxy: "http://proxy.example:3128", NoProxy: "localhost"},
			&distros.Sources{Name: "mirror.list", Data: []byte("https://nexus.example/alpine/v3.21/main\n"), Add: true, Keep: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := InImage{}
			ok, err := m.Detect(context.Background(), tt.fs, alpine321)
			if err != nil || !ok {
				t.Fatalf("Detect = %v, %v", ok, err)
			}
			p, err := m.Patch(context.Background(), tt.fs, distros.PatchRequest{
				Helper:          helperState(),
				KeepUnchanged:   tt.keep,
				Image:           llb.Image("localhost:5000/copa-test/alpine:3.21-stale"),
				OS:              alpine321,
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
			distrostest.CheckGolden(t, "./distros/apk", "inimage-step-"+tt.name, distrostest.RenderExec(t, p.Root), *update)
		})
	}
}

// TestToolingStepGolden pins the tooling step: it runs in the tooling
// image with the image mounted as its output, and skips the image's
// install scripts when it has no shell or is patched natively.
func TestToolingStepGolden(t *testing.T) {
	distroless := mapFS{InstalledPath: "", "/usr/bin/python3": ""}
	withShell := mapFS{InstalledPath: "", "/bin/sh": ""}
	tooling := mapFS{"/bin/sh": "", "/sbin/apk": ""}
	tests := []struct {
		name     string
		fs       mapFS
		osr      distros.OSRelease
		plan     *distros.Plan
		platform ocispecs.Platform
		native   bool
	}{
		{"report-noshell", distroless, wolfi, reportPlan, amd64, false},
		{"all-shell", withShell, alpine321, &distros.Plan{All: true}, amd64, false},
		{"native-arm64", withShell, alpine321, reportPlan, ocispecs.Platform{OS: "linux", Architecture: "arm64"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Tooling{}.Detect(context.Background(), tt.fs, tt.osr)
			if !tt.native && (err != nil || !ok) {
				t.Fatalf("Detect = %v, %v", ok, err)
			}
			rel, _ := ReleaseOf(tt.osr)
			p, err := Tooling{}.Patch(context.Background(), tt.fs, distros.PatchRequest{
				Helper:        helperState(),
				KeepUnchanged: true,
				Tooling:       &distros.Tooling{Name: rel.Tooling, State: llb.Image("localhost:5000/copa-test/alpine:3.21-tooling"), FS: tooling},
				Image:         llb.Image("localhost:5000/copa-test/" + tt.osr.ID + ":distroless"),
				OS:            tt.osr,
				Platform:      tt.platform,
				Native:        tt.native,
				Plan:          tt.plan,
				Policy:        distros.PolicyFail,
			})
			if err != nil {
				t.Fatal(err)
			}
			distrostest.CheckGolden(t, "./distros/apk", "tooling-step-"+tt.name, distrostest.RenderExec(t, p.Root), *update)
		})
	}
}

func TestPatchNeeds(t *testing.T) {
	ctx := context.Background()
	req := distros.PatchRequest{Image: llb.Image("x"), OS: alpine321, Platform: amd64, Plan: reportPlan, Policy: distros.PolicyFail}
	if _, err := (InImage{}).Patch(ctx, alpineImage, req); err == nil || !strings.Contains(err.Error(), "helper binary") {
		t.Errorf("without the helper: %v", err)
	}
	req.Helper = helperState()
	if _, err := (Tooling{}).Patch(ctx, alpineImage, req); err == nil || !strings.Contains(err.Error(), "no tooling image") {
		t.Errorf("without a tooling image: %v", err)
	}
	req.Plan = &distros.Plan{Updates: []distros.Update{{Name: "busybox", Fixed: "1.0 --allow-untrusted"}}}
	if _, err := (InImage{}).Patch(ctx, alpineImage, req); err == nil || !strings.Contains(err.Error(), "not an apk version") {
		t.Errorf("a version with blanks reached the plan file: %v", err)
	}
}
