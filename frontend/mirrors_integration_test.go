package frontend_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/copa/frontend/internal/debtest"
	"github.com/copa/frontend/internal/imagetest"
)

// privateMirror is the harness's mirror (hack/authmirror): the Debian
// archive behind HTTP basic auth, on HTTP and on HTTPS with a CA of its
// own.
type privateMirror struct {
	http, https string
	user, pass  string
	ca          []byte
	log         string
}

func needMirror(t *testing.T) privateMirror {
	t.Helper()
	m := privateMirror{http: os.Getenv("COPA_TEST_AUTH_MIRROR"), https: os.Getenv("COPA_TEST_AUTH_MIRROR_TLS"), log: os.Getenv("COPA_TEST_AUTH_LOG")}
	dir := os.Getenv("COPA_TEST_AUTH_DIR")
	if m.http == "" || dir == "" {
		t.Fatal("the private mirror is not in the harness environment (COPA_TEST_AUTH_*): run eval \"$(hack/harness.sh env)\" after hack/harness.sh up")
	}
	cred, err := os.ReadFile(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	if m.user, m.pass, ok = strings.Cut(strings.TrimSpace(string(cred)), ":"); !ok || len(m.pass) < 12 {
		t.Fatalf("%s/credentials does not hold user:password", dir)
	}
	if m.ca, err = os.ReadFile(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	return m
}

// authConf is the apt-auth secret for the mirror at base. apt uses
// credentials for plain HTTP only when the machine says http://.
func (m privateMirror) authConf(base string) []byte {
	host := strings.TrimPrefix(base, "https://")
	return []byte("machine " + host + " login " + m.user + " password " + m.pass + "\n")
}

// freshStep is a build arg that makes the patch step one BuildKit has not
// run: secrets are not part of its cache key, so a build without them
// would otherwise get the result of one with them.
func freshStep() map[string]string {
	return map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(time.Now().UnixNano()%1e9, 10)}
}

// requests returns the mirror's log lines since offset: what it served.
func (m privateMirror) logSize(t *testing.T) int64 {
	fi, err := os.Stat(m.log)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func (m privateMirror) served(t *testing.T, since int64) int {
	dt, err := os.ReadFile(m.log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(dt[since:]), " ok GET ")
}

// mirrorSources is a deb822 sources file of the release's three suites
// through the mirror at base.
func mirrorSources(base string) string {
	return "Types: deb\nURIs: " + base + "/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" +
		"Types: deb\nURIs: " + base + "/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
}

// TestPatchThroughPrivateMirror patches an image whose own source is down
// from a mirror that wants credentials and has a private CA, through
// SOURCES and the apt-auth and ca secrets: the image is patched, its own
// sources are unchanged, and the password is nowhere in what the build
// made or said. Without a secret, the build fails naming the source and
// the secret it wants; without SOURCES, naming the source that is down.
func TestPatchThroughPrivateMirror(t *testing.T) {
	env := needEnv(t)
	m := needMirror(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	image := "PATCH " + env.registry + "/copa-test/debian:12-stale-unreachable\n"
	files := map[string]string{
		"Patchfile":      image + "REPORT report.json\nSOURCES mirror.sources\n",
		"report.json":    report,
		"mirror.sources": mirrorSources(m.https),
	}
	secrets := map[string][]byte{"apt-auth": m.authConf(m.https), "ca": m.ca}

	t.Run("with the secrets", func(t *testing.T) {
		since := m.logSize(t)
		res := patchWithSecrets(t, env, files, freshStep(), secrets)
		if res.err != nil {
			t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
		}
		base := baseImage(t, env, "12-stale-unreachable")
		checkPatched(t, base, res.image, trivyFixes(t, report))
		if n := m.served(t, since); n == 0 {
			t.Error("the mirror served nothing: the patch did not go through it")
		}
		layer, err := res.image.Layer(len(res.image.Manifest.Layers) - 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range layer.Headers {
			if strings.HasPrefix(imagetest.CleanName(h.Name), "etc/apt/") {
				t.Errorf("the patch changed %s: the image's own sources must stay as they are", h.Name)
			}
		}
		checkNoSecret(t, res, m.pass)
	})

	t.Run("without credentials", func(t *testing.T) {
		res := patchWithSecrets(t, env, files, freshStep(), map[string][]byte{"ca": m.ca})
		if res.err == nil {
			t.Fatal("a mirror that wants credentials patched without them")
		}
		for _, want := range []string{m.https + "/debian", "401", "--secret id=apt-auth,src="} {
			if !strings.Contains(res.err.Error(), want) {
				t.Errorf("error %q does not say %q", res.err, want)
			}
		}
	})

	// Secrets are not in the cache key: a build that gives the secret
	// after one that failed without it is answered with the cached
	// failure, which must be run again rather than reported.
	t.Run("a cached failure is run again", func(t *testing.T) {
		args := freshStep()
		if res := patchWithSecrets(t, env, files, args, map[string][]byte{"ca": m.ca}); res.err == nil {
			t.Fatal("a mirror that wants credentials patched without them")
		}
		res := patchWithSecrets(t, env, files, args, secrets)
		if res.err != nil {
			t.Fatalf("the earlier build's failure, from the cache, was not run again with the secret: %v\n%s", res.err, res.logs)
		}
		checkPatched(t, baseImage(t, env, "12-stale-unreachable"), res.image, trivyFixes(t, report))
	})

	t.Run("without the CA", func(t *testing.T) {
		res := patchWithSecrets(t, env, files, freshStep(), map[string][]byte{"apt-auth": m.authConf(m.https)})
		if res.err == nil {
			t.Fatal("a mirror with a private CA was trusted without it")
		}
		if !strings.Contains(res.err.Error(), m.https+"/debian") || !strings.Contains(res.err.Error(), "--secret id=ca,src=") {
			t.Errorf("error %q does not name the source and the ca secret", res.err)
		}
		checkNoSecret(t, res, m.pass)
	})

	t.Run("the image's own source down", func(t *testing.T) {
		res := patch(t, env, map[string]string{"Patchfile": image + "REPORT report.json\n", "report.json": report}, nil)
		if res.err == nil {
			t.Fatal("an image whose only source is down was patched from elsewhere")
		}
		for _, want := range []string{"http://127.0.0.1:9/debian", "could not be fetched", "SOURCES"} {
			if !strings.Contains(res.err.Error(), want) {
				t.Errorf("error %q does not say %q", res.err, want)
			}
		}
	})
}

// TestSourcesKeepOnTooling patches a distroless image through the tooling
// image with SOURCES --only --keep: the mirror's sources are the only
// ones, and the result keeps them.
func TestSourcesKeepOnTooling(t *testing.T) {
	env := needEnv(t)
	m := needMirror(t)
	base := harnessImage(t, env, "copa-test/distroless", "12-stale")
	baseFS := mergedFS(t, base)
	names := statusDNames(t, baseFS)
	before := debtest.Versions(statusD(t, baseFS, names))
	report := trivyFor(t, readData(t, env, "debian-12-stale.trivy.json"), before)
	list := "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " + m.http + "/debian bookworm bookworm-updates main\n" +
		"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " + m.http + "/debian-security bookworm-security main\n"
	since := m.logSize(t)
	res := patchWithSecrets(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/distroless:12-stale\nTOOLING " + env.registry + "/copa-test/debian:bookworm\nREPORT report.json\nSOURCES --only --keep mirror.list\n",
		"report.json": report,
		"mirror.list": list,
	}, freshStep(), map[string][]byte{"apt-auth": m.authConf(m.http)})
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkDistroless(t, base, res.image, names, before, trivyFixes(t, report), false, "etc/apt/sources.list.d/mirror.list")
	if m.served(t, since) == 0 {
		t.Error("the mirror served nothing")
	}
	kept, ok := mergedFS(t, res.image).ReadFile("etc/apt/sources.list.d/mirror.list")
	if !ok || string(kept) != list {
		t.Errorf("SOURCES --keep: etc/apt/sources.list.d/mirror.list is %q (present: %v), want the given file", kept, ok)
	}
	checkNoSecret(t, res, m.pass)
}

// checkNoSecret looks for secret in everything the build made and said:
// every file, name and link of every layer, every other blob of the
// exported archive (configs with their history, manifests, the summary
// and VEX attestations), the progress output and the error.
func checkNoSecret(t *testing.T, res buildOutcome, secret string) {
	t.Helper()
	where := []string{}
	if strings.Contains(res.progress, secret) {
		where = append(where, "the progress output")
	}
	if res.err != nil && strings.Contains(res.err.Error(), secret) {
		where = append(where, "the error")
	}
	if res.tar != "" {
		raw, err := os.ReadFile(res.tar)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(secret)) {
			where = append(where, "the exported archive (a config, manifest or attestation)")
		}
		for i := range res.image.Manifest.Layers {
			l, err := res.image.Layer(i)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range l.Headers {
				if strings.Contains(h.Name, secret) || strings.Contains(h.Linkname, secret) {
					where = append(where, "layer "+h.Name)
				}
			}
			for name, dt := range l.Files {
				if bytes.Contains(dt, []byte(secret)) {
					where = append(where, "layer file "+name)
				}
			}
		}
	}
	if len(where) > 0 {
		t.Errorf("the credential appears in %s", strings.Join(where, ", "))
	}
}

// TestPatchRPMThroughPrivateMirror patches the dnf image from the rpm
// repository behind a login, through SOURCES --keep and the repo-auth
// secret: patched, the result's repository file the given one (its own
// replaced), and the password nowhere. Without the secret the build
// fails naming the repository and repo-auth.
func TestPatchRPMThroughPrivateMirror(t *testing.T) {
	env := needEnv(t)
	m := needMirror(t)
	mirror, mirrorLog := os.Getenv("COPA_TEST_AUTH_RPM_MIRROR"), os.Getenv("COPA_TEST_AUTH_RPM_LOG")
	if mirror == "" {
		t.Fatal("COPA_TEST_AUTH_RPM_MIRROR is not set: eval \"$(hack/harness.sh env)\"")
	}
	rm := privateMirror{log: mirrorLog}
	c := rpmCases[0]
	report := readData(t, env, filepath.Join("rpm", c.report))
	repo := "[copa-mirror]\nname=the test packages through a login\nbaseurl=" + mirror + "/\ngpgcheck=0\n"
	files := map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/" + c.repo + ":" + c.tag + "\nREPORT report.json\nSOURCES --keep mirror.repo\n",
		"report.json": report,
		"mirror.repo": repo,
	}
	auth := []byte("machine " + mirror + " login " + m.user + " password " + m.pass + "\n")

	since := rm.logSize(t)
	res := patchWithSecrets(t, env, files, freshStep(), map[string][]byte{"repo-auth": auth})
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	base := c.image(t, env)
	checkRPMPatched(t, base, res.image, c, rpmReportFixes(t, report))
	if rm.served(t, since) == 0 {
		t.Error("the mirror served nothing: the patch did not go through it")
	}
	fs := mergedFS(t, res.image)
	if kept, ok := fs.ReadFile("etc/yum.repos.d/mirror.repo"); !ok || string(kept) != repo {
		t.Errorf("SOURCES --keep: etc/yum.repos.d/mirror.repo is %q (present: %v), want the given file", kept, ok)
	}
	if _, ok := fs.ReadFile("etc/yum.repos.d/copa-test.repo"); ok {
		t.Error("SOURCES --keep (replacing): the image's own copa-test.repo is still there")
	}
	checkNoSecret(t, res, m.pass)

	res = patchWithSecrets(t, env, files, freshStep(), map[string][]byte{})
	if res.err == nil {
		t.Fatal("a repository that wants credentials patched without them")
	}
	for _, want := range []string{mirror + "/repodata/repomd.xml", "401", "--secret id=repo-auth,src="} {
		if !strings.Contains(res.err.Error(), want) {
			t.Errorf("error %q does not say %q\n%s", res.err, want, res.logs)
		}
	}
}
