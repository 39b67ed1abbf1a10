package frontend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// epochs hands out SOURCE_DATE_EPOCH values no earlier run of these tests
// used: the epoch is in the patch step's cache key, so a fresh one makes
// the step really run however warm the daemon's cache is, while builds
// that share one still have to agree on every digest.
var epochs atomic.Int64

func freshEpoch() string {
	epochs.CompareAndSwap(0, time.Now().Unix())
	return strconv.FormatInt(epochs.Add(1), 10)
}

// solveIn is patch without the testing.T: it runs the frontend's build
// with ctx, the build context being the files, exports the image as an
// OCI archive to out, and hands every status update to watch (if not nil).
// It returns failures instead of ending the test, so that goroutines other
// than the test's may call it.
func solveIn(ctx context.Context, env testEnv, files map[string]string, args map[string]string, out string, watch func(*client.SolveStatus)) (logs string, err error) {
	dir, err := os.MkdirTemp(filepath.Dir(out), "context-")
	if err != nil {
		return "", err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return "", err
	}
	c, err := client.New(ctx, env.host)
	if err != nil {
		return "", err
	}
	defer c.Close()
	attrs := map[string]string{"filename": "Patchfile", "source": os.Getenv("COPA_FRONTEND_IMAGE")}
	for k, v := range args {
		attrs["build-arg:"+k] = v
	}
	opt := client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: attrs,
		Exports: []client.ExportEntry{{
			Type:   client.ExporterOCI,
			Attrs:  map[string]string{"name": "patched"},
			Output: func(map[string]string) (io.WriteCloser, error) { return os.Create(out) },
		}},
	}
	ch := make(chan *client.SolveStatus)
	var b strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for st := range ch {
			if watch != nil {
				watch(st)
			}
			for _, l := range st.Logs {
				b.Write(l.Data)
			}
		}
	}()
	_, err = c.Build(ctx, opt, "", frontend.Build, ch)
	<-done
	return b.String(), err
}

// pruneTestImages empties the daemon's cache of what a patch of the
// harness images uses: the results of the patch steps (which hold their
// images' layers as parents), the images' and the frontend image's pulled
// layers, and the cache mounts (apt's lists and archives, dnf's and
// zypper's caches). Other tests may be building on the same daemon:
// unlike pruneAll, this leaves the rest of the cache (local contexts,
// other frontends' results) alone, and BuildKit prunes no record a build
// is using, so at worst their next step or pull starts over; it cannot
// make them wrong. What a concurrent build holds stays, so the count
// logged may be anything down to zero.
func pruneTestImages(t *testing.T, env testEnv) {
	t.Helper()
	ctx, c := daemon(t, env)
	// The filters are alternatives: a record that matches one is pruned.
	filters := []string{
		"type==exec.cachemount",
		"description~=" + strconv.Quote("from exec /bin/sh "+distros.InputsDir+"/"),
		"description~=" + strconv.Quote("pulled from "+env.registry+"/copa-test/"),
	}
	if img := os.Getenv("COPA_FRONTEND_IMAGE"); img != "" {
		filters = append(filters, "description~="+strconv.Quote("pulled from "+img))
	}
	ch := make(chan client.UsageInfo)
	var records int
	var size int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range ch {
			records++
			size += u.Size
		}
	}()
	err := c.Prune(ctx, ch, client.PruneAll, client.WithFilter(filters))
	close(ch)
	<-done
	if err != nil {
		t.Fatalf("pruning the build cache: %v", err)
	}
	t.Logf("pruned %d cache records (%d MB)", records, size>>20)
}

// TestCancelledPatchLeavesDaemonUsable cancels a build once its apt step
// is running (the step has logged, seen in the status stream) and then
// patches the same image again: the second build must give a correctly
// patched image. A step killed halfway leaves whatever apt had written to
// the locked cache mounts of its lists and archives, and the next build
// mounts those same caches.
func TestCancelledPatchLeavesDaemonUsable(t *testing.T) {
	env := needEnv(t)
	base := baseImage(t, env, "12-stale")
	want := upgradableOf(t, env, "debian-12-stale.upgradable", baseInstalled(t, base))
	if len(want) == 0 {
		noHarnessData(t, env, "no upgradable package in debian-12-stale.upgradable")
	}
	// Every package with an update: the longest apt step the image has,
	// so the cancel reaches it while it works.
	files := map[string]string{"Patchfile": "PATCH " + env.registry + "/copa-test/debian:12-stale\n"}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		step     = map[string]bool{} // the apt step's vertex digests
		seen     string
		canceled bool
	)
	watch := func(st *client.SolveStatus) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range st.Vertexes {
			if strings.Contains(v.Name, "] apt: ") {
				step[v.Digest.String()] = true
				seen = v.Name
			}
		}
		for _, l := range st.Logs {
			if step[l.Vertex.String()] && !canceled {
				canceled = true
				cancel()
			}
		}
	}
	logs, err := solveIn(ctx, env, files, map[string]string{frontend.ArgSourceDateEpoch: freshEpoch()}, filepath.Join(t.TempDir(), "cancelled.tar"), watch)
	mu.Lock()
	stepName, wasCanceled := seen, canceled
	mu.Unlock()
	switch {
	case stepName == "":
		t.Fatalf("the status stream showed no apt step (error %v)\n%s", err, logs)
	case !wasCanceled:
		t.Fatalf("the apt step %q logged nothing before the build ended (error %v)\n%s", stepName, err, logs)
	case err == nil:
		t.Fatalf("the build succeeded though it was cancelled while %q ran", stepName)
	}
	t.Logf("cancelled during %q: %v", stepName, err)

	res := patch(t, env, files, map[string]string{frontend.ArgSourceDateEpoch: freshEpoch()})
	if res.err != nil {
		t.Fatalf("the patch after the cancelled one failed: %v\n%s", res.err, res.logs)
	}
	checkPatched(t, base, res.image, want)
}

