package frontend_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/internal/imagetest"
)

// TestReproduciblePatch patches the stale Debian 12 image twice from an
// empty build cache, with the same Patchfile, report and SOURCE_DATE_EPOCH
// and without the exporter's rewrite-timestamp (the frontend's own steps
// must date what they write): the image manifests must be equal, and so
// the patch layer, the config with its history and labels, and the VEX
// attestation. When they differ, the test lists what differs, file by
// file. See docs/reproducible.md.
func TestReproduciblePatch(t *testing.T) {
	env := needEnv(t)
	const epoch = "1764028800" // 2025-11-25: earlier than the build, so the steps have times to clamp
	files := map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\n",
		"report.json": readData(t, env, "debian-12-stale.trivy.json"),
	}
	ref := env.registry + "/copa-test/debian:12-stale-reproducible"
	var imgs [2]*imagetest.Image
	var vex [2]string
	for i := range imgs {
		pruneAll(t, env)
		res := patch(t, env, files, map[string]string{frontend.ArgSourceDateEpoch: epoch}, ref)
		if res.err != nil {
			t.Fatalf("build %d: %v\n%s", i+1, res.err, res.logs)
		}
		imgs[i] = res.image
		_, statements, err := imagetest.Attestations(env.registry, "copa-test/debian", "12-stale-reproducible", "linux/amd64")
		if err != nil {
			t.Fatalf("build %d: %v", i+1, err)
		}
		for _, st := range statements {
			if st.PredicateType == frontend.PredicateTypeOpenVEX {
				vex[i] = string(st.Predicate)
			}
		}
		if vex[i] == "" {
			t.Fatalf("build %d has no VEX attestation", i+1)
		}
	}
	a, b := imgs[0], imgs[1]
	if a.Digest != b.Digest {
		t.Errorf("two builds from an empty cache gave image manifests %s and %s", a.Digest, b.Digest)
		reportDifferences(t, a, b)
	} else {
		t.Logf("both builds gave image manifest %s", a.Digest)
	}
	if vex[0] != vex[1] {
		t.Errorf("the VEX attestations differ:\n%s\n%s", vex[0], vex[1])
	}

	// The known difference, ldconfig's cache of this build's inodes, is
	// not shipped.
	layer, err := a.Layer(len(a.Manifest.Layers) - 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := layer.Files["var/cache/ldconfig/aux-cache"]; ok {
		t.Error("the patch layer ships var/cache/ldconfig/aux-cache")
	}
	// With SOURCE_DATE_EPOCH the config is dated by it.
	if c := a.Config.Created; c == nil || c.Unix() != 1764028800 {
		t.Errorf("config created %v, want SOURCE_DATE_EPOCH", c)
	}
}

