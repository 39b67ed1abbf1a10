package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// fetchProxy is a plain HTTP forward proxy on loopback that records what
// the patch steps fetch (they reach it through the HTTP_PROXY build arg),
// so that a run can say how often the package lists and each package were
// downloaded.
type fetchProxy struct {
	addr string
	mu   sync.Mutex
	log  []fetch
}

// fetch is one request the proxy forwarded.
type fetch struct {
	url    string
	status int
	bytes  int64
}

func startProxy() *fetchProxy {
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	p := &fetchProxy{addr: ln.Addr().String()}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(p.forward))
	}()
	return p
}

func (p *fetchProxy) forward(w http.ResponseWriter, r *http.Request) {
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "this proxy forwards plain http only", http.StatusBadRequest)
		return
	}
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
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	p.mu.Lock()
	p.log = append(p.log, fetch{r.URL.String(), resp.StatusCode, n})
	p.mu.Unlock()
}

// take returns what was fetched since the last take, and forgets it.
func (p *fetchProxy) take() []fetch {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.log
	p.log = nil
	return l
}

// fetchCounts sums up one run's fetches by kind: the release files apt
// revalidates, the package indexes, the packages.
type fetchCounts struct {
	requests                    int
	releases, releasesUnchanged int // InRelease answered 200, and 304
	indexes, debs               int // answered 200
	maxPerIndex, maxPerDeb      int // the most times one URL was downloaded
	bytes                       int64
}

func countFetches(log []fetch) fetchCounts {
	var c fetchCounts
	per := map[string]int{}
	for _, f := range log {
		c.requests++
		c.bytes += f.bytes
		release := strings.HasSuffix(f.url, "Release") || strings.HasSuffix(f.url, "Release.gpg")
		if f.status == http.StatusNotModified && release {
			c.releasesUnchanged++
		}
		if f.status != http.StatusOK {
			continue
		}
		per[f.url]++
		switch {
		case release:
			c.releases++
		case strings.HasSuffix(f.url, ".deb"):
			c.debs++
			c.maxPerDeb = max(c.maxPerDeb, per[f.url])
		case strings.Contains(f.url, "/dists/"):
			c.indexes++
			c.maxPerIndex = max(c.maxPerIndex, per[f.url])
		}
	}
	return c
}
