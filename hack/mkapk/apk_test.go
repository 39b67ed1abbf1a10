package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

const testKeyName = "test.rsa.pub"

var testEpoch = time.Unix(defaultEpoch, 0).UTC()

func testSigner() *signer { return &signer{key: testKey(), keyName: testKeyName} }

func str(s string) *string { return &s }

// splitGzip cuts b into its gzip streams. A bytes.Reader is an
// io.ByteReader, so gzip reads no further than each stream's end and the
// reader's position marks the boundary.
func splitGzip(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		start := len(b) - r.Len()
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("stream %d at %d: %v", len(out), start, err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("stream %d: %v", len(out), err)
		}
		out = append(out, b[start:len(b)-r.Len()])
	}
	return out
}

func gunzip(t *testing.T, stream []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

// readTar parses raw, which may lack end-of-archive blocks, as apk does.
func readTar(t *testing.T, raw []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h, d})
	}
}

// tarLen is the length of entries' headers and padded data, without PAX
// headers or end blocks.
func tarLen(entries []entry) int {
	n := 0
	for _, e := range entries {
		n += 512 + int((e.hdr.Size+511)/512*512)
	}
	return n
}

func parsePkgInfo(text string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, " = "); ok && !strings.HasPrefix(l, "#") {
			m[k] = append(m[k], v)
		}
	}
	return m
}

var testPackages = []struct {
	name string
	pkg  Package
}{
	{"files, symlink, dir, scripts", Package{
		Name: "copa-base", Version: "1.0-r0", Description: "base", License: "MIT",
		Depends: []string{"copa-lib>=1.0", "so:libc.musl-x86_64.so.1"}, Provides: []string{"cmd:copa-tool=1.0-r0"},
		Files: []File{
			{Path: "usr/bin/copa-tool", Mode: "0755", Content: str("#!/bin/sh\necho hi\n")},
			{Path: "usr/share/copa/blob", Size: 10000, Seed: "x"},
			{Path: "etc/copa/app.conf", Content: str("a=1\n")},
			{Path: "usr/lib/libfoo.so", Symlink: "libfoo.so.1"},
			{Path: "var/lib/copa", Dir: true, Mode: "0750"},
			{Path: "usr/share/copa/empty", Content: str("")},
		},
		Scripts: map[string]string{"post-upgrade": "#!/bin/sh\ntrue\n", "pre-install": "#!/bin/sh\n"},
	}},
	{"noarch, no files", Package{Name: "copa-meta", Version: "2_p1-r3", Arch: "noarch", License: "GPL-2.0-only", Origin: "copa"}},
}

func TestPackageStreams(t *testing.T) {
	for _, tc := range testPackages {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pkg
			bp, err := buildPackage(&p, "x86_64", testSigner(), testEpoch)
			if err != nil {
				t.Fatal(err)
			}
			streams := splitGzip(t, bp.apk)
			if len(streams) != 3 {
				t.Fatalf("%d gzip streams, want 3 (signature, control, data)", len(streams))
			}
			sigS, ctlS, dataS := streams[0], streams[1], streams[2]
			if !bytes.Equal(ctlS, bp.control) {
				t.Error("the second stream is not the control stream the index identifies")
			}

			sigRaw := gunzip(t, sigS)
			sig := readTar(t, sigRaw)
			if len(sig) != 1 || sig[0].hdr.Name != ".SIGN.RSA256."+testKeyName {
				t.Fatalf("signature tar: %+v", sig)
			}
			if len(sigRaw) != tarLen(sig) {
				t.Errorf("signature tar is %d bytes, want %d: it must have no end blocks", len(sigRaw), tarLen(sig))
			}
			sum := sha256.Sum256(ctlS)
			if err := rsa.VerifyPKCS1v15(&testKey().PublicKey, crypto.SHA256, sum[:], sig[0].data); err != nil {
				t.Errorf("signature over the control stream: %v", err)
			}

			ctlRaw := gunzip(t, ctlS)
			ctl := readTar(t, ctlRaw)
			if len(ctlRaw) != tarLen(ctl) {
				t.Errorf("control tar is %d bytes, want %d: it must have no end blocks", len(ctlRaw), tarLen(ctl))
			}
			if len(ctl) != 1+len(p.Scripts) || ctl[0].hdr.Name != ".PKGINFO" {
				t.Fatalf("control entries: %v", names(ctl))
			}
			for _, e := range ctl[1:] {
				name := strings.TrimPrefix(e.hdr.Name, ".")
				if p.Scripts[name] != string(e.data) || e.hdr.Mode != 0o755 {
					t.Errorf("script %s: mode %o, %q", e.hdr.Name, e.hdr.Mode, e.data)
				}
			}
			info := parsePkgInfo(string(ctl[0].data))
			dsum := sha256.Sum256(dataS)
			want := map[string]string{
				"pkgname": p.Name, "pkgver": p.Version, "arch": p.arch("x86_64"), "license": p.License,
				"origin": p.origin(), "builddate": "1735689600", "datahash": hex.EncodeToString(dsum[:]),
			}
			for k, v := range want {
				if got := info[k]; len(got) != 1 || got[0] != v {
					t.Errorf(".PKGINFO %s = %q, want %q", k, got, v)
				}
			}
			if strings.Join(info["depend"], " ") != strings.Join(p.Depends, " ") ||
				strings.Join(info["provides"], " ") != strings.Join(p.Provides, " ") {
				t.Errorf(".PKGINFO depend %q provides %q", info["depend"], info["provides"])
			}

			checkData(t, &p, readTar(t, gunzip(t, dataS)), info["size"])

			// apk reads the three streams as one tar; it must hold every
			// entry, in order.
			all := readTar(t, append(append(sigRaw, ctlRaw...), gunzip(t, dataS)...))
			if got, want := len(all), len(sig)+len(ctl)+len(readTar(t, gunzip(t, dataS))); got != want {
				t.Errorf("the concatenated tar has %d entries, want %d", got, want)
			}
		})
	}
}

