package frontend_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// The harness's two-platform index: the stale Debian 12 image for
// linux/amd64 and linux/arm64, with a report per platform.
const (
	multiTag = "12-stale-multi"
	// the same index with an attestation manifest per image, as buildx
	// pushes by default: the frontend reads it whole, annotations included
	attestedTag = "12-stale-multi-attested"
	amd64Report = "debian-12-stale.trivy.json"
	arm64Report = "debian-12-stale-arm64.trivy.json"
)

// index reads an index from the registry.
func index(t *testing.T, env testEnv, repo, tag string) ocispecs.Index {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+env.registry+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ocispecs.MediaTypeImageIndex)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var idx ocispecs.Index
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	if idx.MediaType != ocispecs.MediaTypeImageIndex {
		t.Fatalf("%s:%s is %q, not an OCI index", repo, tag, idx.MediaType)
	}
	return idx
}

// platformImage reads one platform of an image in the registry.
func platformImage(t *testing.T, env testEnv, repo, tag, platform string) *imagetest.Image {
	t.Helper()
	img, err := imagetest.FromRegistry(env.registry, repo, tag, platform)
	if err != nil {
		t.Fatalf("%s:%s for %s: %v", repo, tag, platform, err)
	}
	return img
}

// checkCarried asserts that a platform was passed on as it was: the same
// layers and the same config, byte for byte, so no patch label.
func checkCarried(t *testing.T, src, got *imagetest.Image) {
	t.Helper()
	if !slices.Equal(got.LayerDigests(), src.LayerDigests()) {
		t.Errorf("carried layers %v, want %v", got.LayerDigests(), src.LayerDigests())
	}
	if got.Manifest.Config.Digest != src.Manifest.Config.Digest {
		a, _ := src.Blob(src.Manifest.Config.Digest)
		b, _ := got.Blob(got.Manifest.Config.Digest)
		t.Errorf("carried config %s, want %s:\n%s\nwant\n%s", got.Manifest.Config.Digest, src.Manifest.Config.Digest, b, a)
	}
	if _, ok := got.Config.Config.Labels[frontend.LabelPatched]; ok {
		t.Error("a carried platform has the patch label")
	}
	if got.Digest != src.Digest {
		t.Logf("the carried manifest is %s, the source's %s (the exporter rewrites it: see docs/multiplatform.md)", got.Digest, src.Digest)
	}
}

// checkPlatformPatched asserts that a platform of a patched index is its
// source image plus one layer with the report's fixed versions, read from
// the platform's own package database, and returns what it has.
func checkPlatformPatched(t *testing.T, src, got *imagetest.Image, report string, arch string) map[string]debtest.Package {
	t.Helper()
	pkgs := checkPatchedPackages(t, src, got, trivyFixes(t, report))
	for name := range trivyFixes(t, report) {
		if p, ok := pkgs[name]; ok && p.Arch != arch && p.Arch != "all" {
			t.Errorf("%s is %s, want %s", name, p.Arch, arch)
		}
	}
	return pkgs
}

