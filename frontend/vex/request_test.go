package vex

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/copa/frontend/frontend/summary"
)

// TestWriteAsDocument checks that the document the VEX step writes from the
// summary's JSON and a Request is, byte for byte, the one the frontend would
// make from the summary itself, and that the statement count is right.
func TestWriteAsDocument(t *testing.T) {
	odd := bookworm()
	odd.Entries[0].Package = `odd\u0026<name>&"quoted"`
	empty := &summary.Summary{Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12"}}
	absent := &summary.Summary{Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12"},
		Entries: []summary.Entry{{Vulnerability: "CVE-2025-1", Package: "gone", Status: summary.NotInstalled, Fixed: "1"}}}
	for name, s := range map[string]*summary.Summary{"bookworm": bookworm(), "odd": odd, "large": largeSummary(2000), "empty": empty, "absent": absent} {
		t.Run(name, func(t *testing.T) {
			opts := Options{PackageURL: purlsOf(s), Product: product, Author: "Example Platform Team", AuthorRole: "Image maintainer",
				Timestamp: time.Date(2026, 12, 2, 10, 11, 12, 999, time.FixedZone("x", 3600))}
			doc, err := Document(s, opts)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			req, n, err := NewRequest(s, opts)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(doc.Statements) {
				t.Errorf("NewRequest counts %d statements, the document has %d", n, len(doc.Statements))
			}
			sj, err := json.MarshalIndent(s, "", "  ") // as the frontend writes summary.json
			if err != nil {
				t.Fatal(err)
			}
			rj, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Write(sj, rj)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the step's document differs from the frontend's:\n got %.800s\nwant %.800s", got, want)
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	sj, _ := json.Marshal(bookworm())
	req, _, err := NewRequest(bookworm(), Options{PackageURL: debianPURL, Product: product, Timestamp: epoch})
	if err != nil {
		t.Fatal(err)
	}
	delete(req.PackageURLs, "perl-base")
	rj, _ := json.Marshal(req)
	for name, tc := range map[string]struct {
		summary, request []byte
		want             string
	}{
		"truncated summary":   {sj[:len(sj)/2], rj, "reading the summary"},
		"truncated request":   {sj, rj[:len(rj)/2], "reading the request"},
		"package URL missing": {sj, rj, "no package URL for perl-base 5.36.0-7+deb12u4"},
		"no product":          {sj, []byte(`{"timestamp":"2026-12-02T00:00:00Z","packageURLs":{}}`), "product @id is required"},
		"no timestamp":        {sj, []byte(`{"product":"x","packageURLs":{}}`), "timestamp is required"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Write(tc.summary, tc.request)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
