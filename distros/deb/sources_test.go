package deb

import (
	"reflect"
	"testing"
)

func TestSuites(t *testing.T) {
	files := map[string][]byte{
		SourcesList: []byte(`# deb http://deb.debian.org/debian bookworm-backports main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-proposed-updates main
`),
		SourcesPartDir + "/debian.sources": []byte(`Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites:
 bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://example.invalid/debian
Suites: bookworm-backports
`),
	}
	got := Suites(files)
	want := []string{"bookworm", "bookworm-updates", "bookworm-security"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Suites = %q, want %q", got, want)
	}
}

func TestSuitesDeb822(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{name: "comment lines inside a stanza", data: "Types: deb\n# URIs: http://old.invalid/debian\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n# bookworm-backports\n bookworm-updates\n", want: []string{"bookworm", "bookworm-updates"}},
		{name: "field names in any case", data: "types: deb deb-src\nSUITES: trixie\n", want: []string{"trixie"}},
		{name: "Enabled: No", data: "Types: deb\nEnabled: No\nSuites: bookworm\n"},
		{name: "source packages only", data: "Types: deb-src\nSuites: bookworm\n"},
		{name: "stanzas after several blank lines, CRLF", data: "Types: deb\r\nSuites: a\r\n\r\n\r\nTypes: deb\r\nSuites: b/\r\n", want: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Suites(map[string][]byte{SourcesPartDir + "/x.sources": []byte(tt.data)})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Suites = %q, want %q", got, tt.want)
			}
		})
	}
}
