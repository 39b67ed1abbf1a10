package distros_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/distros/rpm"
)

func TestReadNotes(t *testing.T) {
	notes := distrostest.MapFS{
		"/" + distros.NoteAddedSources: "bookworm-security\nbookworm-updates\n",
		"/" + distros.NoteUnresolved:   "tzdata 2099a-1 2025b-0+deb12u1\nlibfoo 2.0 (none)\n",
		"/" + distros.NoteUpgrades:     "libssl3 3.0.15-1~deb12u1\n",
		"/" + distros.NoteInstall:      "scripts tzdata postinst,postrm\nconfig-kept base-files /etc/issue\n",
		"/" + distros.NoteFailed:       "fetch apt-auth http://u:secret@mirror.example:8080/debian/dists/bookworm/InRelease 401  Unauthorized\n",
		"/" + distros.NoteSourcesTried: "http://deb.debian.org/debian bookworm/main\nhttp://127.0.0.1:8089/el9\n",
	}
	o, err := distros.ReadNotes(context.Background(), notes, deb.Versioning{})
	if err != nil {
		t.Fatal(err)
	}
	want := &distros.Outcome{
		AddedSources:   []string{"bookworm-security", "bookworm-updates"},
		Unresolved:     []distros.Unresolved{{Name: "tzdata", Want: "2099a-1", Best: "2025b-0+deb12u1"}, {Name: "libfoo", Want: "2.0"}},
		Upgrades:       []distros.Update{{Name: "libssl3", Fixed: "3.0.15-1~deb12u1"}},
		SkippedScripts: []distros.PackageNote{{Package: "tzdata", Items: []string{"postinst", "postrm"}}},
		KeptConfig:     []distros.PackageNote{{Package: "base-files", Items: []string{"/etc/issue"}}},
		Failed:         []distros.Failure{{Kind: distros.FailFetch, Secret: "apt-auth", URL: "http://mirror.example:8080/debian/dists/bookworm/InRelease", Reason: "401 Unauthorized"}},
		SourcesTried:   []string{"http://deb.debian.org/debian bookworm/main", "http://127.0.0.1:8089/el9"}, // an rpm repository has no suites
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("ReadNotes\n got %+v\nwant %+v", o, want)
	}
	w := o.Warnings()
	if len(w) != 2 || !strings.Contains(w[0], "tzdata (postinst, postrm)") || !strings.Contains(w[1], "/etc/issue of base-files") {
		t.Errorf("warnings %q", w)
	}
	if o, err := distros.ReadNotes(context.Background(), distrostest.MapFS{"/" + distros.NoteFailed: "unresolved\n", "/" + distros.NoteFailedAt: "1764633600\n"}, deb.Versioning{}); err != nil || !o.FailedAt.Equal(time.Unix(1764633600, 0)) {
		t.Errorf("failed-at: %+v, %v", o, err)
	}
	if o, err := distros.ReadNotes(context.Background(), distrostest.MapFS{}, deb.Versioning{}); err != nil || !reflect.DeepEqual(o, &distros.Outcome{}) {
		t.Errorf("no notes: %+v, %v", o, err)
	}
	for name, bad := range map[string]string{
		distros.NoteUpgrades:   "-oFoo=1 1.0\n",
		distros.NoteUnresolved: "tzdata 1\n",
		distros.NoteInstall:    "reboot now please\n",
		distros.NoteFailed:     "fetch apt-auth\n",
		distros.NoteFailedAt:   "yesterday\n",
	} {
		if _, err := distros.ReadNotes(context.Background(), distrostest.MapFS{"/" + name: bad}, deb.Versioning{}); err == nil || !strings.Contains(err.Error(), "malformed "+name+" note") {
			t.Errorf("%s %q: error %v", name, bad, err)
		}
	}
}

// TestScriptsSpeakTheProtocol reads every step script: the notes it
// writes and the environment it reads must be the protocol's, so a rename
// on the Go side fails here rather than in an integration run.
func TestScriptsSpeakTheProtocol(t *testing.T) {
	scripts, err := filepath.Glob("*/*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	scripts = append(scripts, distros.StepLib)
	notes := []string{distros.NoteAddedSources, distros.NoteUnresolved, distros.NoteUpgrades, distros.NoteInstall, distros.NoteFailed, distros.NoteSourcesTried, distros.NoteFailedAt}
	env := []string{distros.EnvInputs, distros.EnvNotes, distros.EnvWork, distros.EnvTarget, distros.EnvHelper, distros.EnvOriginal, distros.EnvTargetArch, distros.EnvSourceDateEpoch,
		distros.EnvSecrets, distros.EnvAuthSecret, distros.EnvNetTimeout, distros.EnvNetRetries, distros.EnvSourcesName, distros.EnvSourcesMode, distros.EnvSourcesKeep, distros.EnvSourcesOnly, distros.EnvShared}
	// What a format's steps set besides the protocol (distros/rpm/step.go).
	env = append(env, rpm.EnvPM, rpm.EnvPMCache, rpm.EnvKeep, rpm.EnvReleaseVer, rpm.EnvDBPath, rpm.EnvScripts, rpm.EnvMacrosDir)
	noteRef := regexp.MustCompile(`\$out/([a-z-]+)`)
	envRef := regexp.MustCompile(`\$\{?(COPA_[A-Z_]+|SOURCE_DATE_EPOCH)`)
	for _, s := range scripts {
		dt, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range noteRef.FindAllStringSubmatch(string(dt), -1) {
			if !slices.Contains(notes, m[1]) {
				t.Errorf("%s writes note %q, which distros.ReadNotes does not read", s, m[1])
			}
		}
		for _, m := range envRef.FindAllStringSubmatch(string(dt), -1) {
			if !slices.Contains(env, m[1]) && !strings.HasPrefix(m[1], distros.EnvCommandPrefix) {
				t.Errorf("%s reads %s, which distros.StepEnv does not set", s, m[1])
			}
		}
		for _, lit := range []string{distros.InputsDir, distros.NotesDir, distros.WorkDir, distros.TargetDir, "/tmp/copa-helper", "/tmp/copa-original"} {
			if strings.Contains(string(dt), lit) {
				t.Errorf("%s names %s itself instead of taking it from the environment", s, lit)
			}
		}
	}
}
