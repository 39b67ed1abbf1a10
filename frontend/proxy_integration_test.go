package frontend_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingProxy is a plain HTTP forward proxy on loopback that counts the
// requests it forwards. Build steps use the host's network, so they
// reach it.
type countingProxy struct {
	addr     string
	requests atomic.Int64
	mu       sync.Mutex
	answered []proxied // every request forwarded, with the status it got
}

// proxied is one request the proxy forwarded.
type proxied struct {
	url    string
	status int
}

// log returns the requests forwarded so far.
func (p *countingProxy) log() []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.answered)
}

func startCountingProxy(t *testing.T) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Scheme != "http" || r.URL.Host == "" {
			http.Error(w, "this test proxy forwards plain http only", http.StatusBadRequest)
			return
		}
		p.requests.Add(1)
		out, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out.Header = r.Header.Clone()
		out.Header.Del("Proxy-Connection")
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		p.mu.Lock()
		p.answered = append(p.answered, proxied{r.URL.String(), resp.StatusCode})
		p.mu.Unlock()
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return p
}

// TestPatchThroughProxy patches the stale Debian 12 image with the proxy
// build args set, without an ARG for them: apt's requests go through the
// proxy, and the proxy is nowhere in the image's config or history.
func TestPatchThroughProxy(t *testing.T) {
	env := needEnv(t)
	p := startCountingProxy(t)
	url := "http://" + p.addr
	report := readData(t, env, "debian-12-stale.trivy.json")
	res := patch(t, env, map[string]string{
		"Patchfile":   "PATCH " + env.registry + "/copa-test/debian:12-stale\nREPORT report.json\n",
		"report.json": report,
	}, map[string]string{"HTTP_PROXY": url, "http_proxy": url, "NO_PROXY": "localhost",
		// BuildKit keeps the proxy out of the cache key, so an earlier
		// patch of the same image would answer from the cache without a
		// request: a SOURCE_DATE_EPOCH of this run's own makes the step new.
		"SOURCE_DATE_EPOCH": strconv.FormatInt(time.Now().UnixNano()%1e9, 10)})
	if res.err != nil {
		t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
	}
	if n := p.requests.Load(); n == 0 {
		t.Error("apt's requests did not go through the proxy")
	} else {
		t.Logf("the proxy forwarded %d request(s)", n)
	}
	checkPatched(t, baseImage(t, env, "12-stale"), res.image, trivyFixes(t, report))
	cfg, err := json.Marshal(res.image.Config)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), p.addr) || strings.Contains(strings.ToLower(string(cfg)), "http_proxy") {
		t.Errorf("the proxy is in the image config or history: %s", cfg)
	}
}
