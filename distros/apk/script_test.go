package apk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

// fakeAPK stands in for apk: it logs its arguments (and the credentials
// and CA the script hands libfetch), answers --version, version -t (by
// sort -V, which orders the test's versions as apk does), update and
// policy as apk 2.14 and 3 do, and fails where the test says.
const fakeAPK = `#!/bin/sh
case " $* " in
*" --version "*) echo "apk-tools ${FAKE_VERSION:-2.14.10}, compiled for x86_64."; exit 0 ;;
*" version -t "*)
	shift $(($# - 2))
	if [ "$1" = "$2" ]; then echo "="; elif [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; then echo ">"; else echo "<"; fi
	exit 0 ;;
esac
printf 'apk %s\n' "$*" >>"$LOG"
if [ -n "${NETRC:-}" ]; then printf '  NETRC: %s\n' "$(cat "$NETRC")" >>"$LOG"; fi
if [ -n "${SSL_CERT_FILE:-}" ]; then printf '  SSL_CERT_FILE: %s, ending in %s\n' "$SSL_CERT_FILE" "$(tail -n 1 "$SSL_CERT_FILE")" >>"$LOG"; fi
case " $* " in
*" update "*)
	if [ -n "${HANG_FETCH:-}" ]; then exec sleep 60; fi
	if [ -n "${FAIL_FETCH:-}" ]; then printf '%s\n' "$FAIL_FETCH" >&2; exit 2; fi
	echo "OK: 3 distinct packages available" ;;
*" policy "*)
	printf 'copa-tool policy:\n  1.0-r0:\n    lib/apk/db/installed\n  2.0-r2:\n    https://m.example/main\n  3.0-r0:\n    @edge https://m.example/edge\n'
	printf 'copa-libcore policy:\n  1.1-r0:\n    lib/apk/db/installed\n    https://m.example/main\n' ;;
*" add "* | *" upgrade "*)
	if [ -n "${FAIL_ADD:-}" ]; then printf '%s\n' "$FAIL_ADD"; exit 1; fi ;;
esac
`

// fakeHelper logs the helper commands.
const fakeHelper = `#!/bin/sh
echo "helper $*" >>"$LOG"
`

