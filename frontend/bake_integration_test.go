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
	"time"
)

// bakeImages is how many of the harness's bulk-patching images
// (copa-test/debian:12-stale-bake-NN) TestBakeSharesFetches patches.
const bakeImages = 3

// TestBakeSharesFetches patches three images of one release in one
// `docker buildx bake`, with examples/bake's Patchfile, through a counting
// proxy. Each image is patched as alone: the versions its report fixes,
// one layer, its apt sources and config as they were. Together they
// fetched each package index and each .deb once: the steps shared the
// lists and the downloads instead of fetching them three times.
//
// The images are the harness's bake images plus the same apt sources
// with a comment of this run's own, so the shared caches, which are per
// set of sources, start empty without pruning the daemon's cache.
func TestBakeSharesFetches(t *testing.T) {
	env := needEnv(t)
	frontendImage := os.Getenv("COPA_FRONTEND_IMAGE")
	if frontendImage == "" {
		t.Fatal("COPA_FRONTEND_IMAGE is not set: run `make test` (hack/harness.sh builds and pushes the frontend image)")
	}
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	dir := t.TempDir()
	mkdir(t, filepath.Join(dir, "reports"))
	copyFile(t, "../examples/bake/Patchfile", filepath.Join(dir, "Patchfile"))

	var names []string
	for n := 1; n <= bakeImages; n++ {
		name := fmt.Sprintf("12-stale-bake-%02d", n)
		names = append(names, name)
		withRunSources(t, env, name, "bake-test-"+name, run)
		report := readData(t, env, "bake/"+name+".trivy.json")
		if err := os.WriteFile(filepath.Join(dir, "reports", name+".json"), []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	p := startCountingProxy(t)
	url := "http://" + p.addr
	hcl := fmt.Sprintf(`target "patch" {
  name = "patch-${n}"
  matrix = { n = %s }
  dockerfile = "Patchfile"
  args = {
    IMAGE = "%s/copa-test/debian:bake-test-${n}"
    REPORT = "reports/${n}.json"
    BUILDKIT_SYNTAX = "%s"
    HTTP_PROXY = "%s"
    http_proxy = "%s"
    NO_PROXY = "localhost"
  }
  tags = ["%s/copa-test/debian:bake-test-${n}-patched"]
  output = ["type=registry"]
}
`, quoteList(names), env.registry, frontendImage, url, url, env.registry)
	if err := os.WriteFile(filepath.Join(dir, "docker-bake.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := bake(t, dir, "patch")
	if err != nil {
		t.Fatalf("docker buildx bake: %v\n%s", err, out)
	}

	for _, name := range names {
		base := harnessImage(t, env, "copa-test/debian", "bake-test-"+name)
		got := harnessImage(t, env, "copa-test/debian", "bake-test-"+name+"-patched")
		checkPatched(t, base, got, trivyFixes(t, readData(t, env, "bake/"+name+".trivy.json")))
		layer, err := got.Layer(len(got.Manifest.Layers) - 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range layer.Headers {
			if strings.HasPrefix(h.Name, "etc/apt/") || strings.HasPrefix(h.Name, "srv/") {
				t.Errorf("%s: the patch layer has %s: the image's apt configuration and its own files stay as they were", name, h.Name)
			}
		}
	}
	checkFetchedOnce(t, p.log())
	t.Logf("%d of %d patch steps used the lists a concurrent step had just updated",
		strings.Count(out, "as a concurrent build sharing them updated them"), len(names))
}

// checkFetchedOnce: no package index and no .deb was downloaded twice
// (answered 200 more than once), and some were (the caches were empty).
func checkFetchedOnce(t *testing.T, log []proxied) {
	t.Helper()
	got := map[string]int{}
	var debs, indexes, releases int
	for _, r := range log {
		if r.status != 200 {
			continue
		}
		got[r.url]++
		switch {
		case strings.HasSuffix(r.url, ".deb"):
			debs++
		case strings.HasSuffix(r.url, "/InRelease"), strings.HasSuffix(r.url, "/Release"), strings.HasSuffix(r.url, "/Release.gpg"):
			releases++
		case strings.Contains(r.url, "/dists/"):
			indexes++
		}
	}
	for u, n := range got {
		if n > 1 && !strings.HasSuffix(u, "Release") && !strings.HasSuffix(u, "Release.gpg") {
			t.Errorf("%s was downloaded %d times", u, n)
		}
	}
	if debs == 0 || indexes == 0 {
		t.Errorf("the bake downloaded %d package index(es) and %d .deb(s): the shared caches were not empty, so this proves nothing", indexes, debs)
	}
	t.Logf("through the proxy: %d request(s); downloaded %d release file(s), %d package index(es), %d .deb(s), each once", len(log), releases, indexes, debs)
}

// withRunSources pushes tag: the harness image from plus a layer that
// rewrites its apt sources with a comment naming run, which gives its
// patch caches of its own.
func withRunSources(t *testing.T, env testEnv, from, tag, run string) {
	t.Helper()
	const sources = "etc/apt/sources.list.d/debian.sources"
	fs, err := harnessImage(t, env, "copa-test/debian", from).FS()
	if err != nil {
		t.Fatal(err)
	}
	dt, ok := fs.ReadFile(sources)
	if !ok {
		t.Fatalf("%s has no /%s", from, sources)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "debian.sources"), append([]byte("# copa bake test "+run+"\n"), dt...), 0o644); err != nil {
		t.Fatal(err)
	}
	df := fmt.Sprintf("FROM %s/copa-test/debian:%s\nCOPY debian.sources /%s\n", env.registry, from, sources)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "buildx", "build", "--builder", builderName(), "--progress=quiet", "--provenance=false",
		"-t", env.registry+"/copa-test/debian:"+tag, "--push", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", tag, err, out)
	}
}

// bake runs `docker buildx bake` in dir on the harness's builder.
func bake(t *testing.T, dir string, targets ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"buildx", "bake", "--builder", builderName(), "--progress=plain"}, targets...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestBakeExample checks examples/bake with buildx itself: its bake file
// makes a target per image and tag, each building the Patchfile beside
// it with that image and a report of its own, and pushing
// <image>:<tag>-patched.
func TestBakeExample(t *testing.T) {
	needEnv(t)
	out, err := exec.Command("docker", "buildx", "bake", "--print", "-f", "../examples/bake/docker-bake.hcl").Output()
	if err != nil {
		t.Fatalf("docker buildx bake --print: %v", err)
	}
	var def struct {
		Target map[string]struct {
			Dockerfile string
			Args       map[string]string
			Tags       []string
		}
	}
	if err := json.Unmarshal(out, &def); err != nil {
		t.Fatal(err)
	}
	if len(def.Target) < 4 {
		t.Fatalf("the example bakes %d target(s), want a matrix of images and tags", len(def.Target))
	}
	reports := map[string]bool{}
	for name, tg := range def.Target {
		if tg.Dockerfile != "Patchfile" || tg.Args["IMAGE"] == "" || len(tg.Tags) != 1 || tg.Tags[0] != tg.Args["IMAGE"]+"-patched" {
			t.Errorf("target %s: %+v", name, tg)
		}
		if reports[tg.Args["REPORT"]] {
			t.Errorf("target %s shares its report %s", name, tg.Args["REPORT"])
		}
		reports[tg.Args["REPORT"]] = true
	}
}

func builderName() string {
	if b := os.Getenv("COPA_BUILDER"); b != "" {
		return b
	}
	return "copa"
}

func quoteList(s []string) string {
	dt, _ := json.Marshal(s)
	return string(dt)
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	dt, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, dt, 0o644); err != nil {
		t.Fatal(err)
	}
}
