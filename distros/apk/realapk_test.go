package apk_test

import (
	"context"
	"crypto/sha1"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/apk/apkstep"
)

// realTools are what TestRealAPK needs of the machine: static apk
// binaries (apk-tools 2.14 from hack/harness/apk-tools.sh, and apk 3 when
// $COPA_APK3_STATIC names one), a static busybox for the image's shell
// (Debian's busybox-static), root for chroot, and the go tool to build
// hack/mkapk and the helper. Without them the test skips, saying what is
// missing.
type realTools struct {
	apks    map[string]string // name → path
	busybox string
	goTool  string
}

func findRealTools(t *testing.T) realTools {
	t.Helper()
	skip := func(why string) {
		msg := "needs " + why + " (see docs/apk.md, \"Checked on real apk\")"
		if os.Getenv("CI") != "" || os.Getenv("COPA_REQUIRE_HARNESS") != "" {
			t.Fatal(msg + "; under CI or COPA_REQUIRE_HARNESS a skip would prove nothing")
		}
		t.Skip(msg)
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		skip("root on Linux, to chroot into the test image")
	}
	r := realTools{apks: map[string]string{}}
	for name, p := range map[string]string{
		"apk2": envOr("COPA_APK_STATIC", "/var/cache/copa-frontend/apk-tools/2.14.10/apk.static"),
		"apk3": os.Getenv("COPA_APK3_STATIC"),
	} {
		if p != "" && isStatic(p) {
			r.apks[name] = p
		}
	}
	if r.apks["apk3"] == "" && (os.Getenv("CI") != "" || os.Getenv("COPA_REQUIRE_HARNESS") != "") {
		skip("a static apk-tools 3 ($COPA_APK3_STATIC: bash hack/harness/apk-tools.sh --apk3)")
	}
	if r.apks["apk2"] == "" {
		skip("a static apk-tools 2.14 ($COPA_APK_STATIC, default /var/cache/copa-frontend/apk-tools/2.14.10/apk.static: bash hack/harness/apk-tools.sh)")
	}
	r.busybox = envOr("COPA_BUSYBOX", "/bin/busybox")
	if !isStatic(r.busybox) {
		skip("a static busybox ($COPA_BUSYBOX, default /bin/busybox: apt-get install busybox-static)")
	}
	var err error
	if r.goTool, err = exec.LookPath("go"); err != nil {
		r.goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(r.goTool); err != nil {
			skip("the go tool")
		}
	}
	return r
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// isStatic reports whether p is an ELF executable without an interpreter,
// which runs in a root without libc.
func isStatic(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// realCase is one run of apk-patch.sh against real apk.
type realCase struct {
	name    string
	mode    string
	policy  distros.Policy
	plan    string
	tooling bool     // no shell or apk in the image: the step runs on this machine with COPA_TARGET
	repos   []string // the image's repositories ("@repo2" is the second repository's path)
	env     []string
	// What the step must leave: notes, and the files that differ from the
	// original besides directories (none when it stopped short).
	outcome distros.Outcome
	changed []string
	check   func(t *testing.T, root string)
}

// TestRealAPK runs apk-patch.sh and the helper commands against real apk
// in a busybox image made with hack/mkapk's packages: the pinning, what
// is on offer (unresolved, fail and warn), a repository that cannot be
// read, upgrade-all, config files kept (.apk-new), the world file given
// back, the files the upgrade left unchanged kept out of the layer (their
// metadata as before), and the tooling method (apk --root, no scripts).
func TestRealAPK(t *testing.T) {
	tools := findRealTools(t)
	work := t.TempDir()
	mkapk := filepath.Join(work, "mkapk")
	helper := filepath.Join(work, "helper")
	run(t, "", []string{"CGO_ENABLED=0"}, tools.goTool, "build", "-o", mkapk, "../../hack/mkapk")
	run(t, "", []string{"CGO_ENABLED=0"}, tools.goTool, "build", "-o", helper, "../../cmd/frontend")
	keys := filepath.Join(work, "keys")
	run(t, "", nil, mkapk, "-genkey", keys, "-keyname", "copa-test.rsa")
	repo1, repo2 := filepath.Join(work, "repo1"), filepath.Join(work, "repo2")
	run(t, "", nil, mkapk, "-spec", "../../hack/mkapk/testdata/copa-v1.json", "-key", filepath.Join(keys, "copa-test.rsa"), "-out", filepath.Join(repo1, "x86_64"))
	run(t, "", nil, mkapk, "-spec", "../../hack/mkapk/testdata/copa-v2.json", "-key", filepath.Join(keys, "copa-test.rsa"), "-out", filepath.Join(repo2, "x86_64"), "-epoch", "1751328000")

	// copa-base's changed files; pinning it leaves copa-lib, which it
	// does not need upgraded, as it was.
	pinned := []string{"etc/copa/app.conf.apk-new", "lib/apk/db/installed", "lib/apk/db/scripts.tar", "usr/bin/copa-tool", "usr/lib/copa/plugin.so", "var/lib/copa/post-upgrade-ran"}
	// An upgrade of both: copa-lib's library is unchanged, its symlink
	// rewritten, its release file new content.
	both := []string{"etc/copa/app.conf.apk-new", "lib/apk/db/installed", "lib/apk/db/scripts.tar", "usr/bin/copa-tool", "usr/lib/copa/plugin.so", "usr/lib/libcopa.so", "usr/share/copa/lib-release", "var/lib/copa/post-upgrade-ran"}
	cases := []realCase{
		{name: "pin", mode: "report", policy: distros.PolicyFail, plan: "copa-base 1.0-r1\n", repos: []string{"@repo2"},
			outcome: distros.Outcome{KeptConfig: []distros.PackageNote{{Package: "copa-base", Items: []string{"/etc/copa/app.conf"}}}},
			changed: pinned, check: checkPinned},
		{name: "unresolved-fail", mode: "report", policy: distros.PolicyFail, plan: "copa-base 1.0-r2\n", repos: []string{"@repo2"},
			outcome: distros.Outcome{Unresolved: []distros.Unresolved{{Name: "copa-base", Want: "1.0-r2", Best: "1.0-r1"}},
				Failed: []distros.Failure{{Kind: distros.FailUnresolved}}, SourcesTried: []string{"/srv/repo2"}}},
		{name: "unresolved-warn", mode: "report", policy: distros.PolicyWarn, plan: "copa-base 1.0-r1\ncopa-lib 2.0-r2\n", repos: []string{"@repo2"},
			outcome: distros.Outcome{Unresolved: []distros.Unresolved{{Name: "copa-lib", Want: "2.0-r2", Best: "2.0-r1"}},
				KeptConfig: []distros.PackageNote{{Package: "copa-base", Items: []string{"/etc/copa/app.conf"}}}},
			changed: pinned},
		{name: "fetch", mode: "report", policy: distros.PolicyFail, plan: "copa-base 1.0-r1\n", repos: []string{"/srv/nothere", "@repo2"},
			outcome: distros.Outcome{Failed: []distros.Failure{{Kind: distros.FailFetch, Secret: apk.SecretAuth, URL: "/srv/nothere", Reason: "No such file or directory"}}}},
		{name: "all-epoch", mode: "all", policy: distros.PolicyFail, repos: []string{"@repo2"}, env: []string{"SOURCE_DATE_EPOCH=1767225600"},
			outcome: distros.Outcome{Upgrades: []distros.Update{{Name: "copa-base", Fixed: "1.0-r1"}, {Name: "copa-lib", Fixed: "2.0-r1"}},
				KeptConfig: []distros.PackageNote{{Package: "copa-base", Items: []string{"/etc/copa/app.conf"}}}},
			changed: both, check: func(t *testing.T, root string) {
				fi, err := os.Stat(filepath.Join(root, "var/lib/copa/post-upgrade-ran"))
				if err != nil || !fi.ModTime().Equal(time.Unix(1767225600, 0)) {
					t.Errorf("what the script wrote is not dated SOURCE_DATE_EPOCH: %v, %v", fi, err)
				}
			}},
		{name: "tooling-noshell", mode: "report", policy: distros.PolicyFail, plan: "copa-base 1.0-r1\n", tooling: true, repos: []string{"@repo2"},
			outcome: distros.Outcome{SkippedScripts: []distros.PackageNote{{Package: "copa-base", Items: []string{"post-upgrade"}}},
				KeptConfig: []distros.PackageNote{{Package: "copa-base", Items: []string{"/etc/copa/app.conf"}}}},
			changed: pinned[:len(pinned)-1], check: checkPinned},
	}
	for _, name := range slices.Sorted(maps.Keys(tools.apks)) {
		apkBin := tools.apks[name]
		base := filepath.Join(work, "base-"+name)
		makeImage(t, tools, apkBin, base, repo1, keys)
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				runReal(t, tc, base, apkBin, helper, map[string]string{"@repo1": repo1, "@repo2": repo2})
			})
		}
	}
}

