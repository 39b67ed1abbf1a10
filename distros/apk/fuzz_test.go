package apk

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

// Fuzz targets of the apk format: apk-tools' version order, the name
// grammar and the installed database. `make fuzz` runs each; crashers
// found land in testdata/fuzz/<target>/ and are replayed by every
// `go test`.

// FuzzVersioning checks that Compare is a total preorder on the versions
// ValidVersion accepts and that accepted versions are safe words
// (distrostest.CheckVersioning).
func FuzzVersioning(f *testing.F) {
	for _, s := range [][3]string{
		{"1.36.1-r15", "1.36.1-r16", "1.37.0-r0"},
		{"1.2.3_rc1-r0", "1.2.3-r0", "1.2.3_p1-r0"},
		{"3.3.2-r4", "3.3.3-r0", "3.3.2-r5"},
		{"1.0a-r1", "1.0b", "1.0_alpha2_beta3"},
		{"0.1.2_git20230101-r0", "0.1.2_cvs", "0.1.2_svn1_hg2"},
		{"01.2", "1.02", "1.2.0"},
		{"", "1.", "1.0-r"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	_, versions := distrostest.ReportSeeds(f, Format{})
	for _, s := range versions {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		distrostest.CheckVersioning(t, Versioning{}, a, b, c)
	})
}

// FuzzValidName checks that every name ValidName accepts is a safe word
// (distrostest.CheckName).
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"musl-utils", "py3-pip", "libc++", "so:libc.musl-x86_64.so.1", "ca-certificates-bundle", "-x", "a=1", "x_y.z"} {
		f.Add(s)
	}
	names, _ := distrostest.ReportSeeds(f, Format{})
	for _, s := range names {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		distrostest.CheckName(t, Versioning{}, name)
	})
}

// FuzzParseInstalled checks the installed-database parser: an error names
// a line of the input; every record's name and version pass the grammar
// and are safe words, each name once; every path is clean and below the
// root, every file in one of its package's directories; checksums written
// back parse the same, and so does the whole database (writeInstalled);
// Format.Installed of an image with that database reads the same
// packages.
func FuzzParseInstalled(f *testing.F) {
	for _, s := range []string{
		realDB,
		"",
		"P:a\nV:1-r0",
		"P:a\nV:1\nF:\nR:.profile\nZ:Q13v6TU4hxO3xRHJxk8UE8F1JyAQI=\n",
		"P:a\nV:1\nf:S\nF:etc\nR:x\nZ:Q1qQZJvu4fK4AaEoYjnUX+J1jNkE8=\nR:y\nZ:beb97371d9f8d7d889df0da8682c7597\nR:z\nZ:Q2qQZJvu4fK4AaEoYjnUX+J1jNkE+n3VwTvJtWPJaT8H0=\n",
		"P:a\nV:1\nF:var/mail\nM:0:12:2775:Q1ESV8DVqBLhYOln6umajplOko8dA=\nR:x\na:1000:1000:4755\n",
		"P:a\nV:1\n\nP:a\nV:2\n",
		"P:a\nV:1\nF:usr/../../etc\n",
		"P:a\nV:1\nF:etc\nR:../shadow\n",
		"P:a\r\nV:1\r\n",
		"F:etc\nP:a\nV:1\n",
		"P:a\nV:1\nF:etc\nR:x\nF:usr\na:0:0:644\n",
		"C:X1defe935388713b7c511c9c64f1413c1752720102\nP:a\nV:1.0_rc1-r2\nA:noarch\no:b\n",
	} {
		f.Add([]byte(s))
	}
	lineRef := regexp.MustCompile(`^apk database line ([0-9]+): `)
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := ParseInstalled(data)
		lines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			if db != nil {
				t.Fatalf("both a database and an error: %v", err)
			}
			m := lineRef.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error %q names no line", err)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
				t.Fatalf("error %q names line %d of %d", err, n, lines)
			}
		} else {
			checkInstalled(t, db, lines)
			again, err := ParseInstalled(writeInstalled(db))
			if err != nil {
				t.Fatalf("written back, the database does not parse: %v\n%s", err, writeInstalled(db))
			}
			if a, b := withoutLines(db), withoutLines(again); !reflect.DeepEqual(a, b) {
				t.Fatalf("written back, the database parses as\n%+v\nnot\n%+v", b, a)
			}
		}

		got, ierr := Format{}.Installed(context.Background(), distrostest.MapFS{InstalledPath: string(data)})
		switch {
		case (ierr == nil) != (err == nil):
			t.Fatalf("Installed: %v; ParseInstalled: %v", ierr, err)
		case err == nil && !reflect.DeepEqual(got, db.Packages()):
			t.Fatalf("Installed %+v, want %+v", got, db.Packages())
		}
	})
}

