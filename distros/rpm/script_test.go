package rpm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/distrostest"
)

// fakePM stands in for a package manager: it logs its arguments and, when
// asked what the repositories offer, answers in its manager's format.
const fakePM = `#!/bin/sh
printf '%s %s\n' "$(basename "$0")" "$*" >>"$LOG"
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
	}{
		{"dnf-report", DNF, "report", false},
		{"dnf-all", DNF, "all", false},
		{"dnf-tooling-report", DNF, "report", true},
		{"yum-report", Yum, "report", false},
		{"yum-all", Yum, "all", false},
		{"microdnf-report", Microdnf, "report", false},
		{"microdnf-tooling-report", Microdnf, "report", true},
		{"tdnf-report", Tdnf, "report", false},
		{"tdnf-tooling-all", Tdnf, "all", true},
		{"zypper-report", Zypper, "report", false},
		{"zypper-all", Zypper, "all", false},
		{"zypper-tooling-report", Zypper, "report", true}, // COPA_RPM_SCRIPTS=run: the target has a shell
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"in", "out", "work", "bin", "macros"} {
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
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			log, err := os.ReadFile(filepath.Join(dir, "log"))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(string(log), dir, "$TMP")
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