// concurrentPatch is one of the builds a concurrency test starts at once.
type concurrentPatch struct {
	name  string
	files map[string]string
	// check asserts that the patched image is right.
	check func(t *testing.T, got *imagetest.Image)
}

// patchConcurrently starts the builds at once on the harness's daemon, all
// with the build args, waits for all of them and checks each one's image
// in its own subtest. It returns the images, nil for a build that failed.
func patchConcurrently(t *testing.T, env testEnv, builds []concurrentPatch, args map[string]string) []*imagetest.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	type outcome struct {
		tar, logs string
		err       error
	}
	outs := make([]outcome, len(builds))
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := filepath.Join(dir, strconv.Itoa(i))
			if err := os.Mkdir(d, 0o755); err != nil {
				outs[i].err = err
				return
			}
			outs[i].tar = filepath.Join(d, "image.tar")
			outs[i].logs, outs[i].err = solveIn(ctx, env, b.files, args, outs[i].tar, nil)
		}()
	}
	wg.Wait()
	imgs := make([]*imagetest.Image, len(builds))
	for i, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			if outs[i].err != nil {
				t.Fatalf("patch failed: %v\n%s", outs[i].err, outs[i].logs)
			}
			img, err := imagetest.ReadOCITarFor(outs[i].tar, "linux/amd64")
			if err != nil {
				t.Fatal(err)
			}
			imgs[i] = img
			b.check(t, img)
		})
	}
	return imgs
}

// TestConcurrentPatchesOfOneImage patches the stale Debian 12 image eight
// times at once, from a cache without its layers or apt's caches and with
// one fresh SOURCE_DATE_EPOCH: every build must succeed with the same
// patch layer. BuildKit may run the identical step once for all of them;
// what this asserts is that eight sessions pulling, resolving and
// exporting it at once all get the right result.
func TestConcurrentPatchesOfOneImage(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	base := baseImage(t, env, "12-stale")
	fixes := trivyFixes(t, report)
	pruneTestImages(t, env)
	builds := make([]concurrentPatch, 8)
	for i := range builds {
		builds[i] = concurrentPatch{
			name: fmt.Sprintf("build-%d", i+1),
			files: map[string]string{
				"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\n",
				"report.json": report,
			},
			check: func(t *testing.T, got *imagetest.Image) { checkPatched(t, base, got, fixes) },
		}
	}
	imgs := patchConcurrently(t, env, builds, map[string]string{frontend.ArgSourceDateEpoch: freshEpoch()})
	layers := map[string][]string{}
	for i, img := range imgs {
		if img == nil {
			continue
		}
		d := img.LayerDigests()
		top := d[len(d)-1].String()
		layers[top] = append(layers[top], builds[i].name)
	}
	if len(layers) > 1 {
		t.Errorf("the builds gave different patch layers: %v", layers)
	}
}

