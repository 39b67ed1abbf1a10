package main

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testSpec() *Spec {
	s := &Spec{Arch: "x86_64", Description: "copa-test", Packages: []Package{
		testPackages[0].pkg,
		{Name: "copa-lib", Version: "1.0-r0", License: "MIT", Provides: []string{"so:libcopa.so.1=1"},
			Files: []File{{Path: "usr/lib/libcopa.so.1", Size: 5000, Seed: "lib"}}},
		testPackages[1].pkg,
		{Name: "copa-lib", Version: "1.1-r0", License: "MIT", Files: []File{{Path: "usr/lib/libcopa.so.1", Size: 5000, Seed: "lib2"}}},
	}}
	s.Packages[0].Maintainer = "Copa <copa@example.invalid>"
	return s
}

// parseIndex splits APKINDEX text into its entries, each a list of
// "K:value" lines, checking that every entry ends with a blank line.
func parseIndex(t *testing.T, text string) [][]string {
	t.Helper()
	if !strings.HasSuffix(text, "\n\n") {
		t.Fatalf("index does not end with a blank line: %q", text)
	}
	var out [][]string
	for _, block := range strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n") {
		out = append(out, strings.Split(block, "\n"))
	}
	return out
}

func TestIndex(t *testing.T) {
	spec := testSpec()
	files, err := buildRepo(spec, testSigner(), testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	apks := map[string][]byte{}
	for _, f := range files {
		apks[f.name] = f.data
	}
	index := apks["APKINDEX.tar.gz"]
	if index == nil || files[len(files)-1].name != "APKINDEX.tar.gz" {
		t.Fatalf("files: %v", files)
	}

	streams := splitGzip(t, index)
	if len(streams) != 2 {
		t.Fatalf("index has %d gzip streams, want 2 (signature, index)", len(streams))
	}
	sig := readTar(t, gunzip(t, streams[0]))
	sum := sha256.Sum256(streams[1])
	if len(sig) != 1 || sig[0].hdr.Name != ".SIGN.RSA256."+testKeyName {
		t.Fatalf("index signature tar: %v", names(sig))
	}
	if err := rsa.VerifyPKCS1v15(&testKey().PublicKey, crypto.SHA256, sum[:], sig[0].data); err != nil {
		t.Errorf("index signature: %v", err)
	}
	body := readTar(t, gunzip(t, streams[1]))
	if got := strings.Join(names(body), " "); got != "DESCRIPTION APKINDEX" {
		t.Fatalf("index entries %q", got)
	}
	if string(body[0].data) != spec.Description {
		t.Errorf("DESCRIPTION %q", body[0].data)
	}

	entries := parseIndex(t, string(body[1].data))
	if len(entries) != len(spec.Packages) {
		t.Fatalf("%d index entries, want %d", len(entries), len(spec.Packages))
	}
	var order []string
	for _, e := range entries {
		fields := map[string]string{}
		var keys []string
		for _, l := range e {
			k, v, ok := strings.Cut(l, ":")
			if !ok || len(k) != 1 {
				t.Fatalf("bad index line %q", l)
			}
			fields[k] = v
			keys = append(keys, k)
		}
		order = append(order, fields["P"]+"-"+fields["V"])
		var p *Package
		for i := range spec.Packages {
			if spec.Packages[i].Name == fields["P"] && spec.Packages[i].Version == fields["V"] {
				p = &spec.Packages[i]
			}
		}
		if p == nil {
			t.Fatalf("index lists %s-%s, which the spec does not", fields["P"], fields["V"])
		}
		apk := apks[p.fileName()]
		ctl := splitGzip(t, apk)[1]
		want := map[string]string{
			"C": identity(ctl), "P": p.Name, "V": p.Version, "A": p.arch(spec.Arch),
			"S": strconv.Itoa(len(apk)), "T": p.Description, "U": p.URL, "L": p.License,
			"o": p.origin(), "t": "1735689600",
			"D": strings.Join(p.Depends, " "), "p": strings.Join(p.Provides, " "), "m": p.Maintainer,
		}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("%s: %s:%q, want %q", p.fileName(), k, fields[k], v)
			}
		}
		if !strings.HasPrefix(fields["C"], "Q1") || len(fields["C"]) != 30 {
			t.Errorf("C:%s is not Q1 and a base64 SHA-1", fields["C"])
		}
		// The field order of apk_pkg_write_index_header; D: and p: only
		// when there are dependencies, m: only with a maintainer.
		wantKeys := "CPVASITULo"
		if p.Maintainer != "" {
			wantKeys += "m"
		}
		wantKeys += "t"
		if len(p.Depends) > 0 {
			wantKeys += "D"
		}
		if len(p.Provides) > 0 {
			wantKeys += "p"
		}
		if got := strings.Join(keys, ""); got != wantKeys {
			t.Errorf("%s: fields %s, want %s", p.fileName(), got, wantKeys)
		}
	}
	if got, want := strings.Join(order, " "), "copa-base-1.0-r0 copa-lib-1.0-r0 copa-lib-1.1-r0 copa-meta-2_p1-r3"; got != want {
		t.Errorf("index order %q, want %q (by name, versions in spec order)", got, want)
	}
}

