package deb

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

// Fuzz targets of the deb format: dpkg's version order and name grammar,
// the control-file parser behind the status and status.d databases, and
// the SOURCES check. `make fuzz` runs each; crashers found land in
// testdata/fuzz/<target>/ and are replayed by every `go test`.

// FuzzVersioning checks that Compare is a total preorder on the versions
// ValidVersion accepts and that accepted versions are safe words
// (distrostest.CheckVersioning).
func FuzzVersioning(f *testing.F) {
	for _, s := range [][3]string{
		{"1.0", "1.0-1", "1:0.9"},
		{"1.0~rc1-1", "1.0-1", "1.0+b1-1"},
		{"2.36.1-8+deb11u1", "2.36.1-8+deb11u2", "2.36.1-8"},
		{"0:1.0", "1.0", "1.0-0"},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", "1.0-1~bpo11+1"},
		{"1.2.3.4.5-0ubuntu0.1", "1:1.2-3:4", "1.0.a~"},
		{"", "-1", "1.0-"},
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
	for _, s := range []string{"libssl1.1", "g++-12", "libstdc++6", "base-files", "-rf", "a;b", "Foo", "a", ".x", "libc6:amd64"} {
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

// controlSeeds are control files in the shapes the parser documents:
// continuations, comments inside and outside stanzas, runs of blank lines,
// CRLF, a missing final newline, a line without a colon.
var controlSeeds = []string{
	"Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\nArchitecture: amd64\n\n" +
		"Package: libssl3\nStatus: install ok installed\nArchitecture: arm64\nMulti-Arch: same\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2\n" +
		"Conffiles:\n /etc/ssl/openssl.cnf 3a1b5b7e3fa8c7a2a8b0d6b9b8c1c3d2\nDescription: Secure Sockets Layer toolkit\n shared libraries\n .\n more\n",
	"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
	"# comment\n continuation\n\n\n\nPackage: a\n# inside\nVersion: 1\n \t\r\nPackage: b\r\nVersion: 2\r\nStatus: deinstall ok config-files\r\n",
	"Package: x\nno colon here\nVersion: 1",
	"Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n bookworm-updates\nComponents: main\nEnabled: no\n",
	"Pac\u212Aage: evil\nPackage: real\n\u017Ftatus: install ok installed\nVersion: 1\n",
}

// FuzzParseControl checks ParseControl's offsets and its round trip: the
// stanzas are in order and apart, blank lines end them, each one's fields
// are exactly its non-comment lines, nothing else in the file is data,
// and writing the fields back out parses to the same fields.
func FuzzParseControl(f *testing.F) {
	for _, s := range controlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stanzas := ParseControl(data)
		covered := 0 // end of the previous stanza
		var out bytes.Buffer
		for i, s := range stanzas {
			if s.Start < covered || s.End <= s.Start || s.End > len(data) {
				t.Fatalf("stanza %d spans [%d,%d) after %d in %d bytes", i, s.Start, s.End, covered, len(data))
			}
			if want := 1 + bytes.Count(data[:s.Start], []byte("\n")); s.Line != want {
				t.Fatalf("stanza %d: Line %d, want %d", i, s.Line, want)
			}
			checkNoData(t, data[covered:s.Start])
			if s.End < len(data) && !blankLine(lineAt(data, s.End)) {
				t.Fatalf("stanza %d ends at %d before a line that is not blank: %q", i, s.End, lineAt(data, s.End))
			}
			covered = s.End

			var want, got strings.Builder
			for _, l := range splitLines(data[s.Start:s.End]) {
				if !strings.HasPrefix(l, "#") {
					want.WriteString(l + "\n")
				}
			}
			if len(s.Fields) == 0 {
				t.Fatalf("stanza %d has no fields", i)
			}
			for _, fd := range s.Fields {
				got.WriteString(fd.Raw)
				checkField(t, s, fd)
			}
			if want.String() != got.String() {
				t.Fatalf("stanza %d: fields %q, want the stanza's lines %q", i, got.String(), want.String())
			}
			out.WriteString(got.String() + "\n")
		}
		checkNoData(t, data[covered:])

		again := ParseControl(out.Bytes())
		if len(again) != len(stanzas) {
			t.Fatalf("written back, %d stanzas parse as %d: %q", len(stanzas), len(again), out.String())
		}
		for i := range again {
			if !reflect.DeepEqual(again[i].Fields, stanzas[i].Fields) {
				t.Fatalf("stanza %d written back parses as %q, want %q", i, again[i].Fields, stanzas[i].Fields)
			}
		}
	})
}

// checkField checks the accessors of one field of s: looked up by its
// name in ASCII upper case, a field is found whose name differs from it
// in the case of ASCII letters at most (as dpkg compares names), and its
// values are trimmed, the first line's on one line.
func checkField(t *testing.T, s Stanza, fd Field) {
	t.Helper()
	if strings.ContainsAny(fd.Name, ":\n") || fd.Name != strings.TrimSpace(fd.Name) {
		t.Fatalf("field name %q", fd.Name)
	}
	if fd.Name == "" {
		return
	}
	upper := foldASCII(fd.Name, 'A')
	if found, ok := s.Field(upper); !ok || foldASCII(found.Name, 'a') != foldASCII(fd.Name, 'a') {
		t.Fatalf("Field(%q) = %q, %v", upper, found.Name, ok)
	}
	first, ok := s.FirstLine(upper)
	if !ok || strings.Contains(first, "\n") || first != strings.TrimSpace(first) {
		t.Fatalf("FirstLine(%q) = %q, %v", fd.Name, first, ok)
	}
	for _, l := range strings.Split(fd.Value(), "\n") {
		if l != strings.TrimSpace(l) {
			t.Fatalf("field %q: value line %q is not trimmed", fd.Name, l)
		}
	}
}

// foldASCII returns s with its ASCII letters in the case of the letter
// first ('a' or 'A') and every other byte as it is: unlike strings.ToLower
// and ToUpper, it maps no Kelvin sign to 'k' and no invalid UTF-8 to
// U+FFFD.
func foldASCII(s string, first byte) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c|0x20 && c|0x20 <= 'z' {
			b[i] = first + (c | 0x20 - 'a')
		}
	}
	return string(b)
}