// TestConcurrentPatchesOfManyImages patches eight different harness images
// at once, from a cache without their layers or the package managers'
// caches: Debian 12 and 11 with apt (from a Trivy and from a Grype
// report), Debian 11 without apt and the distroless images from their
// tooling images, and the dnf, rpm-database-only and zypper images. Each
// must be patched as its own test checks it.
func TestConcurrentPatchesOfManyImages(t *testing.T) {
	env := needEnv(t)
	reg := env.registry
	var builds []concurrentPatch

	// Debian 12 with apt, from the Trivy report.
	{
		base := baseImage(t, env, "12-stale")
		report := readData(t, env, "debian-12-stale.trivy.json")
		fixes := trivyFixes(t, report)
		builds = append(builds, concurrentPatch{"debian-12-trivy",
			map[string]string{"Patchfile": "PATCH " + reg + "/copa-test/debian:12-stale\nREPORT report.json\n", "report.json": report},
			func(t *testing.T, got *imagetest.Image) { checkPatched(t, base, got, fixes) }})
	}
	// Debian 11 with apt, from the Grype report.
	{
		base := baseImage(t, env, "11-stale")
		report := readData(t, env, "debian-11-stale.grype.json")
		fixes := grypeFixes(t, report)
		builds = append(builds, concurrentPatch{"debian-11-grype",
			map[string]string{"Patchfile": "PATCH " + reg + "/copa-test/debian:11-stale\nREPORT report.json\n", "report.json": report},
			func(t *testing.T, got *imagetest.Image) { checkPatched(t, base, got, fixes) }})
	}
	// Debian 11 without apt: dpkg's status file, from the tooling image.
	{
		base := baseImage(t, env, "11-stale-noapt")
		report := trivyFor(t, readData(t, env, "debian-11-stale.trivy.json"), baseInstalled(t, base))
		fixes := trivyFixes(t, report)
		builds = append(builds, concurrentPatch{"debian-11-noapt",
			map[string]string{"Patchfile": "PATCH " + reg + "/copa-test/debian:11-stale-noapt\nTOOLING " + reg + "/copa-test/debian:bullseye\nREPORT report.json\n", "report.json": report},
			func(t *testing.T, got *imagetest.Image) { checkPatched(t, base, got, fixes) }})
	}
	// The distroless images: status.d, from the tooling images, one from
	// its report and one upgrading everything.
	for _, d := range []struct{ tag, codename string }{{"12-stale", "bookworm"}, {"11-stale", "bullseye"}} {
		base := harnessImage(t, env, "copa-test/distroless", d.tag)
		baseFS := mergedFS(t, base)
		names := statusDNames(t, baseFS)
		before := debtest.Versions(statusD(t, baseFS, names))
		pf := "PATCH " + reg + "/copa-test/distroless:" + d.tag + "\nTOOLING " + reg + "/copa-test/debian:" + d.codename + "\n"
		if d.tag == "12-stale" {
			report := trivyFor(t, readData(t, env, "debian-12-stale.trivy.json"), before)
			want := trivyFixes(t, report)
			builds = append(builds, concurrentPatch{"distroless-12-report",
				map[string]string{"Patchfile": pf + "REPORT report.json\n", "report.json": report},
				func(t *testing.T, got *imagetest.Image) { checkDistroless(t, base, got, names, before, want, false) }})
			continue
		}
		want := distrolessUpgradable(t, env, d.tag, before)
		builds = append(builds, concurrentPatch{"distroless-11-all",
			map[string]string{"Patchfile": pf},
			func(t *testing.T, got *imagetest.Image) { checkDistroless(t, base, got, names, before, want, true) }})
	}
	// The rpm images: dnf, the rpm database alone with the tooling image's
	// dnf, and zypper.
	for _, c := range rpmCases {
		base := c.image(t, env)
		report := readData(t, env, filepath.Join("rpm", c.report))
		want := rpmReportFixes(t, report)
		pf := "PATCH " + reg + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\n"
		if c.tooling != "" {
			pf += "TOOLING " + reg + "/" + c.tooling + "\n"
		}
		builds = append(builds, concurrentPatch{strings.ReplaceAll(strings.TrimPrefix(c.repo, "copa-test/")+"-"+c.tag, ":", "-"),
			map[string]string{"Patchfile": pf, "report.json": report},
			func(t *testing.T, got *imagetest.Image) { checkRPMPatched(t, base, got, c, want) }})
	}
	if len(builds) != 8 {
		t.Fatalf("%d builds, want eight", len(builds))
	}
	pruneTestImages(t, env)
	patchConcurrently(t, env, builds, map[string]string{frontend.ArgSourceDateEpoch: freshEpoch()})
}

// grypeFixes is trivyFixes for a Grype report: the highest fixed version
// of each package that has one.
func grypeFixes(t *testing.T, report string) map[string]string {
	t.Helper()
	var r struct {
		Matches []struct {
			Artifact      struct{ Name string }
			Vulnerability struct {
				Fix struct {
					State    string
					Versions []string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatal(err)
	}
	v := debtest.Versioning{}
	fixes := map[string]string{}
	for _, m := range r.Matches {
		if m.Vulnerability.Fix.State != "fixed" {
			continue
		}
		for _, fixed := range m.Vulnerability.Fix.Versions {
			if cur, ok := fixes[m.Artifact.Name]; !ok || v.Compare(fixed, cur) > 0 {
				fixes[m.Artifact.Name] = fixed
			}
		}
	}
	if len(fixes) == 0 {
		t.Fatal("the Grype report names no fixed version")
	}
	return fixes
}