// reportDifferences logs how two patched images differ: config, layer
// digests and, in layers that differ, each file whose header or content
// does.
func reportDifferences(t *testing.T, a, b *imagetest.Image) {
	t.Helper()
	if a.Manifest.Config.Digest != b.Manifest.Config.Digest {
		var ca, cb map[string]json.RawMessage
		for _, c := range []struct {
			img *imagetest.Image
			m   *map[string]json.RawMessage
		}{{a, &ca}, {b, &cb}} {
			dt, err := c.img.Blob(c.img.Manifest.Config.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(dt, c.m); err != nil {
				t.Fatal(err)
			}
		}
		keys := slices.Sorted(maps.Keys(ca))
		for k := range cb {
			if _, ok := ca[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if !bytes.Equal(ca[k], cb[k]) {
				t.Logf("config %q differs:\n  build 1: %s\n  build 2: %s", k, ca[k], cb[k])
			}
		}
	}
	la, lb := a.LayerDigests(), b.LayerDigests()
	if len(la) != len(lb) {
		t.Logf("layers: %v and %v", la, lb)
		return
	}
	for i := range la {
		if la[i] == lb[i] {
			continue
		}
		if a.Manifest.Layers[i].MediaType != b.Manifest.Layers[i].MediaType {
			t.Logf("layer %d: media types %s and %s", i, a.Manifest.Layers[i].MediaType, b.Manifest.Layers[i].MediaType)
		}
		xa, err := a.Layer(i)
		if err != nil {
			t.Fatal(err)
		}
		xb, err := b.Layer(i)
		if err != nil {
			t.Fatal(err)
		}
		ea, eb := layerEntries(xa), layerEntries(xb)
		var names []string
		for n := range ea {
			names = append(names, n)
		}
		for n := range eb {
			if _, ok := ea[n]; !ok {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		n := 0
		for _, name := range names {
			if ea[name] == eb[name] {
				continue
			}
			n++
			t.Logf("layer %d: /%s\n  build 1: %s\n  build 2: %s", i, name, orNone(ea[name]), orNone(eb[name]))
		}
		if n == 0 {
			t.Logf("layer %d: %s and %s hold the same files (the tar differs: order or padding)", i, la[i], lb[i])
		}
	}
}

// layerEntries describes each entry of a layer by what the image gets of
// it: type, mode, owner, mtime, size, link target, xattrs and content.
func layerEntries(l *imagetest.Layer) map[string]string {
	out := map[string]string{}
	for _, h := range l.Headers {
		var x []string
		for k, v := range h.PAXRecords {
			x = append(x, k+"="+fmt.Sprintf("%x", sha256.Sum256([]byte(v)))[:12])
		}
		slices.Sort(x)
		d := fmt.Sprintf("type %c mode %o owner %d:%d mtime %d size %d", h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.Size)
		if h.Linkname != "" {
			d += " link " + h.Linkname
		}
		if len(x) > 0 {
			d += " pax " + strings.Join(x, ",")
		}
		if h.Typeflag == tar.TypeReg {
			content := l.Files[h.Name]
			d += fmt.Sprintf(" sha256 %x", sha256.Sum256(content))[:len(" sha256 ")+16]
			if len(content) < 200 && !bytes.ContainsRune(content, 0) {
				d += fmt.Sprintf(" %q", content)
			}
		}
		out[h.Name] = d
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// TestReproducibleIndex patches both platforms of the two-platform index
// twice from an empty cache (arm64 with apt under emulation, maintainer
// scripts and all): each platform's manifest must be equal across the
// builds.
func TestReproducibleIndex(t *testing.T) {
	env := needEnv(t)
	files := map[string]string{
		"Patchfile":  "PATCH " + env.registry + "/copa-test/debian:" + attestedTag + "\nREPORT --platform=linux/amd64 amd64.json\nREPORT --platform=linux/arm64 arm64.json\n",
		"amd64.json": readData(t, env, amd64Report),
		"arm64.json": readData(t, env, arm64Report),
	}
	const tag = "multi-reproducible"
	var got [2]map[string]*imagetest.Image
	for i := range got {
		pruneAll(t, env)
		res := patch(t, env, files, map[string]string{frontend.ArgSourceDateEpoch: "1764028800"}, env.registry+"/copa-test/patched:"+tag)
		if res.err != nil {
			t.Fatalf("build %d: %v\n%s", i+1, res.err, res.logs)
		}
		got[i] = map[string]*imagetest.Image{}
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			got[i][p] = platformImage(t, env, "copa-test/patched", tag, p)
		}
	}
	for p, a := range got[0] {
		b := got[1][p]
		if len(a.Manifest.Layers) == len(platformImage(t, env, "copa-test/debian", attestedTag, p).Manifest.Layers) {
			t.Errorf("%s was not patched", p)
		}
		if a.Digest != b.Digest {
			t.Errorf("%s: two builds from an empty cache gave image manifests %s and %s", p, a.Digest, b.Digest)
			reportDifferences(t, a, b)
		} else {
			t.Logf("%s: both builds gave image manifest %s", p, a.Digest)
		}
	}
}

// TestReproducibleOnAnotherBuilder patches the stale Debian 12 image from
// an empty cache on the harness's two daemons (separate roots, caches and
// worker platform lists): the image manifests must be equal.
func TestReproducibleOnAnotherBuilder(t *testing.T) {
	env := needEnv(t)
	other := env
	other.host = os.Getenv("COPA_TEST_NOEMU_BUILDKIT_HOST")
	if other.host == "" {
		t.Fatal("COPA_TEST_NOEMU_BUILDKIT_HOST is not set: run `make test` (hack/harness.sh noemu-up starts that daemon)")
	}
	files := map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\n",
		"report.json": readData(t, env, "debian-12-stale.trivy.json"),
	}
	var digests []string
	for _, e := range []testEnv{env, other} {
		pruneAll(t, e)
		res := patch(t, e, files, map[string]string{frontend.ArgSourceDateEpoch: "1764028800"})
		if res.err != nil {
			t.Fatalf("build on %s: %v\n%s", e.host, res.err, res.logs)
		}
		digests = append(digests, res.image.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("the two builders gave image manifests %s and %s", digests[0], digests[1])
	}
}
