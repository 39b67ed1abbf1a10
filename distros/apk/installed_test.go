package apk

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

// realDB is an installed database as apk-tools writes it: index fields
// first (with the ones the parser skips: S:, I:, T:, D:, p:, …), then r:,
// q:, s: and f:, then each F: directory with its M: and its R: files,
// each with its a: and Z:. The Z: digests are of the contents noted, a
// symbolic link's of its target; ca-certificates-bundle was installed by
// apk-tools 3 from a v3 package (f:S), so its Q1s are SHA-256/160.
const realDB = `C:Q1IlAi/0i+sbJpPFnbAROxQlac5W8=
P:alpine-base
V:3.21.3-r0
A:x86_64
S:1260
I:0
T:Meta package for minimal alpine base
U:https://alpinelinux.org
L:MIT
o:alpine-base
m:Natanael Copa <ncopa@alpinelinux.org>
t:1739487787
c:899c70c801638ce9aea29a822aaa07a1488efa15
D:alpine-baselayout busybox musl-utils

C:Q1tqfiUy8kPm4mMip3XnqeiL+AslY=
P:alpine-baselayout
V:3.6.8-r1
A:x86_64
S:8306
I:6532
T:Alpine base dir structure and init scripts
o:alpine-baselayout
D:alpine-baselayout-data=3.6.8-r1 /bin/sh
q:1000
F:etc
R:motd
Z:Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=
F:etc/crontabs
R:root
a:0:0:600
Z:Q1WqGrTA326EVSe3binbO5YJ1XI5w=
F:root
M:0:0:700
F:tmp
M:0:0:1777
F:var
R:lock
a:0:0:777
Z:Q1AlKRzNY2tL5VHCUulI/O8Gf3f+Y=

C:Q1DKYj4oVfLHXIQq0wL+gg5BtNGX0=
P:busybox
V:1.37.0-r12
A:x86_64
o:busybox
D:so:libc.musl-x86_64.so.1
p:cmd:busybox=1.37.0-r12 cmd:sh=1.37.0-r12
r:busybox-initscripts
F:bin
R:busybox
a:0:0:755
Z:Q1CzwiSyMTd+NljMT4BomrlcQ5KBA=
F:etc
R:securetty
Z:Q1gb+vyZBW+DTnGu2Inzmigom2Oig=
F:usr/share/udhcpc
R:default.script
a:0:0:755
Z:Q1srYsEBoVb18S3XGXz3rpQkFksRU=

C:Q1ESV8DVqBLhYOln6umajplOko8dA=
P:libcrypto3
V:3.3.3-r0
A:x86_64
o:openssl
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
F:usr/lib
R:libcrypto.so.3
a:0:0:755
Z:Q1eihlzsW6yooMs5ISNqWLzSaqnJg=
F:usr/lib/engines-3

P:iputils-ping
V:20240905-r0
A:x86_64
o:iputils
s:edge
F:bin
R:ping
a:0:0:755:Q1ESV8DVqBLhYOln6umajplOko8dA=
Z:Q1Dp/3f1mWwFpOhyjHrCAi3HYixJM=

C:Q1SgcMNMQZ7SItI6qCC0EqOIolLzg=
P:ca-certificates-bundle
V:20241121-r1
A:x86_64
o:ca-certificates
g:openssf-compliant
f:xS
F:etc/ssl/certs
R:ca-certificates.crt
Z:Q1qQZJvu4fK4AaEoYjnUX+J1jNkE8=

`

