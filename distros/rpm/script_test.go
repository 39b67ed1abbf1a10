package rpm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

// fakePM stands in for a package manager: it logs its arguments and, when
// asked what the repositories offer, answers in its manager's format.
const fakePM = `#!/bin/sh
printf '%s %s\n' "$(basename "$0")" "$*" >>"$LOG"
if [ -n "${FAIL_FETCH:-}" ]; then
	printf '%s\n' "$FAIL_FETCH" >&2
	exit 1
fi
case " $* " in
*" repoquery "*" --qf "*) printf 'copa-tool 0:2.0-2 x86_64\ncopa-libcore 1:1.1-1 x86_64\n' ;;
*" repoquery "*) printf 'copa-tool-2.0-2.x86_64\ncopa-libcore-1:1.1-1.x86_64\n' ;;
*" list available "*) printf 'copa-tool.x86_64 2.0-2 copa\ncopa-libcore.x86_64 1:1.1-1 copa\n' ;;
*" search "*) printf 'v | copa-tool | package | 2.0-2 | x86_64 | copa\n' ;;
esac
`

// fakeHelper logs the helper commands and installs what the fake package
// manager offered.
const fakeHelper = `#!/bin/sh
echo "helper $*" >>"$LOG"
if [ "$1" = resolve-rpm ]; then printf 'copa-tool 2.0-2\ncopa-libcore 1:1.1-1\n' >"$6"; fi
`

// TestScriptCommandsGolden runs rpm-patch.sh with every manager's pm-*.sh
// against stand-ins that log how they are called, and pins those command
// lines: the only test of yum, microdnf and tdnf's commands, which are not
// in Debian (docs/rpm.md).
func TestScriptCommandsGolden(t *testing.T) {
	tests := []struct {
		name    string
		manager Manager
		mode    string
		tooling bool
		// sources: SOURCES mirror.repo, and the repo-auth and ca secrets.
		sources bool
		// failFetch is what the manager says when it cannot fetch.
		failFetch string
	}{
		{"dnf-report", DNF, "report", false, false, ""},
		{"dnf-all", DNF, "all", false, false, ""},
		{"dnf-tooling-report", DNF, "report", true, false, ""},
		{"yum-report", Yum, "report", false, false, ""},
		{"yum-all", Yum, "all", false, false, ""},
		{"microdnf-report", Microdnf, "report", false, false, ""},
		{"microdnf-tooling-report", Microdnf, "report", true, false, ""},
		{"tdnf-report", Tdnf, "report", false, false, ""},
		{"tdnf-tooling-all", Tdnf, "all", true, false, ""},
		{"zypper-report", Zypper, "report", false, false, ""},
		{"zypper-all", Zypper, "all", false, false, ""},
		{"zypper-tooling-report", Zypper, "report", true, false, ""}, // COPA_RPM_SCRIPTS=run: the target has a shell
		{"dnf-report-sources", DNF, "report", false, true, ""},
		{"dnf-tooling-report-sources", DNF, "report", true, true, ""},
		{"tdnf-report-sources", Tdnf, "report", false, true, ""},
		{"zypper-report-sources", Zypper, "report", false, true, ""},
		// A repository that cannot be fetched: the step stops and says why.
		{"dnf-report-401", DNF, "report", false, false, "Errors during downloading metadata for repository 'copa':\n  - Status code: 401 for http://127.0.0.1:8092/repodata/repomd.xml (IP: 127.0.0.1)\nError: Failed to download metadata for repo 'copa'"},
		{"dnf-report-tls", DNF, "report", false, false, "  - Curl error (60): SSL peer certificate or SSH remote key was not OK for https://m.example/el9/repodata/repomd.xml [SSL certificate problem: unable to get local issuer certificate]"},
		{"zypper-report-denied", Zypper, "all", false, false, "Permission to access 'https://m.example/suse/repodata/repomd.xml' denied."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"in", "out", "work", "bin", "macros", "secrets"} {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			write := func(p, s string, mode os.FileMode) {
				if err := os.WriteFile(filepath.Join(dir, p), []byte(s), mode); err != nil {
					t.Fatal(err)
				}
			}
			write("in/rpm-patch.sh", string(patchScript), 0o755)
			write("in/"+distros.StepLib, string(distros.StepLibScript), 0o644)
			write("in/pm.sh", string(tt.manager.Script), 0o644)
			write("in/plan", "copa-tool 2.0-2\ncopa-libcore 1:1.1-1\n", 0o644)
			bin := filepath.Base(tt.manager.Binaries[0])
			write("bin/"+bin, fakePM, 0o755)
			write("bin/helper", fakeHelper, 0o755)
			env := []string{
				"PATH=" + os.Getenv("PATH"),
				"LOG=" + filepath.Join(dir, "log"),
				"COPA_IN=" + filepath.Join(dir, "in"),
				"COPA_OUT=" + filepath.Join(dir, "out"),
				"COPA_WORK=" + filepath.Join(dir, "work"),
				"COPA_HELPER=" + filepath.Join(dir, "bin/helper"),
				"COPA_CMD_RESOLVE=" + CmdResolve,
				"COPA_CMD_FINISH=" + CmdFinish,
				"COPA_CMD_SNAPSHOT=" + CmdSnapshot,
				EnvPM + "=" + filepath.Join(dir, "bin", bin),
				EnvPMCache + "=" + PMCacheDir,
				EnvKeep + "=keep",
				"COPA_CMD_PREPARE_REPOS=" + CmdPrepareRepos,
				"COPA_SECRETS=" + filepath.Join(dir, "secrets"),
				"COPA_AUTH_SECRET=" + SecretAuth,
			}
			if tt.sources {
				write("in/sources-mirror.repo", "[mirror]\nbaseurl=https://m.example/el9\n", 0o644)
				write("secrets/repo-auth", "machine m.example login u password p\n", 0o644)
				write("secrets/ca", "-----BEGIN CERTIFICATE-----\n", 0o644)
				// Replace, not add, and not --keep: those read and write the
				// root's repository directory, which is this machine's /.
				env = append(env, "COPA_SOURCES_NAME=mirror.repo", "COPA_SOURCES_MODE=replace")
			}
			if tt.failFetch != "" {
				env = append(env, "FAIL_FETCH="+tt.failFetch)
			}
			if tt.tooling {
				scripts := "skip"
				if tt.manager.Name == Zypper.Name {
					scripts = "run"
				}
				env = append(env, "COPA_TARGET=/tmp/copa-target", EnvReleaseVer+"=9", EnvDBPath+"=/var/lib/rpm",
					EnvScripts+"="+scripts, "COPA_RPM_MACROS_DIR="+filepath.Join(dir, "macros"))
			}
			cmd := exec.Command("/bin/sh", filepath.Join(dir, "in/rpm-patch.sh"), tt.mode, "fail")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if tt.sources && tt.tooling && tt.manager.Name == Zypper.Name {
				if err == nil {
					t.Fatalf("zypper in a tooling step took SOURCES\n%s", out)
				}
			} else if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			log, err := os.ReadFile(filepath.Join(dir, "log"))
			if err != nil {
				t.Fatal(err)
			}
			got := string(log)
			if failed, err := os.ReadFile(filepath.Join(dir, "out/failed")); err == nil {
				got += "failed: " + string(failed)
			}
			got = strings.ReplaceAll(got, dir, "$TMP")
			if tt.tooling {
				m, err := os.ReadFile(filepath.Join(dir, "macros/macros.zz-copa-dbpath"))
				if err != nil {
					t.Fatal(err)
				}
				got += "macros.zz-copa-dbpath: " + string(m)
			}
			distrostest.CheckGolden(t, "./distros/rpm", "commands-"+tt.name, got, *update)
		})
	}
}

