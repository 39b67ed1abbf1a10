package frontend_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHungMirrorFailsInTime patches from a mirror that takes connections
// and never answers: the step gives up after the network bound and the
// build fails naming the source, instead of waiting for ever.
func TestHungMirrorFailsInTime(t *testing.T) {
	env := needEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	url := "http://" + l.Addr().String() + "/debian"
	report := readData(t, env, "debian-12-stale.trivy.json")
	args := freshStep()
	args["BUILDKIT_COPA_NETWORK_TIMEOUT"] = "3"
	args["BUILDKIT_COPA_NETWORK_RETRIES"] = "0"
	start := time.Now()
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\nSOURCES --only hung.list\n",
		"report.json": report,
		"hung.list":   "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " + url + " bookworm main\n",
	}, args)
	took := time.Since(start)
	if res.err == nil {
		t.Fatal("a mirror that never answers gave a patch")
	}
	for _, want := range []string{url, "could not be fetched"} {
		if !strings.Contains(res.err.Error(), want) {
			t.Errorf("error %q does not say %q", res.err, want)
		}
	}
	mu.Lock()
	n := len(conns)
	mu.Unlock()
	if n == 0 {
		t.Error("the step never connected to the mirror")
	}
	// A bound, not a measurement: without one the build waited until it
	// was killed. A failure of this build is not run again.
	if took > 3*time.Minute {
		t.Errorf("the build took %s to give up on a hung mirror", took)
	}
	t.Logf("failed after %s, %d connection(s): %v", took.Round(time.Second), n, res.err)
}

// TestReportThroughSymlink reads a report through a symlink inside the
// build context, as the Dockerfile frontend follows them.
func TestReportThroughSymlink(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT latest.json\n",
		"scan.json":   report,
		"latest.json": "symlink:scan.json",
	}, nil)
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	checkPatched(t, baseImage(t, env, "12-stale"), res.image, trivyFixes(t, report))
}
