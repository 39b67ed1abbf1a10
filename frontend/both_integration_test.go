package frontend_test

import (
	"bytes"
	"testing"
)

// TestPatchBothDatabases patches the Debian 11 image that keeps a full
// status file and a status.d beside it, without apt. The frontend and the
// helper must agree on the database: status, as dpkg itself reads only
// that. Before they agreed, the helper wrote status.d while the frontend
// read status, and verification failed after the patch.
func TestPatchBothDatabases(t *testing.T) {
	env := needEnv(t)
	base := baseImage(t, env, "11-stale-both")
	report := trivyFor(t, readData(t, env, "debian-11-stale.trivy.json"), baseInstalled(t, base))
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:11-stale-both\nTOOLING " + env.registry + "/copa-test/debian:bullseye\nREPORT report.json\n",
		"report.json": report,
	}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkPatched(t, base, res.image, trivyFixes(t, report))

	// status.d is left as the image had it: none of it is in the layer.
	before, after := mergedFS(t, base), mergedFS(t, res.image)
	names := before.List("var/lib/dpkg/status.d")
	if len(names) == 0 {
		t.Fatal("the harness image has no status.d")
	}
	for _, n := range names {
		a, _ := before.ReadFile("var/lib/dpkg/status.d/" + n)
		b, ok := after.ReadFile("var/lib/dpkg/status.d/" + n)
		if !ok || !bytes.Equal(a, b) {
			t.Errorf("status.d/%s changed in the patch", n)
		}
	}
}
