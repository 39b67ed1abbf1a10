package deb

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseControl(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Stanza
	}{
		{name: "empty"},
		{name: "only blank lines and comments", data: "\n  \n# c\n\t\n"},
		{
			name: "two stanzas, last line without newline",
			data: "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2",
			want: []Stanza{
				{Start: 0, End: 22, Line: 1, Fields: []Field{{"Package", "Package: a\n"}, {"Version", "Version: 1\n"}}},
				{Start: 23, End: 44, Line: 4, Fields: []Field{{"Package", "Package: b\n"}, {"Version", "Version: 2\n"}}},
			},
		},
		{
			name: "continuation lines belong to the field above",
			data: "Package: a\nDescription: short\n long\n .\n\tmore\nVersion: 1\n",
			want: []Stanza{{Start: 0, End: 56, Line: 1, Fields: []Field{
				{"Package", "Package: a\n"},
				{"Description", "Description: short\n long\n .\n\tmore\n"},
				{"Version", "Version: 1\n"},
			}}},
		},
		{
			name: "several blank lines, blanks-only and CRLF lines separate stanzas",
			data: "Package: a\r\n\r\n\n  \nPackage: b\n\t\nPackage: c\n",
			want: []Stanza{
				{Start: 0, End: 12, Line: 1, Fields: []Field{{"Package", "Package: a\r\n"}}},
				{Start: 18, End: 29, Line: 5, Fields: []Field{{"Package", "Package: b\n"}}},
				{Start: 31, End: 42, Line: 7, Fields: []Field{{"Package", "Package: c\n"}}},
			},
		},
		{
			name: "comments: before a stanza skipped, inside kept in its bytes, no break in a field",
			data: "# header\nTypes: deb\n# inside\nSuites: a\n# between lines\n b\n",
			want: []Stanza{{Start: 9, End: 58, Line: 2, Fields: []Field{
				{"Types", "Types: deb\n"},
				{"Suites", "Suites: a\n b\n"},
			}}},
		},
		{
			name: "a continuation before any field belongs to nothing",
			data: " stray\nPackage: a\n",
			want: []Stanza{{Start: 7, End: 18, Line: 2, Fields: []Field{{"Package", "Package: a\n"}}}},
		},
		{
			name: "a line without a colon names no field",
			data: "junk\nPackage : a\n",
			want: []Stanza{{Start: 0, End: 17, Line: 1, Fields: []Field{{"", "junk\n"}, {"Package", "Package : a\n"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseControl([]byte(tt.data))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseControl(%q) =\n%#v\nwant\n%#v", tt.data, got, tt.want)
			}
		})
	}
}

func TestStanzaValues(t *testing.T) {
	data := "package: libc6\nStatus: install ok installed\nConffiles:\n /etc/a 0123\n /etc/b 4567 obsolete\n" +
		"Suites: bookworm\n bookworm-updates\nDescription:  short  \n long text\nVersion: 1\n Extra\nPackage: second\nNoColon\n"
	st := ParseControl([]byte(data))
	if len(st) != 1 {
		t.Fatalf("%d stanzas", len(st))
	}
	s := st[0]
	tests := []struct {
		field            string
		value, firstLine string
		ok               bool
	}{
		{field: "Package", value: "libc6", firstLine: "libc6", ok: true}, // names are case-insensitive; the first field wins
		{field: "STATUS", value: "install ok installed", firstLine: "install ok installed", ok: true},
		{field: "Conffiles", value: "/etc/a 0123\n/etc/b 4567 obsolete", firstLine: "", ok: true},
		{field: "Suites", value: "bookworm\nbookworm-updates", firstLine: "bookworm", ok: true},
		{field: "Description", value: "short\nlong text", firstLine: "short", ok: true},
		{field: "Version", value: "1\nExtra", firstLine: "1", ok: true},
		{field: "Architecture"},
		{field: ""}, // a line without a colon is no field of any name
		{field: "NoColon"},
	}
	for _, tt := range tests {
		v, ok := s.Value(tt.field)
		if v != tt.value || ok != tt.ok {
			t.Errorf("Value(%q) = %q, %v; want %q, %v", tt.field, v, ok, tt.value, tt.ok)
		}
		v, ok = s.FirstLine(tt.field)
		if v != tt.firstLine || ok != tt.ok {
			t.Errorf("FirstLine(%q) = %q, %v; want %q, %v", tt.field, v, ok, tt.firstLine, tt.ok)
		}
	}
	f, _ := s.Field("conffiles")
	if got, want := f.Continuation(), []string{" /etc/a 0123", " /etc/b 4567 obsolete"}; !slices.Equal(got, want) {
		t.Errorf("Continuation = %q, want %q", got, want)
	}
}

// Field names fold ASCII case only, as dpkg's and apt's do: a Kelvin sign
// or a long s does not make a field dpkg ignores one it reads.
func TestFieldNamesFoldASCIIOnly(t *testing.T) {
	data := "Pac\u212Aage: evil\n\u017Ftatus: install ok installed\nPACKAGE: real\nstatus: deinstall ok config-files\nVersion: 1\n"
	s := ParseControl([]byte(data))[0]
	for _, tt := range []struct{ field, want string }{
		{"Package", "real"},
		{"Status", "deinstall ok config-files"},
		{"Pac\u212Aage", "evil"},
		{"pac\u212Aage", "evil"},
	} {
		if got, _ := s.FirstLine(tt.field); got != tt.want {
			t.Errorf("FirstLine(%q) = %q, want %q", tt.field, got, tt.want)
		}
	}
	if ps, err := ParseInstalled([]byte(data)); err != nil || len(ps) != 0 {
		t.Errorf("ParseInstalled = %+v, %v; want no installed package", ps, err)
	}
}

// The offsets let a stanza be replaced leaving every other byte alone.
func TestParseControlOffsetsReplace(t *testing.T) {
	data := "# top\n\nPackage: a\nVersion: 1\n\n\n  \nPackage: b\n# note\nVersion: 1\n\nPackage: c\nVersion: 1"
	st := ParseControl([]byte(data))
	if len(st) != 3 {
		t.Fatalf("%d stanzas", len(st))
	}
	b := st[1]
	got := data[:b.Start] + "Package: b\nVersion: 2\n" + data[b.End:]
	want := strings.Replace(data, "Package: b\n# note\nVersion: 1\n", "Package: b\nVersion: 2\n", 1)
	if got != want {
		t.Errorf("replaced =\n%q\nwant\n%q", got, want)
	}
	var rebuilt strings.Builder
	prev := 0
	for _, s := range st {
		rebuilt.WriteString(data[prev:s.Start] + data[s.Start:s.End])
		prev = s.End
	}
	if rebuilt.WriteString(data[prev:]); rebuilt.String() != data {
		t.Errorf("the stanzas and the bytes between them are not the file")
	}
}
