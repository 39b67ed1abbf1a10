package vex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"
)

// goVexID is go-vex's own canonical ID of a copy of doc (it sorts the
// statements it hashes in place).
func goVexID(t *testing.T, doc *govex.VEX) string {
	t.Helper()
	c := *doc
	c.ID = ""
	c.Statements = slices.Clone(doc.Statements)
	id, err := c.GenerateCanonicalID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCanonicalIDMatchesGoVex holds CanonicalID to go-vex's
// GenerateCanonicalID on small documents that use every field the hash
// reads: aliases, justifications, statement timestamps (set, unset, equal
// names ordered by time), several products with subcomponents, one hash
// and one identifier per component (more would make go-vex's value
// depend on map order).
func TestCanonicalIDMatchesGoVex(t *testing.T) {
	ts := epoch.UTC()
	later, earlier := ts.Add(time.Hour), ts.Add(-time.Hour)
	comp := func(id string) govex.Component { return govex.Component{ID: id} }
	docs := map[string]*govex.VEX{
		"empty": {Metadata: govex.Metadata{Timestamp: &ts, Author: "a", Version: 1}},
		"rich": {
			Metadata: govex.Metadata{Timestamp: &ts, Author: "someone <x@example.com>", Version: 3},
			Statements: []govex.Statement{
				{Vulnerability: govex.Vulnerability{Name: "CVE-2", Aliases: []govex.VulnerabilityID{"GHSA-b", "GHSA-a"}}, Status: govex.StatusFixed,
					Products: []govex.Product{
						{Component: comp("pkg:oci/z"), Subcomponents: []govex.Subcomponent{{Component: comp("pkg:deb/debian/b@1")}, {Component: comp("pkg:deb/debian/a@1")}}},
						{Component: govex.Component{ID: "pkg:oci/a", Hashes: map[govex.Algorithm]govex.Hash{govex.SHA256: "abc"}, Identifiers: map[govex.IdentifierType]string{govex.PURL: "pkg:oci/a"}}},
					}},
				{Vulnerability: govex.Vulnerability{ID: "https://x/CVE-1", Name: "CVE-1"}, Status: govex.StatusNotAffected, Justification: govex.ComponentNotPresent, Timestamp: &later,
					Products: []govex.Product{{Component: comp("pkg:oci/p")}}},
				{Vulnerability: govex.Vulnerability{Name: "CVE-1"}, Status: govex.StatusAffected, ActionStatement: "x", Timestamp: &earlier,
					Products: []govex.Product{{Component: comp("pkg:oci/p")}}},
				{Vulnerability: govex.Vulnerability{Name: "CVE-1"}, Status: govex.StatusUnderInvestigation,
					Products: []govex.Product{{Component: comp("pkg:oci/p")}}},
			},
		},
	}
	// Random documents, to cover orders the hand-written ones miss.
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 20 {
		d := &govex.VEX{Metadata: govex.Metadata{Timestamp: &ts, Author: "r", Version: n}}
		for range r.IntN(30) {
			st := govex.Statement{
				Vulnerability: govex.Vulnerability{Name: govex.VulnerabilityID(fmt.Sprintf("CVE-%d", r.IntN(8)))},
				Status:        []govex.Status{govex.StatusFixed, govex.StatusAffected}[r.IntN(2)],
			}
			if r.IntN(2) == 0 {
				st.Timestamp = new(ts.Add(time.Duration(r.IntN(5)-2) * time.Minute))
			}
			for range 1 + r.IntN(3) {
				p := govex.Product{Component: comp(fmt.Sprintf("pkg:oci/i%d", r.IntN(4)))}
				for range r.IntN(3) {
					p.Subcomponents = append(p.Subcomponents, govex.Subcomponent{Component: comp(fmt.Sprintf("pkg:deb/debian/p%d@1", r.IntN(9)))})
				}
				st.Products = append(st.Products, p)
			}
			d.Statements = append(d.Statements, st)
		}
		docs[fmt.Sprintf("random-%d", n)] = d
	}
	sum := bookworm()
	bw, err := Document(sum, Options{Product: product, Timestamp: epoch, PackageURL: debianPURL, ID: "set"})
	if err != nil {
		t.Fatal(err)
	}
	bw.ID = ""
	docs["bookworm"] = bw

	for name, d := range docs {
		before := slices.Clone(d.Statements)
		got, err := CanonicalID(d)
		if err != nil {
			t.Fatal(err)
		}
		if want := goVexID(t, d); got != want {
			t.Errorf("%s: CanonicalID = %s, go-vex says %s", name, got, want)
		}
		if len(d.Statements) != len(before) || (len(before) > 0 && !slices.EqualFunc(d.Statements, before, func(a, b govex.Statement) bool {
			return a.Vulnerability.Name == b.Vulnerability.Name && a.Status == b.Status && a.Timestamp == b.Timestamp
		})) {
			t.Errorf("%s: CanonicalID reordered the statements", name)
		}
	}

	// Document's own ID is the canonical one.
	doc, err := Document(sum, Options{Product: product, Timestamp: epoch, PackageURL: debianPURL})
	if err != nil {
		t.Fatal(err)
	}
	if want := goVexID(t, doc); doc.ID != want {
		t.Errorf("Document's @id = %s, go-vex says %s", doc.ID, want)
	}
}