func q(t *testing.T, s string) Checksum {
	t.Helper()
	c, err := ParseChecksum(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func as(c Checksum, alg Algorithm) Checksum { c.Alg = alg; return c }

func TestParseInstalled(t *testing.T) {
	db, err := ParseInstalled([]byte(realDB))
	if err != nil {
		t.Fatal(err)
	}
	file := func(p, sum string, a Attrs) File { return File{Path: p, Checksum: q(t, sum), Attrs: a} }
	want := []Record{
		{Name: "alpine-base", Version: "3.21.3-r0", Arch: "x86_64", Origin: "alpine-base", Checksum: q(t, "Q1IlAi/0i+sbJpPFnbAROxQlac5W8="), Line: 1},
		{Name: "alpine-baselayout", Version: "3.6.8-r1", Arch: "x86_64", Origin: "alpine-baselayout", Checksum: q(t, "Q1tqfiUy8kPm4mMip3XnqeiL+AslY="), Line: 16,
			Dirs: []Dir{{"etc", defaultDir}, {"etc/crontabs", defaultDir}, {"root", Attrs{Mode: 0o700}}, {"tmp", Attrs{Mode: 0o1777}}, {"var", defaultDir}},
			Files: []File{
				file("etc/motd", "Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=", defaultFile),
				file("etc/crontabs/root", "Q1WqGrTA326EVSe3binbO5YJ1XI5w=", Attrs{Mode: 0o600}),
				file("var/lock", "Q1AlKRzNY2tL5VHCUulI/O8Gf3f+Y=", Attrs{Mode: 0o777}),
			}},
		{Name: "busybox", Version: "1.37.0-r12", Arch: "x86_64", Origin: "busybox", Checksum: q(t, "Q1DKYj4oVfLHXIQq0wL+gg5BtNGX0="), Line: 42,
			Dirs: []Dir{{"bin", defaultDir}, {"etc", defaultDir}, {"usr/share/udhcpc", defaultDir}},
			Files: []File{
				file("bin/busybox", "Q1CzwiSyMTd+NljMT4BomrlcQ5KBA=", Attrs{Mode: 0o755}),
				file("etc/securetty", "Q1gb+vyZBW+DTnGu2Inzmigom2Oig=", defaultFile),
				file("usr/share/udhcpc/default.script", "Q1srYsEBoVb18S3XGXz3rpQkFksRU=", Attrs{Mode: 0o755}),
			}},
		{Name: "libcrypto3", Version: "3.3.3-r0", Arch: "x86_64", Origin: "openssl", Checksum: q(t, "Q1ESV8DVqBLhYOln6umajplOko8dA="), Line: 62,
			Dirs:  []Dir{{"usr/lib", defaultDir}, {"usr/lib/engines-3", defaultDir}},
			Files: []File{file("usr/lib/libcrypto.so.3", "Q1eihlzsW6yooMs5ISNqWLzSaqnJg=", Attrs{Mode: 0o755})}},
		{Name: "iputils-ping", Version: "20240905-r0", Arch: "x86_64", Origin: "iputils", Line: 75,
			Dirs:  []Dir{{"bin", defaultDir}},
			Files: []File{file("bin/ping", "Q1Dp/3f1mWwFpOhyjHrCAi3HYixJM=", Attrs{Mode: 0o755, Xattrs: q(t, "Q1ESV8DVqBLhYOln6umajplOko8dA=")})}},
		{Name: "ca-certificates-bundle", Version: "20241121-r1", Arch: "x86_64", Origin: "ca-certificates", BrokenXattrs: true, Line: 85,
			Checksum: as(q(t, "Q1SgcMNMQZ7SItI6qCC0EqOIolLzg="), SHA256_160),
			Dirs:     []Dir{{"etc/ssl/certs", defaultDir}},
			Files:    []File{{Path: "etc/ssl/certs/ca-certificates.crt", Checksum: as(q(t, "Q1qQZJvu4fK4AaEoYjnUX+J1jNkE8="), SHA256_160), Attrs: defaultFile}}},
	}
	if !reflect.DeepEqual(db.Records, want) {
		for i := range max(len(db.Records), len(want)) {
			var g, w Record
			if i < len(db.Records) {
				g = db.Records[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	}

	// The Z: digests are those of the contents: a file's bytes, a
	// symbolic link's target, SHA-256/160 in a v3 package.
	contents := map[string]string{
		"etc/motd":                          "Welcome to copa!\n",
		"etc/crontabs/root":                 "root:x:0:0\n",
		"var/lock":                          "../run/lock",
		"usr/share/udhcpc/default.script":   "#!/bin/sh\necho hi\n",
		"etc/ssl/certs/ca-certificates.crt": "Welcome to copa!\n",
	}
	for _, r := range db.Records {
		for _, f := range r.Files {
			if c, ok := contents[f.Path]; ok && !f.Checksum.Matches([]byte(c)) {
				t.Errorf("%s: %s (%s) does not match %q", f.Path, f.Checksum, f.Checksum.Alg, c)
			}
		}
	}

	wantPkgs := distros.Packages{
		{Name: "alpine-base", Arch: "x86_64", Version: "3.21.3-r0"},
		{Name: "alpine-baselayout", Arch: "x86_64", Version: "3.6.8-r1"},
		{Name: "busybox", Arch: "x86_64", Version: "1.37.0-r12"},
		{Name: "libcrypto3", Arch: "x86_64", Version: "3.3.3-r0", Source: "openssl"},
		{Name: "iputils-ping", Arch: "x86_64", Version: "20240905-r0", Source: "iputils"},
		{Name: "ca-certificates-bundle", Arch: "x86_64", Version: "20241121-r1", Source: "ca-certificates"},
	}
	if got := db.Packages(); !reflect.DeepEqual(got, wantPkgs) {
		t.Errorf("Packages() =\n%+v\nwant\n%+v", got, wantPkgs)
	}
	if r, ok := db.Lookup("libcrypto3"); !ok || r.Origin != "openssl" {
		t.Errorf("Lookup(libcrypto3) = %+v, %v", r, ok)
	}
	if _, ok := db.Lookup("openssl"); ok {
		t.Errorf("Lookup(openssl) found a record; it is only an origin")
	}
}

func TestParseInstalledShapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Record
	}{
		{"empty", "", nil},
		{"blank lines only", "\n\n\n", nil},
		{"no blank line after the last stanza", "P:a\nV:1-r0", []Record{{Name: "a", Version: "1-r0", Line: 1}}},
		{"blank lines around and between", "\n\nP:a\nV:1\n\n\n\nP:b\nV:2\n\n\n", []Record{{Name: "a", Version: "1", Line: 3}, {Name: "b", Version: "2", Line: 8}}},
		{"fields in any order, unknown ones skipped", "V:1\nk:100\nE:new\ng:a b\nP:a\n", []Record{{Name: "a", Version: "1", Line: 1}}},
		{"files in the root directory", "P:a\nV:1\nF:\nR:.profile\nZ:Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=\n", []Record{{Name: "a", Version: "1", Line: 1,
			Dirs: []Dir{{"", defaultDir}}, Files: []File{{Path: ".profile", Checksum: Sum(SHA1, []byte("Welcome to copa!\n")), Attrs: defaultFile}}}}},
		{"a file without checksum, an MD5 and a Q2", "P:a\nV:1\nF:etc\nR:x\nR:y\nZ:beb97371d9f8d7d889df0da8682c7597\nR:z\nZ:Q2qQZJvu4fK4AaEoYjnUX+J1jNkE+n3VwTvJtWPJaT8H0=\n", []Record{{Name: "a", Version: "1", Line: 1,
			Dirs: []Dir{{"etc", defaultDir}}, Files: []File{
				{Path: "etc/x", Attrs: defaultFile},
				{Path: "etc/y", Checksum: Sum(MD5, []byte("Welcome to copa!\n")), Attrs: defaultFile},
				{Path: "etc/z", Checksum: Sum(SHA256, []byte("Welcome to copa!\n")), Attrs: defaultFile},
			}}}},
		{"owners and set-id bits", "P:a\nV:1\nF:var/mail\nM:0:12:2775\nR:x\na:1000:1000:4755\n", []Record{{Name: "a", Version: "1", Line: 1,
			Dirs: []Dir{{"var/mail", Attrs{GID: 12, Mode: 0o2775}}}, Files: []File{{Path: "var/mail/x", Attrs: Attrs{UID: 1000, GID: 1000, Mode: 0o4755}}}}}},
		{"apko's modes, with a leading zero", "P:a\nV:1\nF:usr/bin\nM:0:0:0755\nR:x\na:65532:65532:0750\n", []Record{{Name: "a", Version: "1", Line: 1,
			Dirs: []Dir{{"usr/bin", defaultDir}}, Files: []File{{Path: "usr/bin/x", Attrs: Attrs{UID: 65532, GID: 65532, Mode: 0o750}}}}}},
		{"the same file in two packages", "P:a\nV:1\nF:etc\nR:x\n\nP:b\nV:1\nF:etc\nR:x\n", []Record{
			{Name: "a", Version: "1", Line: 1, Dirs: []Dir{{"etc", defaultDir}}, Files: []File{{Path: "etc/x", Attrs: defaultFile}}},
			{Name: "b", Version: "1", Line: 6, Dirs: []Dir{{"etc", defaultDir}}, Files: []File{{Path: "etc/x", Attrs: defaultFile}}}}},
		{"odd but harmless file names", "P:a\nV:1\nF:usr/share/a..b\nR:...\nR: x \nR:fü\n", []Record{{Name: "a", Version: "1", Line: 1,
			Dirs: []Dir{{"usr/share/a..b", defaultDir}}, Files: []File{
				{Path: "usr/share/a..b/...", Attrs: defaultFile}, {Path: "usr/share/a..b/ x ", Attrs: defaultFile}, {Path: "usr/share/a..b/fü", Attrs: defaultFile}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := ParseInstalled([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(db.Records, tt.want) {
				t.Errorf("got  %+v\nwant %+v", db.Records, tt.want)
			}
		})
	}
}

func TestParseInstalledErrors(t *testing.T) {
	const pkg = "P:a\nV:1-r0\n"
	tests := []struct {
		name, in, want string
	}{
		// Missing and repeated fields.
		{"no version", "P:a\nA:x86_64\n", "line 1: package a has no V:"},
		{"no name", "\nV:1.0\nA:x86_64\n", "line 2: the stanza has no P:"},
		{"package twice", pkg + "\n" + pkg, "line 4: package a is listed twice (also on line 1)"},
		{"field twice", pkg + "V:2\n", "line 3: a second V: in the stanza (the first is on line 2)"},
		{"origin twice", pkg + "o:a\no:b\n", "line 4: a second o:"},
		{"flags twice", pkg + "f:f\nf:S\n", "line 4: a second f:"},
		{"unknown flag", pkg + "f:fz\n", `line 3: unknown flag 'z'`},

		// The grammar of names, versions, architectures.
		{"bad version", "P:a\nV:1.0-foo\n", `line 2: package a: "1.0-foo" is not an apk version`},
		{"version with a space", "P:a\nV:1.0 \n", `line 2: package a: "1.0 " is not an apk version`},
		{"option as name", "P:-x\nV:1\n", `line 1: "-x" is not an apk package name`},
		{"shell word as name", "P:a;id\nV:1\n", `line 1: "a;id" is not an apk package name`},
		{"constraint as name", "P:a>=1\nV:1\n", `line 1: "a>=1" is not an apk package name`},
		{"bad origin", pkg + "o:../x\n", `line 3: origin: "../x" is not an apk package name`},
		{"bad arch", pkg + "A:x86 64\n", `line 3: "x86 64" is not an apk architecture`},
		{"empty arch", pkg + "A:\n", `line 3: "" is not an apk architecture`},

		// Paths that leave the root.
		{"absolute dir", pkg + "F:/etc\n", `line 3: the directory "/etc" is absolute`},
		{"dotdot dir", pkg + "F:..\n", `line 3: the directory "..": ".." leaves its directory`},
		{"dotdot inside dir", pkg + "F:usr/../../etc\n", `line 3: the directory "usr/../../etc": ".." leaves its directory`},
		{"dot dir", pkg + "F:usr/./lib\n", `line 3: the directory "usr/./lib": "." leaves its directory`},
		{"empty component", pkg + "F:usr//lib\n", "line 3: the directory \"usr//lib\": an empty path component"},
		{"trailing slash", pkg + "F:usr/lib/\n", "line 3: the directory \"usr/lib/\": an empty path component"},
		{"dotdot file", pkg + "F:etc\nR:..\n", `line 4: ".." leaves its directory`},
		{"dot file", pkg + "F:etc\nR:.\n", `line 4: "." leaves its directory`},
		{"slash in file", pkg + "F:etc\nR:../shadow\n", `line 4: the file name "../shadow" holds a '/'`},
		{"absolute file", pkg + "F:\nR:/etc/shadow\n", `line 4: the file name "/etc/shadow" holds a '/'`},
		{"empty file", pkg + "F:etc\nR:\n", "line 4: an empty path component"},
		{"NUL in dir", pkg + "F:etc\x00/x\n", "line 3: holds a NUL byte"},
		{"NUL in file", pkg + "F:etc\nR:x\x00\n", "line 4: holds a NUL byte"},
		{"control character", pkg + "F:etc\nR:x\x1b[2J\n", "line 4: the path component \"x\\x1b[2J\" holds a control character"},
		{"path too long", pkg + "F:" + strings.Repeat("d/", 2048) + "x\n", "line 3: the directory"},
		{"joined path too long", pkg + "F:" + strings.Repeat("d/", 2040) + "x\nR:" + strings.Repeat("f", 100) + "\n", "line 4: the path"},

		// The file list's order and repeats.
		{"file list before P:", "F:etc\nP:a\nV:1\n", "line 1: F: before the package's P: line"},
		{"R: before F:", pkg + "R:x\n", "line 3: R: before any F: directory"},
		{"M: before F:", pkg + "M:0:0:755\n", "line 3: M: before any F: directory"},
		{"Z: before R:", pkg + "F:etc\nZ:Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=\n", "line 4: Z: before any R: file of the directory"},
		{"a: of the previous directory's file", pkg + "F:etc\nR:x\nF:usr\na:0:0:644\n", "line 6: a: before any R: file of the directory"},
		{"directory twice", pkg + "F:etc\nF:usr\nF:etc\n", `line 5: directory "etc" is listed twice (also on line 3)`},
		{"file twice", pkg + "F:etc\nR:x\nR:y\nR:x\n", `line 6: file "etc/x" is listed twice (also on line 4)`},
		{"second Z:", pkg + "F:etc\nR:x\nZ:Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=\nZ:Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=\n", `line 6: a second Z: for file "etc/x"`},
		{"second a:", pkg + "F:etc\nR:x\na:0:0:644\na:0:0:600\n", `line 6: a second a: for file "etc/x"`},
		{"second M:", pkg + "F:etc\nM:0:0:755\nM:0:0:700\n", `line 5: a second M: for directory "etc"`},

		// Malformed values.
		{"short checksum", pkg + "F:etc\nR:x\nZ:Q1abc\n", `line 5: file "etc/x": "Q1abc" is not an apk checksum`},
		{"checksum of another length", pkg + "F:etc\nR:x\nZ:Q1AAAA\n", "a 3-byte digest"},
		{"unknown checksum kind", pkg + "F:etc\nR:x\nZ:Q3qQZJvu4fK4AaEoYjnUX+J1jNkE8=\n", `line 5: file "etc/x": "Q3`},
		{"bad package checksum", "C:nope\n" + pkg, "line 1: package checksum:"},
		{"attrs too short", pkg + "F:etc\nR:x\na:0:0\n", `line 5: "0:0" is not uid:gid:mode`},
		{"attrs not numbers", pkg + "F:etc\nR:x\na:root:0:644\n", `line 5: "root:0:644" is not uid:gid:mode`},
		{"mode not octal", pkg + "F:etc\nR:x\na:0:0:899\n", `is not uid:gid:mode`},
		{"mode too large", pkg + "F:etc\nR:x\na:0:0:100644\n", `is not uid:gid:mode`},
		{"uid too large", pkg + "F:etc\nM:4294967296:0:755\n", `is not uid:gid:mode`},
		{"signed uid", pkg + "F:etc\nM:-1:0:755\n", `is not uid:gid:mode`},
		{"bad xattrs", pkg + "F:etc\nR:x\na:0:0:755:zz\n", "line 5: extended attributes:"},

		// Lines apk does not write.
		{"CRLF", "P:a\r\nV:1\r\n", "line 1: ends in a carriage return; apk writes LF line ends"},
		{"not a field", pkg + "hello\n", `line 3: "hello" is not a FIELD:value line`},
		{"one character", pkg + "x\n", `line 3: "x" is not a FIELD:value line`},
		{"field not a letter", pkg + "1:x\n", `line 3: "1:x" is not a FIELD:value line`},
		{"indented field", pkg + " F:etc\n", `line 3: " F:etc" is not a FIELD:value line`},
		{"long line", pkg + "T:" + strings.Repeat("a", 70000) + "\n", "line 3: longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := ParseInstalled([]byte(tt.in))
			if err == nil {
				t.Fatalf("accepted: %+v", db.Records)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestParseInstalledBounds(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		big := bytes.Repeat([]byte("T:xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"), maxDatabaseSize/32+1)
		if _, err := ParseInstalled(big); err == nil || !strings.Contains(err.Error(), "more than 64 MiB") {
			t.Errorf("a %d-byte database: %v", len(big), err)
		}
	})
	t.Run("packages", func(t *testing.T) {
		var b strings.Builder
		for i := range maxPackages + 1 {
			fmt.Fprintf(&b, "P:p%d\nV:1\n\n", i)
		}
		if _, err := ParseInstalled([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "more than 50000 packages") {
			t.Errorf("%d packages: %v", maxPackages+1, err)
		}
	})
	t.Run("files", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("P:a\nV:1\nF:usr\n")
		for i := range maxEntries {
			fmt.Fprintf(&b, "R:%d\n", i)
		}
		if _, err := ParseInstalled([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "more than 1000000 directories and files") {
			t.Errorf("%d entries: %v", maxEntries+1, err)
		}
	})
}

func TestChecksum(t *testing.T) {
	content := []byte("Welcome to copa!\n")
	tests := []struct {
		in   string
		alg  Algorithm
		want string // String(), when it is not in
	}{
		{"Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=", SHA1, ""},
		{"X1defe935388713b7c511c9c64f1413c1752720102", SHA1, "Q13v6TU4hxO3xRHJxk8UE8F1JyAQI="},
		{"Q2qQZJvu4fK4AaEoYjnUX+J1jNkE+n3VwTvJtWPJaT8H0=", SHA256, ""},
		{"Q1qQZJvu4fK4AaEoYjnUX+J1jNkE+n3VwTvJtWPJaT8H0=", SHA256, "Q2qQZJvu4fK4AaEoYjnUX+J1jNkE+n3VwTvJtWPJaT8H0="}, // a long Q1 is SHA-256, as apk-tools 3 reads it
		{"beb97371d9f8d7d889df0da8682c7597", MD5, ""},
		{"BEB97371D9F8D7D889DF0DA8682C7597", MD5, "beb97371d9f8d7d889df0da8682c7597"},
	}
	for _, tt := range tests {
		c, err := ParseChecksum(tt.in)
		if err != nil {
			t.Errorf("ParseChecksum(%q): %v", tt.in, err)
			continue
		}
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if c.Alg != tt.alg || c.String() != want || len(c.Bytes()) != tt.alg.Size() {
			t.Errorf("ParseChecksum(%q) = %s %s (%d bytes), want %s %s", tt.in, c.Alg, c, len(c.Bytes()), tt.alg, want)
		}
		if !c.Matches(content) || c.Matches([]byte("Welcome to copa?\n")) {
			t.Errorf("%s: Matches is wrong", tt.in)
		}
		if Sum(tt.alg, content) != c {
			t.Errorf("Sum(%s) = %s, want %s", tt.alg, Sum(tt.alg, content), c)
		}
	}

	sha1, sha160 := Sum(SHA1, content), Sum(SHA256_160, content)
	if sha160.String() != "Q1qQZJvu4fK4AaEoYjnUX+J1jNkE8=" {
		t.Errorf("SHA-256/160 = %s", sha160)
	}
	// The same bytes read as SHA-1 are another checksum: a package that
	// moved to apk-tools 3's digests compares as changed.
	if as(sha160, SHA1) == sha160 || sha1 == sha160 || as(sha160, SHA1).Matches(content) {
		t.Errorf("SHA-1 and SHA-256/160 checksums compare equal")
	}
	if (Checksum{}).Matches(nil) || (Checksum{}).String() != "" || !(Checksum{}).IsZero() || Sum(AlgNone, content) != (Checksum{}) {
		t.Errorf("the zero checksum matches or is written")
	}

	for _, bad := range []string{"", "Q", "Q1", "Q1=", "Q1AlKRzNY2tL5VHCUulI/O8Gf3f+Y", "Q1AlKRzNY2tL5VHCUulI/O8Gf3f+Z=", "Q1 AlKRzNY2tL5VHCUulI/O8Gf3f+Y=",
		"Q2AlKRzNY2tL5VHCUulI/O8Gf3f+Y=", "X1zz", "X2" + strings.Repeat("0", 40), "Q0AAAA", "beb97371d9f8d7d889df0da8682c759", "zeb97371d9f8d7d889df0da8682c7597"} {
		if c, err := ParseChecksum(bad); err == nil {
			t.Errorf("ParseChecksum(%q) = %s %s, want an error", bad, c.Alg, c)
		}
	}
}

func TestFormatInstalled(t *testing.T) {
	ctx := context.Background()
	got, err := Format{}.Installed(ctx, distrostest.MapFS{InstalledPath: realDB, "/etc/alpine-release": "3.21.3\n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || got[3] != (distros.Package{Name: "libcrypto3", Arch: "x86_64", Version: "3.3.3-r0", Source: "openssl"}) {
		t.Errorf("Installed = %+v", got)
	}
	if v, ok := got.Version(Versioning{}, "busybox"); !ok || v != "1.37.0-r12" {
		t.Errorf("busybox is %q, %v", v, ok)
	}

	for _, tt := range []struct {
		name string
		fs   distrostest.MapFS
		want string
	}{
		{"no database", distrostest.MapFS{"/etc/os-release": "ID=alpine\n", "/lib/apk/db/lock": ""}, "it has no apk database (no /lib/apk/db/installed)"},
		{"malformed", distrostest.MapFS{InstalledPath: "P:a\nV:x\n"}, `/lib/apk/db/installed: apk database line 2: package a: "x" is not an apk version`},
		{"too large", distrostest.MapFS{InstalledPath: strings.Repeat("\n", maxDatabaseSize+1)}, "reading the apk database /lib/apk/db/installed:"},
	} {
		if _, err := (Format{}).Installed(ctx, tt.fs); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}

	// An image whose apk database lists nothing has no packages, which
	// is no error.
	if got, err := (Format{}).Installed(ctx, distrostest.MapFS{InstalledPath: ""}); err != nil || len(got) != 0 {
		t.Errorf("an empty database: %+v, %v", got, err)
	}
}