func names(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.hdr.Name)
	}
	return out
}

// checkData checks the data tar against the spec: every file and its
// implied directories, parents first, root-owned at the epoch, each file
// and symlink with its SHA-1 in the PAX header, and .PKGINFO's size.
func checkData(t *testing.T, p *Package, data []entry, size []string) {
	t.Helper()
	seen := map[string]bool{}
	var total int64
	for _, e := range data {
		h := e.hdr
		name := strings.TrimSuffix(h.Name, "/")
		if i := strings.LastIndex(name, "/"); i > 0 && !seen[name[:i]] {
			t.Errorf("%s comes before its directory", h.Name)
		}
		seen[name] = true
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || !h.ModTime.Equal(testEpoch) {
			t.Errorf("%s: uid %d gid %d uname %q mtime %v", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
		var f *File
		for i := range p.Files {
			if p.Files[i].cleanPath() == name {
				f = &p.Files[i]
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if !strings.HasSuffix(h.Name, "/") || (f == nil && h.Mode != 0o755) || (f != nil && !f.Dir) {
				t.Errorf("directory %s mode %o", h.Name, h.Mode)
			}
			continue
		case tar.TypeSymlink:
			if f == nil || f.Symlink != h.Linkname {
				t.Errorf("symlink %s -> %s", h.Name, h.Linkname)
				continue
			}
			sum := sha1.Sum([]byte(h.Linkname))
			if h.PAXRecords[paxChecksum] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: %s = %q", h.Name, paxChecksum, h.PAXRecords[paxChecksum])
			}
		case tar.TypeReg:
			if f == nil || !bytes.Equal(f.data(), e.data) {
				t.Errorf("file %s: content differs from the spec", h.Name)
				continue
			}
			if m, _ := f.mode(); h.Mode != m {
				t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, m)
			}
			sum := sha1.Sum(e.data)
			if h.PAXRecords[paxChecksum] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: %s = %q", h.Name, paxChecksum, h.PAXRecords[paxChecksum])
			}
			total += h.Size
		default:
			t.Errorf("%s: type %c", h.Name, h.Typeflag)
		}
	}
	for _, f := range p.Files {
		if !seen[f.cleanPath()] {
			t.Errorf("%s is missing from the data tar", f.Path)
		}
	}
	if len(size) != 1 || size[0] != strconv.FormatInt(total, 10) {
		t.Errorf(".PKGINFO size %q, want %d", size, total)
	}
}

func TestSeededData(t *testing.T) {
	for _, tc := range []struct {
		size int64
		seed string
	}{{0, "a"}, {1, "a"}, {31, "a"}, {32, "a"}, {33, "a"}, {8192, "blob"}} {
		f := File{Path: "x", Size: tc.size, Seed: tc.seed}
		a, b := f.data(), f.data()
		if int64(len(a)) != tc.size || !bytes.Equal(a, b) {
			t.Errorf("size %d seed %q: %d bytes, stable %v", tc.size, tc.seed, len(a), bytes.Equal(a, b))
		}
		other := File{Path: "x", Size: tc.size, Seed: tc.seed + "!"}
		if tc.size > 0 && bytes.Equal(a, other.data()) {
			t.Errorf("size %d: seeds %q and %q give the same bytes", tc.size, tc.seed, tc.seed+"!")
		}
	}
}
