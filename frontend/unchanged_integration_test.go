package frontend_test

import (
	"reflect"
	"testing"
)

// TestUpgradeAllUpToDate patches an image without a report, then patches
// the result again: the second run has nothing to upgrade and must return
// the image as it is — no history entry, no new layer — rather than a
// patch of nothing.
func TestUpgradeAllUpToDate(t *testing.T) {
	env := needEnv(t)
	pushed := env.registry + "/copa-test/patched:distroless-12-all"
	tooling := "TOOLING " + env.registry + "/copa-test/debian:bookworm\n"
	first := patch(t, env, map[string]string{"Patchfile": "PATCH " + env.registry + "/copa-test/distroless:12-stale\n" + tooling}, nil, pushed)
	if first.err != nil {
		t.Fatalf("first patch: %v\n%s", first.err, first.logs)
	}
	second := patch(t, env, map[string]string{"Patchfile": "PATCH " + pushed + "\n" + tooling}, nil)
	if second.err != nil {
		t.Fatalf("second patch: %v\n%s", second.err, second.logs)
	}
	if !hasWarning(second.warnings, "every package is up to date for linux/amd64; the image is returned unchanged") {
		t.Errorf("no warning that nothing was upgraded: %q", second.warnings)
	}
	a, b := first.image, second.image
	if len(b.Config.History) != len(a.Config.History) || !reflect.DeepEqual(a.LayerDigests(), b.LayerDigests()) {
		t.Errorf("the second patch added to the image: %d → %d history entries, layers %v → %v",
			len(a.Config.History), len(b.Config.History), a.LayerDigests(), b.LayerDigests())
	}
	if !reflect.DeepEqual(a.Config.RootFS.DiffIDs, b.Config.RootFS.DiffIDs) {
		t.Errorf("layers differ: %v vs %v", a.Config.RootFS.DiffIDs, b.Config.RootFS.DiffIDs)
	}
	if !reflect.DeepEqual(a.Config.Config.Labels, b.Config.Config.Labels) {
		t.Errorf("labels differ: %v vs %v", a.Config.Config.Labels, b.Config.Config.Labels)
	}
}