// makeImage makes an Alpine-like image at root: busybox as its shell and
// tools, apk, the test key, copa-base 1.0-r0 installed from repo1 (its
// post-install run), and its configuration file edited locally.
func makeImage(t *testing.T, tools realTools, apkBin, root, repo1, keys string) {
	for _, d := range []string{"bin", "sbin", "etc/apk/keys", "srv", "tmp", "var/cache/apk"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, tools.busybox, filepath.Join(root, "bin/busybox"), 0o755)
	for _, c := range []string{"sh", "cat", "cp", "chmod", "date", "echo", "grep", "mkdir", "mv", "rm", "sed", "sort", "tail", "tee", "touch", "tr"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", c)); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, apkBin, filepath.Join(root, "sbin/apk"), 0o755)
	copyFile(t, filepath.Join(keys, "copa-test.rsa.pub"), filepath.Join(root, "etc/apk/keys/copa-test.rsa.pub"), 0o644)
	run(t, "", nil, apkBin, "--root", root, "--initdb", "--arch", "x86_64", "--no-cache", "--repository", repo1, "add", "copa-base")
	// Alpine's images have apk's lock file.
	writeFile(t, filepath.Join(root, "lib/apk/db/lock"), "")
	f, err := os.OpenFile(filepath.Join(root, "etc/copa/app.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("local=1\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Old enough that a file the step touches has a later time.
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(p, old, old)
		}
		return nil
	})
}

