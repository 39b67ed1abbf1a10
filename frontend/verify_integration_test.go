package frontend_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
)

// TestPatchedImagesVerify patches the stale Debian 12 and Debian 11 images
// from their reports and checks the images themselves, on the daemon that
// patched them: dpkg --verify finds nothing wrong with any upgraded
// package, and the shell, apt and perl (essential or apt's, so in both
// images whatever the patch upgraded) still run.
func TestPatchedImagesVerify(t *testing.T) {
	env := needEnv(t)
	for _, tag := range []string{"12-stale", "11-stale"} {
		t.Run(tag, func(t *testing.T) {
			report := readData(t, env, "debian-"+tag+".trivy.json")
			ref := env.registry + "/copa-test/debian:" + tag + "-verified"
			// Patch from an empty cache and run the result on the same
			// daemon right after, as a bake file that patches images and
			// builds on them does: the daemon must not hand the run a
			// snapshot of the patch build that lacks the image's files.
			pruneAll(t, env)
			res := patch(t, env, map[string]string{
				"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:" + tag + "\nREPORT report.json\n",
				"report.json": report,
			}, nil, ref)
			if res.err != nil {
				t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
			}
			base := baseImage(t, env, tag)
			after := checkPatched(t, base, res.image, trivyFixes(t, report))
			upgraded := changed(baseInstalled(t, base), after)
			out := runInImage(t, env, ref, `dpkg --verify "$@" >/out/verify 2>&1; echo $? >/out/verify-rc
/bin/sh -c 'echo shell runs' >/out/sh 2>&1
apt-get --version >/out/apt 2>&1
perl -e 'print "perl ", 6 * 7, "\n"' >/out/perl 2>&1
true`, upgraded...)
			if out["verify"] != "" || strings.TrimSpace(out["verify-rc"]) != "0" {
				t.Errorf("dpkg --verify %s: exit %s\n%s", strings.Join(upgraded, " "), out["verify-rc"], out["verify"])
			}
			for file, want := range map[string]string{"sh": "shell runs", "apt": "apt ", "perl": "perl 42"} {
				if !strings.Contains(out[file], want) {
					t.Errorf("%s in the patched image printed %q, want %q", file, out[file], want)
				}
			}
			t.Logf("verified %d upgraded packages: %s", len(upgraded), strings.Join(upgraded, " "))
		})
	}
}

// runInImage runs script with sh -c in the image ref (as root, args as
// $@) on the real BuildKit, and returns the files it wrote to /out.
func runInImage(t *testing.T, env testEnv, ref, script string, args ...string) map[string]string {
	t.Helper()
	return runInImageWith(t, env, ref, script, args)
}

// runInImageWith is runInImage with more run options (mounts).
func runInImageWith(t *testing.T, env testEnv, ref, script string, args []string, more ...llb.RunOption) map[string]string {
	t.Helper()
	ctx, c := daemon(t, env)
	files := map[string]string{}
	_, err := c.Build(ctx, client.SolveOpt{}, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		opts := append([]llb.RunOption{llb.Args(append([]string{"/bin/sh", "-c", script, "sh"}, args...)), llb.User("0:0"), llb.IgnoreCache}, more...)
		run := llb.Image(ref).Run(opts...)
		def, err := run.AddMount("/out", llb.Scratch()).Marshal(ctx)
		if err != nil {
			return nil, err
		}
		res, err := gc.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB()})
		if err != nil {
			return nil, err
		}
		r, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		entries, err := r.ReadDir(ctx, gateway.ReadDirRequest{Path: "/"})
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			dt, err := r.ReadFile(ctx, gateway.ReadRequest{Filename: e.Path})
			if err != nil {
				return nil, err
			}
			files[e.Path] = string(dt)
		}
		return res, nil
	}, nil)
	if err != nil {
		t.Fatalf("running in %s: %v", ref, err)
	}
	return files
}

// changed lists, sorted, the packages whose version differs from before.
func changed(before, after map[string]string) []string {
	var names []string
	for name, v := range after {
		if before[name] != v {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// daemon connects to the harness's BuildKit for at most five minutes.
func daemon(t *testing.T, env testEnv) (context.Context, *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	c, err := client.New(ctx, env.host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c
}

// pruneAll empties the daemon's build cache.
func pruneAll(t *testing.T, env testEnv) {
	t.Helper()
	ctx, c := daemon(t, env)
	if err := c.Prune(ctx, nil, client.PruneAll); err != nil {
		t.Fatalf("pruning the build cache: %v", err)
	}
}
