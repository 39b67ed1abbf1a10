package distrostest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// CheckGolden compares got with testdata/NAME.golden of the package under
// test (pkg names it for the message), rewriting it with update.
func CheckGolden(t testing.TB, pkg, name, got string, update bool) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test %s -update to create it)", err, pkg)
	}
	if got != string(want) {
		t.Errorf("step differs from %s (go test %s -update rewrites it):\n%s", golden, pkg, got)
	}
}

// RenderExec prints the exec ops of st and the files they mount, for
// golden tests of generated steps. Files whose name ends in .sh, or that
// are listed in own, are the package's own files and shown by name only.
func RenderExec(t testing.TB, st llb.State, own ...string) string {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]*pb.Op{}
	var order []string
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		d := digestOf(dt)
		ops[d] = &op
		order = append(order, d)
	}
	var b strings.Builder
	for _, d := range order {
		ex := ops[d].GetExec()
		if ex == nil {
			continue
		}
		fmt.Fprintf(&b, "args:\n")
		for _, a := range ex.Meta.Args {
			fmt.Fprintf(&b, "  %s\n", a)
		}
		fmt.Fprintf(&b, "env: %s\nuser: %s\ncwd: %s\n", strings.Join(ex.Meta.Env, " "), ex.Meta.User, ex.Meta.Cwd)
		if p := ex.Meta.ProxyEnv; p != nil {
			fmt.Fprintf(&b, "proxy: http=%s https=%s ftp=%s no=%s all=%s\n", p.HttpProxy, p.HttpsProxy, p.FtpProxy, p.NoProxy, p.AllProxy)
		}
		b.WriteString("mounts:\n")
		for _, m := range ex.Mounts {
			if so := m.SecretOpt; so != nil {
				fmt.Fprintf(&b, "  %s type=%s id=%s optional=%v mode=%o\n", m.Dest, m.MountType, so.ID, so.Optional, so.Mode)
				continue
			}
			fmt.Fprintf(&b, "  %s type=%s readonly=%v", m.Dest, m.MountType, m.Readonly)
			if m.CacheOpt != nil {
				fmt.Fprintf(&b, " cache=%s sharing=%s", m.CacheOpt.ID, m.CacheOpt.Sharing)
			}
			if m.Output >= 0 {
				fmt.Fprintf(&b, " output")
			}
			if m.ContentCache != pb.MountContentCache_DEFAULT {
				fmt.Fprintf(&b, " content-cache=%s", m.ContentCache)
			}
			b.WriteString("\n")
			if m.Readonly && m.Input >= 0 {
				renderFiles(&b, ops[string(ops[d].Inputs[m.Input].Digest)], own)
			}
		}
	}
	return b.String()
}

// renderFiles prints the files a mkfile op creates, except the package's
// own files, which are in the repository.
func renderFiles(b *strings.Builder, op *pb.Op, own []string) {
	if op == nil || op.GetFile() == nil {
		return
	}
	for _, a := range op.GetFile().Actions {
		mk := a.GetMkfile()
		if mk == nil {
			continue
		}
		if strings.HasSuffix(mk.Path, ".sh") || slices.Contains(own, mk.Path) {
			fmt.Fprintf(b, "    %s mode=%o (the package's own)\n", mk.Path, mk.Mode)
			continue
		}
		fmt.Fprintf(b, "    %s mode=%o: %q\n", mk.Path, mk.Mode, mk.Data)
	}
}

func digestOf(dt []byte) string { return string(digest.FromBytes(dt)) }
