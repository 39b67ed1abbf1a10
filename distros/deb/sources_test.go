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