func TestMultiPlatformIndex(t *testing.T) {
	env := needEnv(t)
	amdReport, armReport := readData(t, env, amd64Report), readData(t, env, arm64Report)
	srcAmd := platformImage(t, env, "copa-test/debian", multiTag, "linux/amd64")
	srcArm := platformImage(t, env, "copa-test/debian", multiTag, "linux/arm64")
	srcIdx := index(t, env, "copa-test/debian", attestedTag)
	files := map[string]string{
		// Unbound reports: each applies to the platform whose
		// architecture it names.
		"Patchfile":  "PATCH " + env.registry + "/copa-test/debian:" + attestedTag + "\nREPORT amd64.json\nREPORT arm64.json\n",
		"amd64.json": amdReport,
		"arm64.json": armReport,
	}

	t.Run("every platform", func(t *testing.T) {
		res := patch(t, env, files, nil, env.registry+"/copa-test/patched:multi-all")
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		checkPlatformPatched(t, srcAmd, platformImage(t, env, "copa-test/patched", "multi-all", "linux/amd64"), amdReport, "amd64")
		arm := platformImage(t, env, "copa-test/patched", "multi-all", "linux/arm64")
		checkPlatformPatched(t, srcArm, arm, armReport, "arm64")
		// With emulation, an apt image runs its own apt.
		if h := arm.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "apt update of") {
			t.Errorf("arm64 was not patched by apt in the image: %q", h[len(h)-1].CreatedBy)
		}
		out := index(t, env, "copa-test/patched", "multi-all")
		for k, v := range srcIdx.Annotations {
			if out.Annotations[k] != v {
				t.Errorf("index annotation %s = %q, want %q", k, out.Annotations[k], v)
			}
		}
		if len(srcIdx.Annotations) == 0 {
			t.Error("the harness index has no annotations to keep")
		}
	})

	t.Run("--native where emulation exists", func(t *testing.T) {
		native := map[string]string{
			"Patchfile":  "PATCH --native " + env.registry + "/copa-test/debian:" + attestedTag + "\nTOOLING " + env.registry + "/copa-test/debian:bookworm\nREPORT amd64.json\nREPORT arm64.json\n",
			"amd64.json": amdReport,
			"arm64.json": armReport,
		}
		res := patch(t, env, native, nil, env.registry+"/copa-test/patched:multi-all-native")
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		for p, c := range map[string]struct {
			src    *imagetest.Image
			report string
		}{"linux/amd64": {srcAmd, amdReport}, "linux/arm64": {srcArm, armReport}} {
			img := platformImage(t, env, "copa-test/patched", "multi-all-native", p)
			checkPlatformPatched(t, c.src, img, c.report, strings.TrimPrefix(p, "linux/"))
			// apt images too are patched by the tooling image, natively.
			if h := img.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "dpkg (native on linux/amd64") {
				t.Errorf("%s was not patched natively: %q", p, h[len(h)-1].CreatedBy)
			}
		}
	})

	// The index without attestations is probed platform by platform.
	t.Run("one platform listed", func(t *testing.T) {
		plain := "PATCH " + env.registry + "/copa-test/debian:" + multiTag + "\nREPORT amd64.json\nREPORT arm64.json\n"
		res := patch(t, env, map[string]string{"Patchfile": plain, "amd64.json": amdReport, "arm64.json": armReport}, map[string]string{"platform": "linux/arm64"}, env.registry+"/copa-test/patched:multi-arm64")
		if res.err == nil || !strings.Contains(res.err.Error(), "REPORT amd64.json is a scan of linux/amd64, but the build patches linux/arm64") {
			t.Fatalf("a report of a platform that is not patched: err = %v", res.err)
		}
		res = patch(t, env, map[string]string{"Patchfile": "PATCH " + env.registry + "/copa-test/debian:" + multiTag + "\nREPORT arm64.json\n", "arm64.json": armReport},
			map[string]string{"platform": "linux/arm64"}, env.registry+"/copa-test/patched:multi-arm64")
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		checkPlatformPatched(t, srcArm, platformImage(t, env, "copa-test/patched", "multi-arm64", "linux/arm64"), armReport, "arm64")
		checkCarried(t, srcAmd, platformImage(t, env, "copa-test/patched", "multi-arm64", "linux/amd64"))
	})
}