// checkInstalled checks what ParseInstalled accepted.
func checkInstalled(t *testing.T, db *Installed, lines int) {
	t.Helper()
	names := map[string]bool{}
	for _, r := range db.Records {
		if err := (Versioning{}).ValidName(r.Name); err != nil {
			t.Fatalf("record %+v: %v", r, err)
		}
		distrostest.CheckName(t, Versioning{}, r.Name)
		if err := (Versioning{}).ValidVersion(r.Version); err != nil {
			t.Fatalf("record %+v: %v", r, err)
		}
		distrostest.CheckSafeWord(t, "version", r.Version)
		if names[r.Name] {
			t.Fatalf("package %s twice", r.Name)
		}
		names[r.Name] = true
		if r.Arch != "" && !archPattern.MatchString(r.Arch) || r.Origin != "" && (Versioning{}).ValidName(r.Origin) != nil {
			t.Fatalf("record %+v: arch or origin", r)
		}
		if r.Line < 1 || r.Line > lines {
			t.Fatalf("record %s on line %d of %d", r.Name, r.Line, lines)
		}
		dirs := map[string]bool{}
		for _, d := range r.Dirs {
			if d.Path != "" {
				checkPath(t, d.Path)
			}
			if d.Mode > 0o7777 || dirs[d.Path] {
				t.Fatalf("directory %+v", d)
			}
			dirs[d.Path] = true
			checkChecksum(t, d.Xattrs)
		}
		algs := map[Algorithm]bool{}
		for _, f := range r.Files {
			checkPath(t, f.Path)
			dir := path.Dir(f.Path)
			if dir == "." {
				dir = ""
			}
			if !dirs[dir] {
				t.Fatalf("file %s is in no directory of %s (%+v)", f.Path, r.Name, r.Dirs)
			}
			if f.Mode > 0o7777 {
				t.Fatalf("file %+v", f)
			}
			checkChecksum(t, f.Checksum)
			checkChecksum(t, f.Xattrs)
			algs[f.Checksum.Alg] = true
		}
		checkChecksum(t, r.Checksum)
		if algs[SHA1] && algs[SHA256_160] {
			t.Fatalf("package %s has SHA-1 and SHA-256/160 file checksums", r.Name)
		}
	}
	if ps := db.Packages(); len(ps) != len(db.Records) {
		t.Fatalf("Packages() has %d of %d records", len(ps), len(db.Records))
	} else {
		for i, p := range ps {
			if p.Name != db.Records[i].Name || p.Source == p.Name {
				t.Fatalf("package %+v of record %+v", p, db.Records[i])
			}
		}
	}
}

