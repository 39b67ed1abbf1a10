// Command authmirror is the test harness's private package mirror: a
// reverse proxy to a package archive (the Debian archive, or the
// harness's rpm repository) that demands HTTP basic auth, as Artifactory,
// Nexus or an aptly server behind a login do. It serves plain HTTP and,
// with -tls, HTTPS with a certificate of its own CA, which it writes to
// -ca-out: the private-CA case.
//
//	authmirror -listen 127.0.0.1:8090 -tls 127.0.0.1:8091 -upstream http://deb.debian.org \
//	    -credentials FILE -ca-out FILE
//
// FILE holds "user:password" on one line. Every request is logged to
// stderr with its status (never its credentials), and the log is what
// the tests read to see that a patch went through the mirror.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "plain HTTP address")
	tlsListen := flag.String("tls", "", "HTTPS address (optional)")
	upstream := flag.String("upstream", "http://deb.debian.org", "the archive to proxy")
	credFile := flag.String("credentials", "", `file holding "user:password"`)
	caOut := flag.String("ca-out", "", "where to write the PEM of the CA that signs the HTTPS certificate")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	dt, err := os.ReadFile(*credFile)
	if err != nil {
		log.Fatalf("credentials: %v", err)
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(dt)), ":")
	if !ok || user == "" || pass == "" {
		log.Fatalf("credentials: %s does not hold user:password", *credFile)
	}
	up, err := url.Parse(*upstream)
	if err != nil || up.Host == "" {
		log.Fatalf("upstream %q: %v", *upstream, err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	base := proxy.Director
	proxy.Director = func(r *http.Request) {
		base(r)
		r.Host = up.Host
		r.Header.Del("Authorization")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(pass)) != 1 {
			log.Printf("401 %s %s (credentials: %v)", r.Method, r.URL.Path, ok)
			w.Header().Set("WWW-Authenticate", `Basic realm="copa test mirror"`)
			http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
			return
		}
		log.Printf("ok %s %s", r.Method, r.URL.Path)
		proxy.ServeHTTP(w, r)
	})

	errc := make(chan error, 2)
	go func() {
		errc <- (&http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 30 * time.Second}).ListenAndServe()
	}()
	if *tlsListen != "" {
		cert, caPEM, err := selfSigned(*tlsListen)
		if err != nil {
			log.Fatal(err)
		}
		if *caOut != "" {
			if err := os.WriteFile(*caOut, caPEM, 0o644); err != nil {
				log.Fatal(err)
			}
		}
		srv := &http.Server{Addr: *tlsListen, Handler: h, ReadHeaderTimeout: 30 * time.Second,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		go func() { errc <- srv.ListenAndServeTLS("", "") }()
	}
	log.Printf("proxying %s on http://%s and https://%s", up, *listen, *tlsListen)
	log.Fatal(<-errc)
}

// selfSigned makes a CA and a certificate it signs for the listen
// address's host, both new on every start.
func selfSigned(addr string) (tls.Certificate, []byte, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "copa test mirror CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		leaf.IPAddresses = []net.IP{ip}
	} else {
		leaf.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, caPEM, nil
}