// checkNoData fails t when b, text outside every stanza, holds a line that
// would be data: one that is not blank and not a comment or continuation.
func checkNoData(t *testing.T, b []byte) {
	t.Helper()
	for _, l := range splitLines(b) {
		if !blankLine(l) && l[0] != '#' && l[0] != ' ' && l[0] != '\t' {
			t.Fatalf("line %q is outside every stanza", l)
		}
	}
}

// splitLines splits b into lines, without their newlines.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// lineAt returns the line of data starting at off.
func lineAt(data []byte, off int) string {
	rest := data[off:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	return string(rest)
}

func blankLine(l string) bool { return strings.TrimSpace(l) == "" }

// FuzzParseInstalled checks the readers of the status and status.d
// databases: every record has a trimmed, one-line name and version, the
// status file's installed packages are also installed when the same text
// is a status.d file, and ReadInstalled on an image with that status file
// reads the same records, sorted.
func FuzzParseInstalled(f *testing.F) {
	for _, s := range controlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		status, errS := ParseInstalled(data)
		statusD, errD := ParseInstalledD(data)
		for _, ps := range []distros.Packages{status, statusD} {
			for _, p := range ps {
				for _, v := range []string{p.Name, p.Version, p.Arch, p.Source} {
					if strings.Contains(v, "\n") || v != strings.TrimSpace(v) {
						t.Fatalf("record %+v: field %q is not one trimmed line", p, v)
					}
				}
				if p.Name == "" || p.Version == "" {
					t.Fatalf("record %+v without name or version", p)
				}
			}
		}
		if errS != nil && errD == nil {
			t.Fatalf("status refused (%v) but status.d accepted the same stanzas", errS)
		}
		if errS == nil && errD == nil && !isSubsequence(status, statusD) {
			t.Fatalf("status records %+v are not all status.d records %+v", status, statusD)
		}

		got, err := ReadInstalled(context.Background(), distrostest.MapFS{StatusPath: string(data)})
		switch {
		case !StatusNonEmpty(data):
			if err == nil {
				t.Fatalf("ReadInstalled of a blank status file: %+v, want an error", got)
			}
		case (err == nil) != (errS == nil):
			t.Fatalf("ReadInstalled: %v; ParseInstalled: %v", err, errS)
		case err == nil && !reflect.DeepEqual(got, status.Sorted()):
			t.Fatalf("ReadInstalled %+v, want %+v", got, status.Sorted())
		}
	})
}

// isSubsequence reports whether every element of a is in b, in order.
func isSubsequence(a, b distros.Packages) bool {
	for _, p := range b {
		if len(a) > 0 && a[0] == p {
			a = a[1:]
		}
	}
	return len(a) == 0
}

// FuzzCheckSources checks CheckSources on .list and .sources files: it
// never panics, every error names the file, and what it accepts has a
// plain name (no path, no option) and is text.
func FuzzCheckSources(f *testing.F) {
	f.Add("mirror.list", []byte("# corp mirror\ndeb [signed-by=/usr/share/keyrings/k.gpg] https://mirror.example/debian bookworm main\ndeb-src http://x bookworm main\n"))
	f.Add("mirror.sources", []byte("Types: deb deb-src\nURIs: https://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nEnabled: no\n"))
	f.Add("x.list", []byte("deb http://x\n"))
	f.Add("../x.list", []byte("deb http://x a\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		err := Format{}.CheckSources(distros.Sources{Name: name, Data: data})
		if err != nil {
			if !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), strconv.Quote(distros.Clip(name))) {
				t.Fatalf("error %q does not name the file %q", err, name)
			}
			return
		}
		distrostest.CheckSafeWord(t, "sources file name", name)
		if name[0] == '.' || !utf8.Valid(data) || slices.Contains(data, 0) {
			t.Fatalf("accepted %q with %q", name, data)
		}
	})
}
