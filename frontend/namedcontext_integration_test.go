package frontend_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/solver/errdefs"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// layoutOf copies a harness image into a new OCI layout directory, as
// `docker buildx build --output type=oci,tar=false` or skopeo would have
// written it, and returns the directory and the copy's descriptor.
func layoutOf(t *testing.T, env testEnv, repo, tag string) (string, ocispecs.Descriptor) {
	t.Helper()
	dir := t.TempDir()
	desc, err := imagetest.WriteLayout(env.registry, repo, tag, dir)
	if err != nil {
		t.Fatalf("writing an OCI layout of %s:%s: %v", repo, tag, err)
	}
	return dir, desc
}

// layoutStores sets the client's store for a layout directory, under
// the ID an oci-layout:// context names.
func layoutStores(t *testing.T, id, dir string) func(*client.SolveOpt) {
	t.Helper()
	store, err := local.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *client.SolveOpt) { o.OCIStores = map[string]content.Store{id: store} }
}

// checkConfigKept asserts that the patched config is the base's, raw JSON
// key by key, but for what the patch writes: created, history, the
// labels, and the rootfs, which gains the layer (checkLayerAndConfig
// checks the layers).
func checkConfigKept(t *testing.T, base, got *imagetest.Image) {
	t.Helper()
	read := func(img *imagetest.Image) (outer, inner map[string]json.RawMessage) {
		dt, err := img.Blob(img.Manifest.Config.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(dt, &outer); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(outer["config"], &inner); err != nil {
			t.Fatal(err)
		}
		return outer, inner
	}
	bo, bi := read(base)
	goOuter, gi := read(got)
	for k, v := range bo {
		if k != "created" && k != "history" && k != "config" && k != "rootfs" && !bytes.Equal(goOuter[k], v) {
			t.Errorf("config %s = %s, want the base's %s", k, goOuter[k], v)
		}
	}
	for k, v := range bi {
		if k != "Labels" && !bytes.Equal(gi[k], v) {
			t.Errorf("config.config %s = %s, want the base's %s", k, gi[k], v)
		}
	}
}

// checkPatchedBuild is checkPatched for a patch of another build's
// result: the layers plus one, the config kept, the fixed versions in the
// patch layer's dpkg status, and labels that name the PATCH name as the
// base and no digest, since a local build has none. The config must
// describe the layers it has: when the layers are another image's (see
// TestPatchNamedContextInput), the exporter adds history of its own.
func checkPatchedBuild(t *testing.T, base, got *imagetest.Image, want map[string]string, name string) {
	t.Helper()
	bl, gl := base.LayerDigests(), got.LayerDigests()
	if len(gl) != len(bl)+1 || !slices.Equal(gl[:len(bl)], bl) {
		t.Fatalf("layers = %v, want the base's %v plus one", gl, bl)
	}
	layers := 0
	for _, h := range got.Config.History {
		if !h.EmptyLayer {
			layers++
		}
	}
	if n := len(gl); layers != n || len(got.Config.RootFS.DiffIDs) != n {
		t.Errorf("the config has %d layer history entries and %d diff IDs for %d layers", layers, len(got.Config.RootFS.DiffIDs), n)
	}
	if h := got.Config.History; h[len(h)-1].Comment != frontend.HistoryComment {
		t.Errorf("the last history entry is %+v, not the patch's", h[len(h)-1])
	}
	layer, err := got.Layer(len(gl) - 1)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := debtest.ParseStatus(layer.Files["var/lib/dpkg/status"])
	if err != nil {
		t.Fatal(err)
	}
	checkVersions(t, debtest.Versions(pkgs), want)
	checkConfigKept(t, base, got)
	l := got.Config.Config.Labels
	if _, has := l[frontend.LabelBaseDigest]; has || l[frontend.LabelBaseName] != name || l[frontend.LabelPatched] != "true" {
		t.Errorf("labels %v: want the patch label, %s as the base and no base digest", l, name)
	}
	for k, v := range base.Config.Config.Labels {
		if k != frontend.LabelBaseDigest && k != frontend.LabelBaseName && l[k] != v {
			t.Errorf("label %s = %q, want the base's %q", k, l[k], v)
		}
	}
}

// TestPatchFromOCILayoutContext patches an image that only an OCI layout
// directory on the client holds: PATCH names it, and a build context of
// that name is the layout, as `--build-context some-name=oci-layout://DIR`
// passes it (a session store and the digest its tag points at). The
// result is the image's layers plus one, its config kept, and labels
// naming the PATCH name and the layout's digest. An index in a layout is
// probed platform by platform: the platform asked for is patched, the
// other carried over as it was.
func TestPatchFromOCILayoutContext(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	files := map[string]string{"Patchfile": "PATCH some-name\nREPORT report.json\n", "report.json": report}

	t.Run("image", func(t *testing.T) {
		// An image only the layout holds: the stale image with a label
		// of its own, so the daemon reads its manifest and config from
		// the client's store.
		dir := t.TempDir()
		desc, err := imagetest.WriteImageLayout(dir, "v1", baseImage(t, env, "12-stale"), func(cfg map[string]any) {
			inner, _ := cfg["config"].(map[string]any)
			labels, _ := inner["Labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
			}
			labels["copa.test.origin"] = "oci-layout"
			inner["Labels"] = labels
		})
		if err != nil {
			t.Fatal(err)
		}
		base, err := imagetest.FromLayout(dir, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		res := patchWith(t, env, files, map[string]string{"context:some-name": "oci-layout://copa-layout@" + desc.Digest.String()},
			layoutStores(t, "copa-layout", dir), env.registry+"/copa-test/patched:ctx-layout")
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		checkPatched(t, base, res.image, trivyFixes(t, report))
		checkConfigKept(t, base, res.image)
		l := res.image.Config.Config.Labels
		if l[frontend.LabelBaseName] != "docker.io/library/some-name:latest" || l[frontend.LabelBaseDigest] != desc.Digest.String() || l["copa.test.origin"] != "oci-layout" {
			t.Errorf("labels %v, want the layout image's, and the PATCH name and the layout's digest %s as the base", l, desc.Digest)
		}
		// The pushed image is the exported one, with its VEX attestation.
		if fixed := fixedVulnerabilities(t, env, "copa-test/patched", "ctx-layout"); len(fixed) == 0 {
			t.Error("the pushed image has no VEX statement of a fixed vulnerability")
		}
	})

	t.Run("index", func(t *testing.T) {
		dir, desc := layoutOf(t, env, "copa-test/debian", multiTag)
		if desc.MediaType != ocispecs.MediaTypeImageIndex {
			t.Fatalf("%s is %s, not an index", multiTag, desc.MediaType)
		}
		res := patchWith(t, env, map[string]string{"Patchfile": files["Patchfile"], "report.json": readData(t, env, amd64Report)},
			map[string]string{"context:some-name": "oci-layout://copa-layout@" + desc.Digest.String(), "platform": "linux/amd64"},
			layoutStores(t, "copa-layout", dir), env.registry+"/copa-test/patched:ctx-layout-multi")
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		out := index(t, env, "copa-test/patched", "ctx-layout-multi")
		var ps []string
		for _, m := range out.Manifests {
			if m.Platform != nil && m.Platform.OS != "unknown" {
				ps = append(ps, m.Platform.OS+"/"+m.Platform.Architecture)
			}
		}
		if !slices.Equal(ps, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("the patched index has %q, want linux/amd64 and linux/arm64", ps)
		}
		srcAmd := platformImage(t, env, "copa-test/debian", multiTag, "linux/amd64")
		srcArm := platformImage(t, env, "copa-test/debian", multiTag, "linux/arm64")
		checkPlatformPatched(t, srcAmd, platformImage(t, env, "copa-test/patched", "ctx-layout-multi", "linux/amd64"), readData(t, env, amd64Report), "amd64")
		checkCarried(t, srcArm, platformImage(t, env, "copa-test/patched", "ctx-layout-multi", "linux/arm64"))
	})
}

// TestPatchNamedContextImage replaces the PATCH image by another
// reference, as --build-context some-name=docker-image://REF does: REF is
// patched as PATCH REF would be, and the labels name it, so that a patch
// of the result finds its original. Patching the patched image through a
// context again is a re-patch with nothing to do: the image comes back as
// it was.
func TestPatchNamedContextImage(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	files := map[string]string{"Patchfile": "PATCH some-name:1.0\nREPORT report.json\n", "report.json": report}
	stale := env.registry + "/copa-test/debian:12-stale"
	res := patch(t, env, files, map[string]string{"context:some-name:1.0": "docker-image://" + stale}, env.registry+"/copa-test/patched:ctx-image")
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	base := baseImage(t, env, "12-stale")
	checkPatched(t, base, res.image, trivyFixes(t, report))
	checkConfigKept(t, base, res.image)
	l := res.image.Config.Config.Labels
	if l[frontend.LabelBaseName] != stale || l[frontend.LabelBaseDigest] != base.Digest.String() {
		t.Errorf("base labels %q@%q, want %s@%s", l[frontend.LabelBaseName], l[frontend.LabelBaseDigest], stale, base.Digest)
	}

	t.Run("re-patch", func(t *testing.T) {
		again := patch(t, env, map[string]string{"Patchfile": "PATCH other-name\nREPORT report.json\n", "report.json": report},
			map[string]string{"context:other-name": "docker-image://" + env.registry + "/copa-test/patched:ctx-image"})
		if again.err != nil {
			t.Fatalf("re-patch failed: %v\n%s", again.err, again.logs)
		}
		if !hasWarning(again.warnings, "every reported fix is installed already") {
			t.Errorf("no warning that the patched image is returned unchanged; warnings: %q", again.warnings)
		}
		if again.image.Digest != res.image.Digest {
			t.Errorf("the re-patch gave manifest %s, want the patched image's %s", again.image.Digest, res.image.Digest)
		}
	})
}

// TestPatchNamedContextRefused: a build context that is no image fails
// the build on the PATCH line, saying which contexts PATCH takes.
func TestPatchNamedContextRefused(t *testing.T) {
	env := needEnv(t)
	tests := []struct {
		name, key, value, want string
	}{
		{"local", "context:some-name", "local:some-name", "PATCH some-name: the build context some-name is a local directory, not an image: PATCH takes an image: --build-context some-name=docker-image://<reference>, an OCI layout directory with --build-context some-name=oci-layout://<dir>[:<tag>]"},
		{"local per platform", "context:some-name::linux/amd64", "local:x", "the build context some-name::linux/amd64 is a local directory"},
		{"git", "context:some-name", "https://github.com/org/app.git", "the build context some-name is a Git repository or a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := patch(t, env, map[string]string{"Patchfile": "ARG X\nPATCH some-name\n"}, map[string]string{tt.key: tt.value})
			if res.err == nil {
				t.Fatal("the build succeeded")
			}
			if !strings.Contains(res.err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", res.err, tt.want)
			}
			srcs := errdefs.Sources(res.err)
			if len(srcs) == 0 || len(srcs[0].Ranges) == 0 || srcs[0].Ranges[0].Start.Line != 2 {
				t.Errorf("the error is not on the PATCH line (2): %+v", srcs)
			}
		})
	}
}

// TestPatchNamedContextInput patches another build's result, passed as
// the frontend's input with the config that build returned, as bake
// passes a target: context: the image's layers plus one, its config kept,
// the PATCH name as the base and no digest. Patching that result the same
// way again cannot find its original, and warns that the layers stack.
func TestPatchNamedContextInput(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	files := map[string]string{"Patchfile": "PATCH app\nREPORT report.json\n", "report.json": report}
	input := func(ref string, img *imagetest.Image) (map[string]string, func(*client.SolveOpt)) {
		cfg, err := img.Blob(img.Manifest.Config.Digest)
		if err != nil {
			t.Fatal(err)
		}
		md, err := json.Marshal(map[string][]byte{exptypes.ExporterImageConfigKey: cfg})
		if err != nil {
			t.Fatal(err)
		}
		// An epoch of this test's own, so that its patch steps run
		// rather than being answered from another test's.
		return map[string]string{"context:app": "input:app", "input-metadata:app": string(md), "SOURCE_DATE_EPOCH": "1764028801"},
			func(o *client.SolveOpt) { o.FrontendInputs = map[string]llb.State{"app": llb.Image(ref)} }
	}
	base := baseImage(t, env, "12-stale")
	args, edit := input(env.registry+"/copa-test/debian:12-stale", base)
	res := patchWith(t, env, files, args, edit, env.registry+"/copa-test/patched:ctx-input")
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkPatchedBuild(t, base, res.image, trivyFixes(t, report), "docker.io/library/app:latest")

	patched := harnessImage(t, env, "copa-test/patched", "ctx-input")
	args, edit = input(env.registry+"/copa-test/patched:ctx-input", patched)
	again := patchWith(t, env, files, args, edit)
	if again.err != nil {
		t.Fatalf("second patch failed: %v\n%s", again.err, again.logs)
	}
	if !hasWarning(again.warnings, "was patched by copa/frontend, but its labels name no original to pull") {
		t.Errorf("no warning that the earlier patch's original is unknown; warnings: %q", again.warnings)
	}
}
