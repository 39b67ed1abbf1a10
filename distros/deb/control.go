package deb

import (
	"bytes"
	"strings"
)

// Control files (dpkg's status and status.d files, DEBIAN/control, apt's
// deb822 .sources) are stanzas of "Name: value" fields:
//
//   - a line starting with a space or a tab continues the field above it
//     (multi-line fields such as Description, Conffiles, or a folded
//     Suites list);
//   - a line starting with '#' is a comment, also inside a stanza, as
//     deb822 allows; it neither ends the stanza nor breaks a multi-line
//     field;
//   - blank lines (empty, or only spaces, tabs and a carriage return)
//     separate stanzas; any number of them may follow each other;
//   - a continuation or comment before a stanza's first field belongs to
//     no stanza and is skipped;
//   - a line without a colon that starts a field is kept as text but
//     names no field.
//
// ParseControl is the one parser of this format: the frontend reads an
// image's database and sources with it, and the steps that rewrite a
// database (package debstep) use the byte offsets to replace one stanza
// and leave every other byte of the file alone.

// Field is one field of a stanza as written: its first line and its
// continuation lines, each ending in a newline (the last line of a file
// may lack it).
type Field struct {
	// Name is the field's name as written, "" for a line without a colon.
	Name string
	// Raw is the field's text, first line and continuation lines.
	Raw string
}

// Stanza is a paragraph of a control file and where it is in the file.
type Stanza struct {
	// Start and End are the byte offsets of the stanza's first line and
	// just past its last line (comments inside included, the blank line
	// after it not).
	Start, End int
	// Line is the 1-based line number of the stanza's first line.
	Line   int
	Fields []Field
}

// ParseControl splits data into stanzas.
func ParseControl(data []byte) []Stanza {
	var out []Stanza
	var cur *Stanza
	lineNo := 0
	for off := 0; off < len(data); {
		lineNo++
		n := bytes.IndexByte(data[off:], '\n')
		next := off + n + 1
		if n < 0 {
			next = len(data)
		}
		raw := string(data[off:next])
		line := strings.TrimSuffix(raw, "\n")
		switch {
		case strings.TrimSpace(line) == "":
			cur = nil
		case cur == nil && (line[0] == ' ' || line[0] == '\t' || line[0] == '#'):
			// Nothing for a continuation to continue; comments are no data.
		default:
			if cur == nil {
				out = append(out, Stanza{Start: off, Line: lineNo})
				cur = &out[len(out)-1]
			}
			cur.End = next
			switch {
			case line[0] == '#':
			case line[0] == ' ' || line[0] == '\t':
				if len(cur.Fields) > 0 {
					cur.Fields[len(cur.Fields)-1].Raw += withNewline(raw)
				}
			default:
				name, _, ok := strings.Cut(line, ":")
				if !ok {
					name = ""
				}
				cur.Fields = append(cur.Fields, Field{Name: strings.TrimSpace(name), Raw: withNewline(raw)})
			}
		}
		off = next
	}
	return out
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// Field returns the stanza's first field of that name (see Field.Is).
func (s Stanza) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Is(name) {
			return f, true
		}
	}
	return Field{}, false
}

// Is reports whether the field is named name, compared as dpkg and apt
// compare field names: ignoring the case of ASCII letters only. Unicode
// case folding (strings.EqualFold) would take "Pac\u212Aage", with a
// Kelvin sign, for "Package", a field dpkg ignores, and so read another
// package than dpkg does from the same stanza.
func (f Field) Is(name string) bool {
	if f.Name == "" || len(f.Name) != len(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if lowerASCII(f.Name[i]) != lowerASCII(name[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Value returns the value of the field of that name (see Field.Value) and
// whether the stanza has the field.
func (s Stanza) Value(name string) (string, bool) {
	f, ok := s.Field(name)
	if !ok {
		return "", false
	}
	return f.Value(), true
}

// Value is the field's value: the text after the colon and every
// continuation line, each without surrounding blanks, one per line; an
// empty first line (as in "Conffiles:") is left out. A single-line field's
// value is its text after the colon, trimmed.
func (f Field) Value() string {
	first, rest := f.lines()
	_, v, _ := strings.Cut(first, ":")
	vals := []string{strings.TrimSpace(v)}
	if vals[0] == "" {
		vals = vals[:0]
	}
	for _, l := range rest {
		vals = append(vals, strings.TrimSpace(l))
	}
	return strings.Join(vals, "\n")
}

// Continuation returns the field's continuation lines as written, without
// their line ends: the entries of a field such as Conffiles.
func (f Field) Continuation() []string {
	_, rest := f.lines()
	return rest
}

func (f Field) lines() (string, []string) {
	ls := strings.Split(strings.TrimSuffix(f.Raw, "\n"), "\n")
	return ls[0], ls[1:]
}

// FirstLine returns the text after the colon on the first line of the
// field of that name, trimmed, and whether the stanza has the field: the
// value of a field that has one line (Package, Version, Status, ...),
// whose continuation lines, if any, are malformed and do not count.
func (s Stanza) FirstLine(name string) (string, bool) {
	f, ok := s.Field(name)
	if !ok {
		return "", false
	}
	first, _ := f.lines()
	_, v, _ := strings.Cut(first, ":")
	return strings.TrimSpace(v), true
}