// TestTriedRepos runs rpm-patch.sh's tried_repos, which names the
// repositories of a failed patch's note: only enabled ones, with their
// first URL, whatever the spacing.
func TestTriedRepos(t *testing.T) {
	script := string(patchScript)
	start := strings.Index(script, "tried_repos() {")
	end := strings.Index(script[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("rpm-patch.sh has no tried_repos function")
	}
	fn := script[start : start+end+3]
	tests := []struct {
		name, repo, want string
	}{
		{"enabled by default", "[a]\nbaseurl=http://a.example/el9\n", "http://a.example/el9\n"},
		{"disabled", "[a]\nbaseurl=http://a.example/\nenabled=0\n[b]\nbaseurl = http://b.example/ http://b2.example/\nenabled = 1\n", "http://b.example/\n"},
		{"disabled before the URL", "[a]\nenabled = false\nmirrorlist=http://a.example/ml\n", ""},
		{"not enabled_metadata", "[a]\nenabled_metadata=0\n  metalink=http://a.example/ml\n", "http://a.example/ml\n"},
		{"last section without newline", "[a]\nbaseurl=http://a.example/\n[b]\nbaseurl=http://b.example/\nenabled=0", "http://a.example/\n"},
		{"no URL", "[a]\nname=A\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x.repo"), []byte(tt.repo), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sh", "-c", "set -eu\n"+fn+"\nrepos=$1\ntried_repos", "sh", dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if string(out) != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
}
