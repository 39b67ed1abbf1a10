package frontend_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/copa/frontend/internal/imagetest"
)

// pushWithExtraLayer pushes ref as the image from plus one layer that
// changes no file: a mkdir of a directory it has, as the Dockerfile
// frontend's WORKDIR adds. The result has from's files and config but
// other layers, and so another layer chain.
func pushWithExtraLayer(t *testing.T, env testEnv, from, ref string) {
	t.Helper()
	ctx, c := daemon(t, env)
	repo, tag, _ := strings.Cut(from, ":")
	base := harnessImage(t, env, repo, tag)
	cfg, err := base.Blob(base.Manifest.Config.Digest)
	if err != nil {
		t.Fatal(err)
	}
	build := func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		st := llb.Image(env.registry + "/" + from).File(llb.Mkdir("/etc", 0o755, llb.WithParents(true)))
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		res, err := gc.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB()})
		if err != nil {
			return nil, err
		}
		res.AddMeta(exptypes.ExporterImageConfigKey, cfg)
		return res, nil
	}
	opt := client.SolveOpt{Exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"name": ref, "push": "true"}}}}
	if _, err := c.Build(ctx, opt, "", build, nil); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// TestPatchSameFilesOtherLayers patches an image, then one with the same
// files on other layers, with the same build arguments. BuildKit keys a
// step's cache on the contents of the mounts it may key by content (a
// read-only mount, or a writable one of a whole state); the patch step
// mounts the image so (as the original beside the root, or as the tooling
// image's target), so the second patch was answered with the first's
// result, on the first image's layers, and exported without the second
// image's own. Each result must be its own image's layers plus one.
func TestPatchSameFilesOtherLayers(t *testing.T) {
	env := needEnv(t)
	for _, tc := range []struct {
		name, repo, tag, patchfile string
	}{
		{"apt in the image", "copa-test/debian", "12-stale", "REPORT report.json\n"},
		{"deb tooling image", "copa-test/distroless", "12-stale", "TOOLING " + env.registry + "/copa-test/debian:bookworm\n"},
		{"rpm tooling image", "copa-test/el", "9-rpmdb", "TOOLING " + env.registry + "/copa-test/el:9-tooling\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.repo + ":" + tc.tag
			otherTag := strings.ReplaceAll(tc.repo, "/", "-") + "-" + tc.tag
			other := env.registry + "/copa-test/samefiles:" + otherTag
			pushWithExtraLayer(t, env, from, other)
			a, b := harnessImage(t, env, tc.repo, tc.tag), harnessImage(t, env, "copa-test/samefiles", otherTag)
			if len(b.LayerDigests()) != len(a.LayerDigests())+1 {
				t.Fatalf("the image with an extra layer has %d layers, the original %d", len(b.LayerDigests()), len(a.LayerDigests()))
			}
			files := map[string]string{"report.json": readData(t, env, "debian-12-stale.trivy.json")}
			args := map[string]string{"SOURCE_DATE_EPOCH": freshEpoch()}
			for _, img := range []struct {
				ref  string
				base *imagetest.Image
			}{{env.registry + "/" + from, a}, {other, b}} {
				files["Patchfile"] = "PATCH " + img.ref + "\n" + tc.patchfile
				res := patch(t, env, files, args)
				if res.err != nil {
					t.Fatalf("patching %s: %v\n%s", img.ref, res.err, res.logs)
				}
				bl, gl := img.base.LayerDigests(), res.image.LayerDigests()
				if len(gl) != len(bl)+1 || !slices.Equal(gl[:len(bl)], bl) {
					t.Fatalf("patching %s: layers = %v, want its own %v plus one", img.ref, gl, bl)
				}
			}
		})
	}
}
