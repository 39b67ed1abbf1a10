package frontend_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// buildx runs `docker buildx build` against the harness's builder with the
// frontend image from the loopback registry, the way a user tries an
// unpublished frontend: BUILDKIT_SYNTAX overrides the Patchfile's syntax line.
func buildx(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	image := os.Getenv("COPA_FRONTEND_IMAGE")
	if image == "" {
		t.Fatal("COPA_FRONTEND_IMAGE is not set: run `make test` (hack/harness.sh builds and pushes the frontend image)")
	}
	builder := os.Getenv("COPA_BUILDER")
	if builder == "" {
		builder = "copa"
	}
	full := append([]string{"buildx", "build", "--builder", builder, "--progress=plain",
		"-f", filepath.Join(dir, "Patchfile"), "--build-arg", "BUILDKIT_SYNTAX=" + image}, args...)
	full = append(full, dir)
	cmd := exec.Command("docker", full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestEndToEndThroughFrontendImage(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Patchfile", "# syntax=copa/frontend\nARG IMAGE\nPATCH ${IMAGE}\nREPORT report.json\n")
	write("report.json", report)

	out, err := buildx(t, dir,
		"--build-arg", "IMAGE="+env.registry+"/copa-test/debian:12-stale",
		"-t", env.registry+"/copa-test/debian:e2e-patched", "--push")
	if err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	got, err := imagetestFromRegistry(env, "e2e-patched")
	if err != nil {
		t.Fatal(err)
	}
	checkPatched(t, baseImage(t, env, "12-stale"), got, trivyFixes(t, report))
	// The progress names each step's platform and shows the summary table
	// (the log of the helper step that prints it).
	for _, want := range []string{"[copa linux/amd64] apt: ", "[copa linux/amd64] summary: ", " patched, ", "PACKAGE"} {
		if !strings.Contains(out, want) {
			t.Errorf("the build output does not show %q:\n%s", want, out)
		}
	}

	// A Patchfile error is shown by buildx on its line.
	write("Patchfile", "# syntax=copa/frontend\nPATCH "+env.registry+"/copa-test/debian:12-stale\nRUN apt-get upgrade\n")
	out, err = buildx(t, dir)
	if err == nil {
		t.Fatalf("a Patchfile with RUN built:\n%s", out)
	}
	if !strings.Contains(out, `unknown instruction "RUN"`) || !strings.Contains(out, "3 | >>> RUN apt-get upgrade") {
		t.Errorf("buildx did not show the error on line 3:\n%s", out)
	}
}

// TestEndToEndDistrolessBuildContext patches the distroless-style image
// through buildx, with the default tooling image (debian:bookworm, out of
// reach here) replaced by --build-context, as a user with a mirror would.
func TestEndToEndDistrolessBuildContext(t *testing.T) {
	env := needEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Patchfile"), []byte("# syntax=copa/frontend\nPATCH "+env.registry+"/copa-test/distroless:12-stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := buildx(t, dir,
		"--build-context", "debian:bookworm=docker-image://"+env.registry+"/copa-test/debian:bookworm",
		"-t", env.registry+"/copa-test/distroless:e2e-patched", "--push")
	if err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	base := harnessImage(t, env, "copa-test/distroless", "12-stale")
	got := harnessImage(t, env, "copa-test/distroless", "e2e-patched")
	baseFS := mergedFS(t, base)
	names := statusDNames(t, baseFS)
	before := debtest.Versions(statusD(t, baseFS, names))
	checkDistroless(t, base, got, names, before, distrolessUpgradable(t, env, "12-stale", before), true)
	if !strings.Contains(out, "[context debian:bookworm") {
		t.Errorf("the build did not load the tooling image from the build context:\n%s", out)
	}
}

// TestEndToEndRPMBuildContext patches the rpm-database-only image through
// `docker buildx build`, its default tooling image (rockylinux:9 for a
// Rocky 9 image) replaced by a named build context, as a user without
// Docker Hub access would.
func TestEndToEndRPMBuildContext(t *testing.T) {
	env := needEnv(t)
	dir := t.TempDir()
	report := readData(t, env, "rpm/el-9-rpmdb.trivy.json")
	for name, content := range map[string]string{
		"Patchfile":   "# syntax=copa/frontend\nPATCH " + env.registry + "/copa-test/el:9-rpmdb\nREPORT report.json\n",
		"report.json": report,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := buildx(t, dir,
		"--build-context", "rockylinux/rockylinux:9=docker-image://"+env.registry+"/copa-test/el:9-tooling",
		"-t", env.registry+"/copa-test/el:e2e-patched", "--push")
	if err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	if !strings.Contains(out, "[context rockylinux/rockylinux:9") {
		t.Errorf("the build did not load the tooling image from the build context:\n%s", out)
	}
	base := harnessImage(t, env, "copa-test/el", "9-rpmdb")
	got := harnessImage(t, env, "copa-test/el", "e2e-patched")
	checkRPMPatched(t, base, got, rpmCases[1], rpmReportFixes(t, report))
}

// TestEndToEndOCILayoutContext patches an OCI layout directory through
// buildx, `--build-context some-name=oci-layout://DIR:TAG` naming it, and
// writes the result with `--output type=oci`: the tarball holds the
// patched image and its VEX attestation. A directory that is no OCI
// layout context fails on the PATCH line, naming what to use.
func TestEndToEndOCILayoutContext(t *testing.T) {
	env := needEnv(t)
	dir, layout := t.TempDir(), t.TempDir()
	report := readData(t, env, "debian-12-stale.trivy.json")
	for name, content := range map[string]string{
		"Patchfile":   "# syntax=copa/frontend\nPATCH some-name\nREPORT report.json\n",
		"report.json": report,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := imagetest.WriteLayout(env.registry, "copa-test/debian", "12-stale", layout); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "patched.tar")
	out, err := buildx(t, dir, "--build-context", "some-name=oci-layout://"+layout+":12-stale", "--output", "type=oci,dest="+tarball)
	if err != nil {
		t.Fatalf("docker buildx build: %v\n%s", err, out)
	}
	if !strings.Contains(out, "from the OCI layout of the build context") {
		t.Errorf("the build did not resolve the image in the OCI layout:\n%s", out)
	}
	got, err := imagetest.ReadOCITar(tarball)
	if err != nil {
		t.Fatal(err)
	}
	checkPatched(t, baseImage(t, env, "12-stale"), got, trivyFixes(t, report))
	if n := vexInOCITar(t, tarball); n != 1 {
		t.Errorf("the OCI tarball has %d VEX attestation(s), want 1", n)
	}

	out, err = buildx(t, dir, "--build-context", "some-name="+layout)
	if err == nil {
		t.Fatalf("a local directory as the PATCH image built:\n%s", out)
	}
	for _, want := range []string{"the build context some-name is a local directory, not an image", "--build-context some-name=oci-layout://<dir>", "2 | >>> PATCH some-name"} {
		if !strings.Contains(out, want) {
			t.Errorf("buildx does not show %q:\n%s", want, out)
		}
	}
}

// TestEndToEndBakeTargetContext patches the result of another bake
// target, a Dockerfile build of two platforms: contexts = { app =
// "target:app" }, which bake passes per platform as the build's inputs,
// with the configs the Dockerfile frontend returned. Each platform is the
// target's image plus one layer, its config kept; the labels name the
// PATCH name and no digest, since a local build has none. The patch has
// an epoch of its own, as TestPatchNamedContextInput explains.
func TestEndToEndBakeTargetContext(t *testing.T) {
	env := needEnv(t)
	dir, out := t.TempDir(), t.TempDir()
	reports := map[string]string{"amd64": readData(t, env, amd64Report), "arm64": readData(t, env, arm64Report)}
	hcl := fmt.Sprintf(`target "app" {
  dockerfile = "Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64"]
  output     = ["type=oci,dest=%[1]s/app.tar"]
}
target "patched" {
  dockerfile = "Patchfile"
  contexts   = { app = "target:app" }
  args       = { BUILDKIT_SYNTAX = "%[2]s", SOURCE_DATE_EPOCH = "1764028802" }
  platforms  = ["linux/amd64", "linux/arm64"]
  output     = ["type=oci,dest=%[1]s/patched.tar"]
}
`, out, os.Getenv("COPA_FRONTEND_IMAGE"))
	for name, content := range map[string]string{
		"Dockerfile":      "FROM " + env.registry + "/copa-test/debian:" + multiTag + "\nLABEL org.example.built=bake\n",
		"Patchfile":       "# syntax=copa/frontend\nPATCH app\nREPORT --platform=linux/amd64 amd64.json\nREPORT --platform=linux/arm64 arm64.json\n",
		"amd64.json":      reports["amd64"],
		"arm64.json":      reports["arm64"],
		"docker-bake.hcl": hcl,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	builder := os.Getenv("COPA_BUILDER")
	if builder == "" {
		builder = "copa"
	}
	cmd := exec.Command("docker", "buildx", "bake", "--builder", builder, "--progress=plain", "--allow", "fs.write="+out, "app", "patched")
	cmd.Dir = dir
	logs, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker buildx bake: %v\n%s", err, logs)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			app, err := imagetest.ReadOCITarFor(filepath.Join(out, "app.tar"), "linux/"+arch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := imagetest.ReadOCITarFor(filepath.Join(out, "patched.tar"), "linux/"+arch)
			if err != nil {
				t.Fatal(err)
			}
			checkPatchedBuild(t, app, got, trivyFixes(t, reports[arch]), "docker.io/library/app:latest")
			if got.Config.Config.Labels["org.example.built"] != "bake" {
				t.Errorf("the target's label is gone: %v", got.Config.Config.Labels)
			}
		})
	}
}

