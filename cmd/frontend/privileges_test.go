package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TestFrontendImageIsUnprivileged reads the Dockerfile that builds the
// frontend image: its final stage must run /bin/frontend as the
// unprivileged user the binary drops to, and carry the label that makes
// BuildKit start the frontend's container without a network and the one
// that lists its capabilities.
func TestFrontendImageIsUnprivileged(t *testing.T) {
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	// The final stage: what follows the last FROM.
	var final []*parser.Node
	for _, n := range ast.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			final = nil
		}
		final = append(final, n)
	}
	var user string
	var entrypoint []string
	labels := map[string]string{}
	for _, n := range final {
		var args []string
		for a := n.Next; a != nil; a = a.Next {
			args = append(args, a.Value)
		}
		// The parser keeps the instruction as written.
		switch strings.ToLower(n.Value) {
		case "user":
			user = strings.Join(args, " ")
		case "entrypoint":
			entrypoint = args
			if !n.Attributes["json"] {
				entrypoint = []string{"(shell form) " + strings.Join(args, " ")}
			}
		case "label":
			// KEY, VALUE and the separator, per label.
			for i := 0; i+1 < len(args); i += 3 {
				v, err := strconv.Unquote(args[i+1])
				if err != nil {
					v = args[i+1]
				}
				labels[args[i]] = v
			}
		}
	}
	if want := fmt.Sprintf("%d:%d", frontendUID, frontendGID); user != want {
		t.Errorf("the final stage's USER is %q, want %q (the uid and gid the frontend drops to)", user, want)
	}
	if strings.Join(entrypoint, " ") != "/bin/frontend" {
		t.Errorf("ENTRYPOINT %q, want [\"/bin/frontend\"]", entrypoint)
	}
	// BuildKit refuses a build that asks for a capability (inputs,
	// subrequests, named contexts) this label does not list.
	if labels["moby.buildkit.frontend.caps"] == "" {
		t.Error("no label moby.buildkit.frontend.caps")
	}
	if v, err := strconv.ParseBool(labels["moby.buildkit.frontend.network.none"]); err != nil || !v {
		t.Errorf("label moby.buildkit.frontend.network.none = %q, want true: without it BuildKit gives the frontend a network", labels["moby.buildkit.frontend.network.none"])
	}
}

// envDropChild makes the test binary, run again by TestDropPrivileges,
// drop root and print its ids.
const envDropChild = "COPA_TEST_DROP_PRIVILEGES_CHILD"

// TestDropPrivileges runs dropPrivileges in a child process (it cannot be
// undone, so not in the test's own): run as root, the child must end up
// as frontendUID:frontendGID with no supplementary groups, and unable to
// become root again; run as anyone else, it must stay who it was.
func TestDropPrivileges(t *testing.T) {
	if os.Getenv(envDropChild) != "" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropPrivilegesChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envDropChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child failed: %v\n%s", err, out)
	}
	got := ""
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "ids: "); ok {
			got = rest
		}
	}
	want := fmt.Sprintf("uid=%d gid=%d groups=[] regain-root=refused", frontendUID, frontendGID)
	if os.Geteuid() != 0 {
		want = fmt.Sprintf("uid=%d gid=%d", os.Geteuid(), os.Getegid())
		got, _, _ = strings.Cut(got, " groups=")
	}
	if got != want {
		t.Errorf("after dropPrivileges as uid %d: %q, want %q\n%s", os.Geteuid(), got, want, out)
	}
}

// TestDropPrivilegesChild is the child of TestDropPrivileges; on its own
// it does nothing, and passes rather than skips, so that a run of the
// whole suite shows no skipped test.
func TestDropPrivilegesChild(t *testing.T) {
	if os.Getenv(envDropChild) == "" {
		return
	}
	wasRoot := os.Geteuid() == 0
	did, err := dropPrivileges()
	if err != nil {
		t.Fatal(err)
	}
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("ids: uid=%d gid=%d groups=%v", os.Geteuid(), os.Getegid(), groups)
	if wasRoot {
		regain := "refused"
		if setIDsErr := regainRoot(); setIDsErr == nil {
			regain = "allowed"
		}
		line += " regain-root=" + regain
	}
	fmt.Println(line)
	t.Log(did)
}
