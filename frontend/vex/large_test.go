package vex

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/copa/frontend/frontend/summary"
)

// largeSummary is a patch of n distinct vulnerabilities over 2,500
// packages, in every status, as summary.New would order it.
func largeSummary(n int) *summary.Summary {
	s := &summary.Summary{Image: "debian:12", Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12", Manager: "apt"}}
	for k := range n {
		e := summary.Entry{Vulnerability: fmt.Sprintf("CVE-2026-%d", k), Package: fmt.Sprintf("pkg%04d", k%2500), Installed: "1.0-1", After: "1.0-1"}
		switch k % 5 {
		case 0:
			e.Status = summary.NotFixable
		case 1:
			e.Status, e.Fixed = summary.AlreadyFixed, "0.9-1"
		case 2:
			e.Status, e.Installed, e.After = summary.NotInstalled, "", ""
		case 3:
			e.Status, e.Fixed, e.After = summary.Patched, "1.0-2", "1.0-2"
		default:
			e.Status, e.Fixed, e.Reason = summary.Failed, "1.0-2", "not available"
		}
		s.Entries = append(s.Entries, e)
	}
	s.Sort()
	return s
}

// TestLargeDocument writes the document of 100,000 vulnerabilities, the
// report limit: one statement per vulnerability with an installed
// package, all of them in the JSON. No timing is asserted.
func TestLargeDocument(t *testing.T) {
	const n = 100000
	doc, err := Document(largeSummary(n), Options{Product: product, Timestamp: epoch, PackageURL: debianPURL})
	if err != nil {
		t.Fatal(err)
	}
	if want := n * 4 / 5; len(doc.Statements) != want { // not-installed ones get none
		t.Fatalf("%d statements, want %d", len(doc.Statements), want)
	}
	out, err := Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		ID         string            `json:"@id"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Statements) != len(doc.Statements) || back.ID != doc.ID {
		t.Errorf("the JSON has %d statements and @id %s, the document %d and %s", len(back.Statements), back.ID, len(doc.Statements), doc.ID)
	}
}

// TestCanonicalIDMatchesGoVexLarger compares with go-vex on a document of
// 2,000 statements, as large as go-vex's quadratic hash stays quick.
func TestCanonicalIDMatchesGoVexLarger(t *testing.T) {
	doc, err := Document(largeSummary(2500), Options{Product: product, Timestamp: epoch, PackageURL: debianPURL})
	if err != nil {
		t.Fatal(err)
	}
	if want := goVexID(t, doc); doc.ID != want {
		t.Errorf("@id %s, go-vex says %s", doc.ID, want)
	}
}