// checkPath fails t unless p is a clean path below the root.
func checkPath(t *testing.T, p string) {
	t.Helper()
	if p == "" || path.Clean(p) != p || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || len(p) > maxPath {
		t.Fatalf("path %q is not clean and below the root", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < ' ' || p[i] == 0x7f {
			t.Fatalf("path %q holds a control character", p)
		}
	}
}

// checkChecksum fails t unless c, written as apk writes it, parses the same
// (a SHA-256/160 checksum as the SHA-1 its text also is).
func checkChecksum(t *testing.T, c Checksum) {
	t.Helper()
	if c.IsZero() {
		if c != (Checksum{}) {
			t.Fatalf("a zero checksum with a digest")
		}
		return
	}
	back, err := ParseChecksum(c.String())
	if c.Alg == SHA256_160 {
		back.Alg = SHA256_160
	}
	if err != nil || back != c {
		t.Fatalf("checksum %s (%s) parses back as %s (%s), %v", c, c.Alg, back, back.Alg, err)
	}
}

// writeInstalled writes the database's kept fields back in apk's order:
// f:S where the package's checksums are SHA-256/160, M: and a: where the
// attributes are not the defaults.
func writeInstalled(db *Installed) []byte {
	var b bytes.Buffer
	attrs := func(field byte, a, def Attrs) {
		if a == def {
			return
		}
		fmt.Fprintf(&b, "%c:%d:%d:%o", field, a.UID, a.GID, a.Mode)
		if !a.Xattrs.IsZero() {
			b.WriteString(":" + a.Xattrs.String())
		}
		b.WriteByte('\n')
	}
	for _, r := range db.Records {
		if !r.Checksum.IsZero() {
			fmt.Fprintf(&b, "C:%s\n", r.Checksum)
		}
		fmt.Fprintf(&b, "P:%s\nV:%s\n", r.Name, r.Version)
		if r.Arch != "" {
			fmt.Fprintf(&b, "A:%s\n", r.Arch)
		}
		if r.Origin != "" {
			fmt.Fprintf(&b, "o:%s\n", r.Origin)
		}
		flags := ""
		for _, fl := range []struct {
			on bool
			c  string
		}{{r.BrokenFiles, "f"}, {r.BrokenScript, "s"}, {r.BrokenXattrs, "x"}} {
			if fl.on {
				flags += fl.c
			}
		}
		sha256 := r.Checksum.Alg == SHA256_160
		for _, f := range r.Files {
			sha256 = sha256 || f.Checksum.Alg == SHA256_160
		}
		if sha256 {
			flags += "S"
		}
		if flags != "" {
			fmt.Fprintf(&b, "f:%s\n", flags)
		}
		names := map[string][]int{} // directory → its files
		for i, f := range r.Files {
			dir := ""
			if j := strings.LastIndexByte(f.Path, '/'); j >= 0 {
				dir = f.Path[:j]
			}
			names[dir] = append(names[dir], i)
		}
		for _, d := range r.Dirs {
			fmt.Fprintf(&b, "F:%s\n", d.Path)
			attrs('M', d.Attrs, defaultDir)
			for _, i := range names[d.Path] {
				f := r.Files[i]
				fmt.Fprintf(&b, "R:%s\n", path.Base(f.Path))
				attrs('a', f.Attrs, defaultFile)
				if !f.Checksum.IsZero() {
					fmt.Fprintf(&b, "Z:%s\n", f.Checksum)
				}
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// withoutLines is the database's records without their line numbers,
// which writing back changes.
func withoutLines(db *Installed) []Record {
	out := make([]Record, len(db.Records))
	for i, r := range db.Records {
		r.Line = 0
		out[i] = r
	}
	return out
}

// FuzzCheckSources checks the SOURCES check of .list files: it names the
// file in its errors, and what it accepts is a plain file name and text
// whose every repository line is one word without control characters (as
// the step hands the file to apk's --repositories-file).
func FuzzCheckSources(f *testing.F) {
	f.Add("mirror.list", []byte("# corp mirror\nhttps://nexus.example/alpine/v3.21/main\n@edge https://nexus.example/alpine/edge/main\n/srv/local\n"))
	f.Add("x.list", []byte(" https://x.example/main\n"))
	f.Add("x.list", []byte("v2 https://x.example/main main\n"))
	f.Add("x.repo", []byte("https://x.example/main\n"))
	f.Add("x.list", []byte("https://x.example/main\r\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		err := Format{}.CheckSources(distros.Sources{Name: name, Data: data})
		if err != nil {
			if !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), strconv.Quote(distros.Clip(name))) {
				t.Fatalf("error %q does not name the file %q", err, name)
			}
			return
		}
		distrostest.CheckSafeWord(t, "sources file name", name)
		if name[0] == '.' || !strings.HasSuffix(name, ".list") || !utf8.Valid(data) {
			t.Fatalf("accepted %q with %q", name, data)
		}
		repos := 0
		for _, line := range strings.Split(string(data), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			repos++
			for _, r := range line {
				if unicode.IsSpace(r) && r != ' ' || unicode.IsControl(r) {
					t.Fatalf("accepted line %q with a control character or other blank", line)
				}
			}
			if w := strings.Fields(line); len(w) == 0 || len(w) > 2 || (len(w) == 2 && w[0][0] != '@') || strings.HasPrefix(line, " ") || strings.HasSuffix(line, " ") {
				t.Fatalf("accepted line %q, which is not \"[@TAG ]URL\"", line)
			}
		}
		if repos == 0 {
			t.Fatalf("accepted %q, which names no repository", data)
		}
	})
}