// TestNativeWithoutEmulation patches the arm64 platform on a builder that
// cannot run arm64: the harness's second BuildKit daemon, started while
// the qemu-aarch64 emulator was disabled. Nothing of the image runs: apt
// of a tooling image for the build platform fetches arm64 packages and the
// helper installs them.
func TestNativeWithoutEmulation(t *testing.T) {
	env := needEnv(t)
	env.host = os.Getenv("COPA_TEST_NOEMU_BUILDKIT_HOST")
	if env.host == "" {
		t.Fatal("COPA_TEST_NOEMU_BUILDKIT_HOST is not set: run `make test` (hack/harness.sh noemu-up starts that daemon)")
	}
	armReport := readData(t, env, arm64Report)
	srcArm := platformImage(t, env, "copa-test/debian", multiTag, "linux/arm64")
	srcAmd := platformImage(t, env, "copa-test/debian", multiTag, "linux/amd64")
	res := patch(t, env, map[string]string{
		"Patchfile":  "PATCH " + env.registry + "/copa-test/debian:" + multiTag + "\nTOOLING " + env.registry + "/copa-test/debian:bookworm\nREPORT arm64.json\n",
		"arm64.json": armReport,
	}, map[string]string{"platform": "linux/arm64"}, env.registry+"/copa-test/patched:multi-native")
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	arm := platformImage(t, env, "copa-test/patched", "multi-native", "linux/arm64")
	checkPlatformPatched(t, srcArm, arm, armReport, "arm64")
	if h := arm.Config.History; !strings.Contains(h[len(h)-1].CreatedBy, "native") {
		t.Errorf("arm64 was not patched natively: %q", h[len(h)-1].CreatedBy)
	}
	for _, want := range []string{"the builder cannot run linux/arm64", "maintainer scripts"} {
		if !slices.ContainsFunc(res.warnings, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("no warning saying %q; warnings: %q", want, res.warnings)
		}
	}
	checkCarried(t, srcAmd, platformImage(t, env, "copa-test/patched", "multi-native", "linux/amd64"))

	// The arm64 files are arm64 code: the ELF machine of an upgraded
	// library is AArch64 (0xb7).
	fs, err := arm.FS()
	if err != nil {
		t.Fatal(err)
	}
	elf := 0
	for name := range trivyFixes(t, armReport) {
		list, ok := fs.ReadFile("var/lib/dpkg/info/" + name + ".list")
		if !ok {
			list, _ = fs.ReadFile("var/lib/dpkg/info/" + name + ":arm64.list")
		}
		for _, f := range strings.Split(string(list), "\n") {
			dt, ok := fs.ReadFile(f)
			if !ok || len(dt) < 20 || !bytes.HasPrefix(dt, []byte("\x7fELF")) {
				continue
			}
			elf++
			if dt[18] != 0xb7 {
				t.Errorf("%s of %s is ELF machine %#x, not AArch64", f, name, dt[18])
			}
		}
	}
	if elf == 0 {
		t.Log("no upgraded package has ELF files")
	}
}

// TestUnpatchablePlatformCarried patches an index whose arm64 image is of
// an OS no method patches: without --platform it is carried over with a
// warning naming it and why; listed with --platform, the build fails.
func TestUnpatchablePlatformCarried(t *testing.T) {
	env := needEnv(t)
	const tag = "12-stale-mixed"
	srcAmd := platformImage(t, env, "copa-test/debian", tag, "linux/amd64")
	srcArm := platformImage(t, env, "copa-test/debian", tag, "linux/arm64")
	report := readData(t, env, amd64Report)
	files := map[string]string{"Patchfile": "PATCH " + env.registry + "/copa-test/debian:" + tag + "\nREPORT amd64.json\n", "amd64.json": report}
	res := patch(t, env, files, nil, env.registry+"/copa-test/patched:mixed")
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkPlatformPatched(t, srcAmd, platformImage(t, env, "copa-test/patched", "mixed", "linux/amd64"), report, "amd64")
	checkCarried(t, srcArm, platformImage(t, env, "copa-test/patched", "mixed", "linux/arm64"))
	if !slices.ContainsFunc(res.warnings, func(w string) bool {
		return strings.Contains(w, "linux/arm64 is carried over unpatched") && strings.Contains(w, "the image is")
	}) {
		t.Errorf("no warning naming the carried platform and why; warnings: %q", res.warnings)
	}

	res = patch(t, env, files, map[string]string{"platform": "linux/amd64,linux/arm64"})
	if res.err == nil || !strings.Contains(res.err.Error(), "(linux/arm64)") || !strings.Contains(res.err.Error(), "copa/frontend patches") {
		t.Errorf("listing the unpatchable platform: err = %v, want the build to fail naming it", res.err)
	}
}