// TestScriptCommandsGolden runs apk-patch.sh against stand-ins for apk
// and the helper that log how they are called, and pins those command
// lines and the notes: the pins and options apk gets, the resolution of
// what is on offer, and the notes of every way the step stops short.
// TestRealAPK runs the same script against real apk.
func TestScriptCommandsGolden(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		policy  distros.Policy
		tooling bool   // COPA_TARGET, a native patch without scripts
		sources bool   // SOURCES mirror.list (replace), the apk-auth and ca secrets
		version string // apk's version
		env     []string
	}{
		{name: "report-warn-sources", mode: "report", policy: distros.PolicyWarn, sources: true},
		{name: "report-fail-tooling", mode: "report", policy: distros.PolicyFail, tooling: true},
		{name: "all-apk3", mode: "all", policy: distros.PolicyFail, version: "3.0.6"},
		{name: "fetch-apk2", mode: "report", policy: distros.PolicyFail, env: []string{"FAIL_FETCH=" +
			"WARNING: updating and opening https://m.example/main: Permission denied\n" +
			"WARNING: updating and opening http://127.0.0.1:1/dead: could not connect to server (check repositories file)\n" +
			"WARNING: opening /media/cdrom/apks: No such file or directory"}},
		{name: "fetch-apk3", mode: "all", policy: distros.PolicyFail, version: "3.0.6", env: []string{"FAIL_FETCH=" +
			"WARNING: updating and opening https://m.example/main/x86_64/APKINDEX.tar.gz: HTTP 401: Unauthorized"}},
		// apk-tools 2.12 (Alpine 3.12 to 3.17): no --timeout, no
		// --no-interactive; the update under timeout(1).
		{name: "report-apk2.12", mode: "report", policy: distros.PolicyWarn, version: "2.12.10"},
		{name: "fetch-apk2.12", mode: "report", policy: distros.PolicyFail, version: "2.12.10", env: []string{"FAIL_FETCH=" +
			"ERROR: https://m.example/main: Permission denied\n" +
			"WARNING: Ignoring https://m.example/main: No such file or directory\n" +
			"WARNING: Ignoring /media/cdrom/apks: No such file or directory"}},
		{name: "fetch-timeout-apk2.12", mode: "report", policy: distros.PolicyFail, tooling: true, version: "2.12.10", env: []string{"HANG_FETCH=1", "COPA_NET_TIMEOUT=1", "COPA_NET_RETRIES=0"}},
		{name: "add-fails", mode: "report", policy: distros.PolicyWarn, env: []string{"FAIL_ADD=" +
			"ERROR: unable to select packages:\n  copa-tool-2.0-r2:\n    breaks: world[copa-tool<2]\nOK: 9 MiB in 14 packages"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"in", "out", "work", "bin", "secrets", "target/etc/apk/repositories.d"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			write := func(p, s string, mode os.FileMode) {
				if err := os.WriteFile(filepath.Join(dir, p), []byte(s), mode); err != nil {
					t.Fatal(err)
				}
			}
			write("in/apk-patch.sh", string(patchScript), 0o755)
			write("in/"+distros.StepLib, string(distros.StepLibScript), 0o644)
			write("in/plan", "copa-tool 2.0-r1\ncopa-libcore 1.2-r0\n", 0o644)
			write("bin/apk", fakeAPK, 0o755)
			write("bin/helper", fakeHelper, 0o755)
			env := []string{
				"PATH=" + os.Getenv("PATH"),
				"LOG=" + filepath.Join(dir, "log"),
				"FAKE_VERSION=" + tt.version,
				"COPA_IN=" + filepath.Join(dir, "in"),
				"COPA_OUT=" + filepath.Join(dir, "out"),
				"COPA_WORK=" + filepath.Join(dir, "work"),
				"COPA_HELPER=" + filepath.Join(dir, "bin/helper"),
				"COPA_CMD_SNAPSHOT=" + CmdSnapshot,
				"COPA_CMD_FINISH=" + CmdFinish,
				"COPA_SECRETS=" + filepath.Join(dir, "secrets"),
				"COPA_AUTH_SECRET=" + SecretAuth,
				"COPA_NET_TIMEOUT=15",
				"COPA_NET_RETRIES=1",
			}
			env = append(env, tt.env...)
			scripts := "run"
			if tt.tooling {
				scripts = "skip"
				write("target/etc/apk/repositories", "# the image's\nhttps://m.example/main\n@edge https://m.example/edge\n", 0o644)
				write("target/etc/apk/repositories.d/extra.list", "/media/cdrom/apks", 0o644)
				write("target/etc/apk/world", "copa-tool\n", 0o644)
				env = append(env, "COPA_TARGET="+filepath.Join(dir, "target"), "COPA_TARGET_ARCH=aarch64")
			}
			if tt.sources {
				write("in/sources-mirror.list", "https://nexus.example/alpine/v3.21/main\n", 0o644)
				write("secrets/apk-auth", "machine nexus.example:8443/alpine login u password p\n", 0o644)
				write("secrets/ca", "-----BEGIN CERTIFICATE-----\nthe-mirror's-CA\n", 0o644)
				env = append(env, "COPA_SOURCES_NAME=mirror.list", "COPA_SOURCES_MODE=replace")
			}
			cmd := exec.Command("/bin/sh", filepath.Join(dir, "in/apk-patch.sh"), tt.mode, string(tt.policy), filepath.Join(dir, "bin/apk"), filepath.Join(dir, "cache"), "keep", scripts)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			log, err := os.ReadFile(filepath.Join(dir, "log"))
			if err != nil {
				t.Fatal(err)
			}
			got := string(log)
			for _, n := range []string{distros.NoteUnresolved, distros.NoteFailed, distros.NoteSourcesTried} {
				if dt, err := os.ReadFile(filepath.Join(dir, "out", n)); err == nil {
					got += n + ":\n" + string(dt)
				}
			}
			// The notes are the frontend's to read.
			if _, err := distros.ReadNotes(t.Context(), dirFS(filepath.Join(dir, "out")), Versioning{}); err != nil {
				t.Errorf("notes: %v", err)
			}
			got = strings.ReplaceAll(got, dir, "$TMP")
			distrostest.CheckGolden(t, "./distros/apk", "commands-"+tt.name, got, *update)
		})
	}
}