// TestReproducible runs the command's build twice into two directories:
// the same spec and key must give the same bytes, and another epoch other
// bytes except for a package that fixes its own.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.rsa")
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	fixed := int64(1600000000)
	spec.Packages[1].Epoch = &fixed
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specFile, specJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(out string) map[string][]byte {
		ents, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]byte{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(out, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = b
		}
		return m
	}
	var runs []map[string][]byte
	for i, epoch := range []int64{defaultEpoch, defaultEpoch, defaultEpoch + 86400} {
		out := filepath.Join(dir, "repo"+strconv.Itoa(i), "x86_64")
		if err := build(specFile, keyFile, "k.rsa", out, "", time.Unix(epoch, 0)); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, read(out))
	}
	if len(runs[0]) != len(spec.Packages)+1 {
		t.Fatalf("wrote %d files, want %d", len(runs[0]), len(spec.Packages)+1)
	}
	for name, b := range runs[0] {
		if !bytes.Equal(b, runs[1][name]) {
			t.Errorf("%s differs between two runs of the same spec and key", name)
		}
		if same := bytes.Equal(b, runs[2][name]); same != (name == spec.Packages[1].fileName()) {
			t.Errorf("%s: same bytes under another epoch: %v", name, same)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	ok := func() Package {
		return Package{Name: "p", Version: "1.0-r0", License: "MIT", Files: []File{{Path: "usr/bin/p", Content: str("x")}}}
	}
	for _, tc := range []struct {
		name   string
		change func(s *Spec)
		want   string
	}{
		{"valid", func(s *Spec) {}, ""},
		{"no arch", func(s *Spec) { s.Arch = "" }, "no arch"},
		{"bad version", func(s *Spec) { s.Packages[0].Version = "1.0-1" }, "bad version"},
		{"no license", func(s *Spec) { s.Packages[0].License = "" }, "no license"},
		{"twice", func(s *Spec) { s.Packages = append(s.Packages, ok()) }, "listed twice"},
		{"script", func(s *Spec) { s.Packages[0].Scripts = map[string]string{"post-remove": ""} }, "unknown script"},
		{"abs path", func(s *Spec) { s.Packages[0].Files[0].Path = "/usr/bin/p" }, "bad path"},
		{"dotdot", func(s *Spec) { s.Packages[0].Files[0].Path = "usr/../../p" }, "bad path"},
		{"dot file", func(s *Spec) { s.Packages[0].Files[0].Path = ".PKGINFO" }, "starts with a dot"},
		{"two kinds", func(s *Spec) { s.Packages[0].Files[0].Symlink = "q" }, "exactly one"},
		{"no kind", func(s *Spec) { s.Packages[0].Files[0].Content = nil }, "exactly one"},
		{"mode", func(s *Spec) { s.Packages[0].Files[0].Mode = "0x755" }, "bad mode"},
		{"dep space", func(s *Spec) { s.Packages[0].Depends = []string{"a b"} }, "bad dependency"},
		{"under a file", func(s *Spec) {
			s.Packages[0].Files = append(s.Packages[0].Files, File{Path: "usr/bin/p/q", Content: str("")})
		}, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Spec{Arch: "x86_64", Packages: []Package{ok()}}
			tc.change(s)
			err := s.validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestGenKey(t *testing.T) {
	dir := t.TempDir()
	if err := genKey(dir, "copa-test.rsa", 1024); err != nil {
		t.Fatal(err)
	}
	key, err := loadKey(filepath.Join(dir, "copa-test.rsa"))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(filepath.Join(dir, "copa-test.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pubPEM)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("public key PEM %q", pubPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil || !key.PublicKey.Equal(pub) {
		t.Fatalf("public key does not match the private one: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "copa-test.rsa")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, %v", fi.Mode(), err)
	}
	if err := genKey(dir, "copa-test.rsa", 1024); err == nil {
		t.Error("genKey replaced an existing key")
	}
	// PKCS#1, as older openssl and abuild-keygen write it.
	pkcs1 := filepath.Join(dir, "old.rsa")
	if err := os.WriteFile(pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	if k2, err := loadKey(pkcs1); err != nil || !k2.Equal(key) {
		t.Errorf("PKCS#1 key: %v", err)
	}
}

// TestExampleSpecs keeps the specs of the harness valid, and the shape
// its tests rely on: each package in two versions, of which v2's library
// (copa-lib's usr/lib/libcopa.so.1) is byte for byte v1's, the file that
// an upgrade leaves unchanged.
func TestExampleSpecs(t *testing.T) {
	var libs [][]byte
	versions := map[string][]string{}
	for _, tc := range []struct {
		file  string
		epoch int64
	}{{"testdata/copa-v1.json", defaultEpoch}, {"testdata/copa-v2.json", 1751328000}} {
		spec, err := loadSpec(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := buildRepo(spec, testSigner(), time.Unix(tc.epoch, 0)); err != nil {
			t.Fatal(err)
		}
		for _, p := range spec.Packages {
			versions[p.Name] = append(versions[p.Name], p.Version)
			if p.Name != "copa-lib" {
				continue
			}
			for _, f := range p.Files {
				if f.Path == "usr/lib/libcopa.so.1" {
					libs = append(libs, f.data())
				}
			}
		}
	}
	for name, v := range versions {
		if len(v) != 2 || v[0] == v[1] {
			t.Errorf("%s: versions %v, want two different ones", name, v)
		}
	}
	if len(libs) != 2 || !bytes.Equal(libs[0], libs[1]) {
		t.Errorf("copa-lib's usr/lib/libcopa.so.1 is not the same in both versions")
	}
}