func runReal(t *testing.T, tc realCase, base, apkBin, helper string, repos map[string]string) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	run(t, "", nil, "cp", "-a", base, root)
	var lines []string
	for _, r := range tc.repos {
		if p, ok := repos[r]; ok {
			// In the image, the repository is under /srv; a tooling step's
			// apk reads a local path on its own side.
			r = "/srv/" + strings.TrimPrefix(r, "@")
			run(t, "", nil, "cp", "-a", p, filepath.Join(root, r))
			if tc.tooling {
				r = p
			}
		}
		lines = append(lines, r)
	}
	writeFile(t, filepath.Join(root, "etc/apk/repositories"), strings.Join(lines, "\n")+"\n")
	if tc.tooling {
		os.Remove(filepath.Join(root, "bin/sh"))
		os.Remove(filepath.Join(root, "sbin/apk"))
	}
	before := tree(t, root)

	// The step's /tmp, as the protocol lays it out, in the image (chroot)
	// or on this machine (a tooling step).
	stepTmp := filepath.Join(root, "tmp")
	if tc.tooling {
		stepTmp = filepath.Join(dir, "tmp")
	}
	for _, d := range []string{"copa-in", "copa-out", "copa-work", "copa-helper/bin", "copa-apk-cache"} {
		if err := os.MkdirAll(filepath.Join(stepTmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("apk-patch.sh")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(stepTmp, "copa-in/apk-patch.sh"), string(script))
	writeFile(t, filepath.Join(stepTmp, "copa-in", distros.StepLib), string(distros.StepLibScript))
	writeFile(t, filepath.Join(stepTmp, "copa-in/plan"), tc.plan)
	copyFile(t, helper, filepath.Join(stepTmp, "copa-helper/bin/frontend"), 0o755)
	tmp, scripts, bin := "/tmp", "run", "/sbin/apk"
	if tc.tooling {
		tmp, scripts, bin = stepTmp, "skip", apkBin
	}
	env := []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		distros.EnvInputs + "=" + tmp + "/copa-in", distros.EnvNotes + "=" + tmp + "/copa-out", distros.EnvWork + "=" + tmp + "/copa-work",
		distros.EnvHelper + "=" + tmp + "/copa-helper/bin/frontend",
		distros.EnvCommandPrefix + "SNAPSHOT=" + apk.CmdSnapshot, distros.EnvCommandPrefix + "FINISH=" + apk.CmdFinish,
		distros.EnvSecrets + "=" + tmp + "/copa-secrets", distros.EnvAuthSecret + "=" + apk.SecretAuth,
		distros.EnvNetTimeout + "=5", distros.EnvNetRetries + "=0",
	}
	env = append(env, tc.env...)
	args := []string{"/bin/sh", tmp + "/copa-in/apk-patch.sh", tc.mode, string(tc.policy), bin, tmp + "/copa-apk-cache", "keep", scripts}
	if tc.tooling {
		env = append(env, distros.EnvTarget+"="+root)
	} else {
		args = append([]string{root}, args...)
	}
	name := "chroot"
	if tc.tooling {
		name, args = args[0], args[1:]
	}
	log := run(t, "", env, name, args...)
	t.Logf("the step's log:\n%s", log)

	notes, err := distros.ReadNotes(context.Background(), apk.DirFS(filepath.Join(stepTmp, "copa-out")), apk.Versioning{})
	if err != nil {
		t.Fatal(err)
	}
	notes.FailedAt = time.Time{}
	for i, f := range notes.Failed {
		// apk 3 names the index it could not read, apk 2 the repository.
		notes.Failed[i].URL = strings.TrimSuffix(f.URL, "/x86_64/APKINDEX.tar.gz")
	}
	if !reflect.DeepEqual(*notes, tc.outcome) {
		t.Errorf("notes\n got %+v\nwant %+v", *notes, tc.outcome)
	}
	// What BuildKit would export: the step's /tmp is a tmpfs.
	if !tc.tooling {
		for _, d := range []string{"copa-in", "copa-out", "copa-work", "copa-helper", "copa-apk-cache"} {
			os.RemoveAll(filepath.Join(stepTmp, d))
		}
	}
	after := tree(t, root)
	var changed []string
	for p, e := range after {
		if b, ok := before[p]; (!ok || b != e) && !strings.HasPrefix(e, "d") {
			changed = append(changed, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			changed = append(changed, p+" (removed)")
		}
	}
	slices.Sort(changed)
	want := slices.Clone(tc.changed)
	if _, err := os.Stat(filepath.Join(root, "lib/apk/db/scripts.tar.gz")); err == nil {
		// apk 3 made the image, and keeps its scripts gzipped.
		for i, p := range want {
			if p == "lib/apk/db/scripts.tar" {
				want[i] = p + ".gz"
			}
		}
	}
	if !slices.Equal(changed, want) {
		t.Errorf("changed files (besides directories)\n got %q\nwant %q", changed, want)
	}
	if before["etc/apk/world"] != after["etc/apk/world"] {
		t.Errorf("the world file is not the image's: %s, was %s", after["etc/apk/world"], before["etc/apk/world"])
	}
	// The verification phase reads the patched database as the frontend
	// does.
	installed, err := apk.Format{}.Installed(context.Background(), apk.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	if tc.changed == nil {
		if v := installed.Versions(apk.Versioning{}); v["copa-base"] != "1.0-r0" {
			t.Errorf("the step stopped short, but copa-base is %s", v["copa-base"])
		}
	}
	if tc.check != nil {
		tc.check(t, root)
	}
}

// checkPinned: copa-base is 1.0-r1, and every file of it is as the
// database says but the configuration file the image edited.
func checkPinned(t *testing.T, root string) {
	installed, err := apk.Format{}.Installed(context.Background(), apk.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	if v := installed.Versions(apk.Versioning{}); v["copa-base"] != "1.0-r1" || v["copa-lib"] != "2.0-r0" {
		t.Errorf("installed %v", v)
	}
	db, err := apk.ReadInstalled(context.Background(), apk.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bad, err := apkstep.VerifyChecksums(context.Background(), r, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Path != "etc/copa/app.conf" || !bad[0].ConfigKept {
		t.Errorf("checksums: %v", bad)
	}
}

// tree describes every entry under root but its /tmp: type, mode, owner,
// size, mtime and content (a symlink's target).
func tree(t *testing.T, root string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		// The step's /tmp and /dev are mounts in a container, not the image.
		if (rel == "tmp" || rel == "dev") && d.IsDir() {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		kind, content := "f", ""
		switch {
		case d.IsDir():
			kind = "d"
		case d.Type()&fs.ModeSymlink != 0:
			kind = "l"
			content, _ = os.Readlink(p)
		case !fi.Mode().IsRegular():
			kind = "other" // the device nodes apk --initdb makes: never read
		default:
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha1.Sum(dt)
			content = hex.EncodeToString(s[:])
		}
		out[rel] = fmt.Sprintf("%s %v %d:%d %d %s %s", kind, fi.Mode(), st.Uid, st.Gid, fi.Size(), fi.ModTime().UTC().Format(time.RFC3339Nano), content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
		if name == "chroot" || strings.HasSuffix(name, "sh") {
			cmd.Env = env
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	dt, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, dt, mode); err != nil {
		t.Fatal(err)
	}
}