// vexInOCITar counts the OpenVEX statements of the attestation manifests
// of the image index an OCI tarball holds.
func vexInOCITar(t *testing.T, tarball string) int {
	t.Helper()
	files, err := imagetest.ReadTar(tarball)
	if err != nil {
		t.Fatal(err)
	}
	read := func(d digest.Digest, v any) {
		t.Helper()
		if err := json.Unmarshal(files["blobs/"+d.Algorithm().String()+"/"+d.Encoded()], v); err != nil {
			t.Fatalf("blob %s: %v", d, err)
		}
	}
	var top, idx ocispecs.Index
	if err := json.Unmarshal(files["index.json"], &top); err != nil || len(top.Manifests) != 1 {
		t.Fatalf("index.json: %v, %d manifests", err, len(top.Manifests))
	}
	read(top.Manifests[0].Digest, &idx)
	n := 0
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		var am ocispecs.Manifest
		read(m.Digest, &am)
		for _, l := range am.Layers {
			if l.Annotations["in-toto.io/predicate-type"] == frontend.PredicateTypeOpenVEX {
				n++
			}
		}
	}
	return n
}

// TestEndToEndOutline asks the frontend image for --call outline through
// buildx: it lists the ARGs with their values and comments, and what the
// build patches, without patching anything.
func TestEndToEndOutline(t *testing.T) {
	env := needEnv(t)
	dir := t.TempDir()
	pf := "# syntax=copa/frontend\n# The image to patch.\nARG IMAGE=" + env.registry + "/copa-test/debian:12-stale\nPATCH ${IMAGE}\nREPORT report.json\n"
	if err := os.WriteFile(filepath.Join(dir, "Patchfile"), []byte(pf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := buildx(t, dir, "--call", "outline")
	if err != nil {
		t.Fatalf("docker buildx build --call outline: %v\n%s", err, out)
	}
	for _, want := range []string{"IMAGE", env.registry + "/copa-test/debian:12-stale", "The image to patch.", "the packages that report.json fix"} {
		if !strings.Contains(out, want) {
			t.Errorf("the outline does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "apt:") {
		t.Errorf("--call outline ran a patch step:\n%s", out)
	}
}
