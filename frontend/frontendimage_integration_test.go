package frontend_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/copa/frontend/internal/imagetest"
)

// TestFrontendImageConfig reads the frontend image the harness pushed
// ($COPA_FRONTEND_IMAGE), every platform of it: each must name a user
// other than root and carry the label with which BuildKit starts the
// frontend's container without a network (see docs/security.md). The
// user is what a runtime that honours USER runs it as; BuildKit does not,
// and the binary drops root itself (cmd/frontend's tests check that).
func TestFrontendImageConfig(t *testing.T) {
	needEnv(t)
	ref := os.Getenv("COPA_FRONTEND_IMAGE")
	if ref == "" {
		t.Fatal("COPA_FRONTEND_IMAGE is not set: run `make test` (hack/harness.sh builds and pushes the frontend image)")
	}
	registry, rest, ok := strings.Cut(ref, "/")
	repo, tag, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		t.Fatalf("COPA_FRONTEND_IMAGE %q is not REGISTRY/REPO:TAG", ref)
	}
	for _, platform := range []string{"linux/amd64", "linux/arm64"} {
		t.Run(platform, func(t *testing.T) {
			img, err := imagetest.FromRegistry(registry, repo, tag, platform)
			if err != nil {
				t.Fatal(err)
			}
			c := img.Config.Config
			uid, _, _ := strings.Cut(c.User, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("User %q: want a numeric uid other than 0 (a name needs an /etc/passwd the image does not have)", c.User)
			}
			if v, err := strconv.ParseBool(c.Labels["moby.buildkit.frontend.network.none"]); err != nil || !v {
				t.Errorf("label moby.buildkit.frontend.network.none = %q, want true", c.Labels["moby.buildkit.frontend.network.none"])
			}
			if strings.Join(c.Entrypoint, " ") != "/bin/frontend" {
				t.Errorf("Entrypoint %q, want [/bin/frontend]", c.Entrypoint)
			}
		})
	}
}
