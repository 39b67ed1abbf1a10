package vex

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	govex "github.com/openvex/go-vex/pkg/vex"
	packageurl "github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/frontend/summary"
)

var update = flag.Bool("update", false, "rewrite golden files")

const product = "pkg:oci/debian?repository_url=registry.example.com/library/debian&tag=12-patched"

// debianPURL names the packages of a Debian 12 amd64 image.
var debianPURL = purlsOf(&summary.Summary{Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12"}})

// purlsOf names the packages of the summary's image as the frontend does,
// with the package URLs of the registry's format for its OS.
func purlsOf(s *summary.Summary) func(name, version string) string {
	osr := distros.OSRelease{ID: s.OS.ID, VersionID: s.OS.Version}
	f, _, ok := all.Registry.ForOS(osr)
	if !ok {
		panic("no format for " + s.OS.ID)
	}
	p, err := platforms.Parse(s.Platform)
	if err != nil {
		panic(err)
	}
	return func(name, version string) string {
		return f.PackageURL(distros.PURLTarget{OS: osr, Platform: p}, distros.Package{Name: name, Version: version})
	}
}

// epoch is a SOURCE_DATE_EPOCH, as a reproducible build passes it.
var epoch = time.Unix(1764028800, 0)

// bookworm is a stale Debian 12 image's patch, written out by hand so the
// document is tested on every status. IDs and versions are illustrative.
func bookworm() *summary.Summary {
	perl := func(id string) summary.Entry {
		return summary.Entry{Vulnerability: id, Package: "perl-base", Status: summary.Patched, Installed: "5.36.0-7+deb12u3", Fixed: "5.36.0-7+deb12u4", After: "5.36.0-7+deb12u4"}
	}
	return &summary.Summary{
		Image:      "docker.io/library/debian:12",
		BaseDigest: "sha256:2171c87301e5ea528cee5c2308a4589f8f2ac819d4d434b679b7cb1dc8de6912",
		Platform:   "linux/amd64",
		OS:         summary.OS{ID: "debian", Version: "12", Manager: "apt"},
		Reports:    []string{"debian-12.trivy.json"},
		Entries: []summary.Entry{
			{Vulnerability: "CVE-2022-3715", Package: "bash", Status: summary.NotFixable, Installed: "5.2.15-2+b2", After: "5.2.15-2+b2"},
			{Vulnerability: "CVE-2023-4911", Package: "libc6", Status: summary.AlreadyFixed, Installed: "2.36-9+deb12u10", Fixed: "2.36-9+deb12u3", After: "2.36-9+deb12u10"},
			perl("CVE-2023-47038"),
			perl("CVE-2024-56406"),
			{Vulnerability: "CVE-2025-1234", Package: "tzdata", Status: summary.Failed, Installed: "2024a-0+deb12u1", Fixed: "2025b-0+deb12u1", After: "2024a-0+deb12u1",
				Reason: "fixed version 2025b-0+deb12u1 not available (best: 2025a-0+deb12u1)"},
			{Vulnerability: "CVE-2025-6020", Package: "apt", Status: summary.Patched, Installed: "2.6.1", Fixed: "2.6.2", After: "2.6.2"},
			{Vulnerability: "CVE-2025-6020", Package: "libapt-pkg6.0", Status: summary.Patched, Installed: "2.6.1", Fixed: "2.6.2", After: "2.6.2"},
			{Vulnerability: "CVE-2025-40909", Package: "libperl5.36", Status: summary.NotInstalled, Fixed: "5.36.0-7+deb12u4"},
			perl("CVE-2025-40909"),
			{Vulnerability: "CVE-2025-9999", Package: "libperl5.36", Status: summary.NotInstalled, Fixed: "5.36.0-7+deb12u4"},
		},
	}
}

func TestGolden(t *testing.T) {
	doc, err := Document(bookworm(), Options{PackageURL: debianPURL, Product: product, Author: "Example Platform Team", AuthorRole: "Image maintainer", Timestamp: epoch})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "vex.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./frontend/vex -update rewrites it):\n%s", golden, got)
	}

	// Read the golden back as a consumer would and check what it says.
	back, err := govex.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if back.Context != "https://openvex.dev/ns/v0.2.0" || back.Version != 1 || back.Author == "" || back.Timestamp == nil || !back.Timestamp.Equal(epoch) {
		t.Errorf("metadata: %+v", back.Metadata)
	}
	if !strings.HasPrefix(back.ID, "https://openvex.dev/docs/public/vex-") {
		t.Errorf("@id %q is not a canonical ID", back.ID)
	}
	if c := *back; true {
		c.ID = ""
		id, err := c.GenerateCanonicalID()
		if err != nil || id != back.ID {
			t.Errorf("re-read document's canonical ID %q (%v) differs from its @id %q", id, err, back.ID)
		}
	}
	wantStatus := map[string]govex.Status{
		"CVE-2022-3715":  govex.StatusAffected,
		"CVE-2023-4911":  govex.StatusFixed,
		"CVE-2023-47038": govex.StatusFixed,
		"CVE-2024-56406": govex.StatusFixed,
		"CVE-2025-1234":  govex.StatusAffected,
		"CVE-2025-6020":  govex.StatusFixed,
		"CVE-2025-40909": govex.StatusFixed, // libperl5.36 is absent, perl-base is patched
	}
	if len(back.Statements) != len(wantStatus) {
		t.Errorf("%d statements, want %d (CVE-2025-9999 names only an absent package)", len(back.Statements), len(wantStatus))
	}
	for _, st := range back.Statements {
		id := string(st.Vulnerability.Name)
		if st.Status != wantStatus[id] {
			t.Errorf("%s: status %q, want %q", id, st.Status, wantStatus[id])
		}
		if got := back.Matches(id, product, nil); len(got) != 1 {
			t.Errorf("%s: %d statements match the product, want 1", id, len(got))
		}
	}
	perlPurl := "pkg:deb/debian/perl-base@5.36.0-7%2Bdeb12u4?arch=amd64&distro=debian-12"
	if st := back.Matches("CVE-2024-56406", product, []string{perlPurl}); len(st) != 1 {
		t.Errorf("no statement matches the patched perl-base as %s", perlPurl)
	}
	checkRules(t, back)
}

// checkRules applies the OpenVEX v0.2.0 rules a reader relies on, beyond
// go-vex's per-statement Validate.
func checkRules(t *testing.T, doc *govex.VEX) {
	t.Helper()
	seen := map[string]bool{}
	for i := range doc.Statements {
		st := &doc.Statements[i]
		id := string(st.Vulnerability.Name)
		if err := st.Validate(); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if id == "" {
			t.Errorf("statement %d names no vulnerability", i)
		}
		if seen[id] {
			t.Errorf("%s: more than one statement", id)
		}
		seen[id] = true
		if st.Status == govex.StatusAffected && st.ActionStatement == "" {
			t.Errorf("%s: affected without an action statement", id)
		}
		if st.Status == govex.StatusNotAffected && st.Justification == "" && st.ImpactStatement == "" {
			t.Errorf("%s: not_affected without a justification", id)
		}
		if len(st.Products) == 0 || st.Products[0].ID == "" {
			t.Errorf("%s: no product", id)
		}
		for _, p := range st.Products {
			if len(p.Subcomponents) == 0 {
				t.Errorf("%s: product without subcomponents", id)
			}
			for _, sc := range p.Subcomponents {
				u, err := packageurl.FromString(sc.ID)
				if err != nil {
					t.Errorf("%s: subcomponent %q: %v", id, sc.ID, err)
					continue
				}
				if u.Version == "" {
					t.Errorf("%s: subcomponent %q has no version", id, sc.ID)
				}
			}
		}
	}
}

func TestStatements(t *testing.T) {
	entry := func(id, pkg string, st summary.Status) summary.Entry {
		return summary.Entry{Vulnerability: id, Package: pkg, Status: st, Installed: "1.0-1", Fixed: "1.0-2", After: map[bool]string{true: "1.0-2", false: "1.0-1"}[st.Resolved()], Reason: "because"}
	}
	tests := []struct {
		name    string
		entries []summary.Entry
		status  govex.Status // "" for no statement
		subs    []string
		action  string
	}{
		{
			name:    "patched",
			entries: []summary.Entry{entry("CVE-1", "b", summary.Patched), entry("CVE-1", "a", summary.AlreadyFixed)},
			status:  govex.StatusFixed,
			subs:    []string{"pkg:deb/debian/a@1.0-2?arch=arm64&distro=debian-12", "pkg:deb/debian/b@1.0-2?arch=arm64&distro=debian-12"},
		},
		{
			name:    "partly patched lists only what is still affected",
			entries: []summary.Entry{entry("CVE-1", "a", summary.Patched), entry("CVE-1", "b", summary.NotFixable), entry("CVE-1", "c", summary.NotFixable)},
			status:  govex.StatusAffected,
			subs:    []string{"pkg:deb/debian/b@1.0-1?arch=arm64&distro=debian-12", "pkg:deb/debian/c@1.0-1?arch=arm64&distro=debian-12"},
			action:  "No fixed version of b and c is published yet; rescan and patch again when one is.",
		},
		{
			name:    "failed and not fixable",
			entries: []summary.Entry{entry("CVE-1", "a", summary.Failed), entry("CVE-1", "b", summary.NotFixable)},
			status:  govex.StatusAffected,
			subs:    []string{"pkg:deb/debian/a@1.0-1?arch=arm64&distro=debian-12", "pkg:deb/debian/b@1.0-1?arch=arm64&distro=debian-12"},
			action:  "No fixed version of b is published yet; rescan and patch again when one is. a could not be brought to 1.0-2: because.",
		},
		{
			name:    "only absent packages",
			entries: []summary.Entry{entry("CVE-1", "a", summary.NotInstalled)},
		},
		{
			name:    "upgrade without a report states nothing",
			entries: []summary.Entry{entry("", "a", summary.Patched)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &summary.Summary{Platform: "linux/arm64/v8", OS: summary.OS{ID: "debian", Version: "12", Manager: "apt"}, Entries: tt.entries}
			doc, err := Document(s, Options{PackageURL: purlsOf(s), Product: product, Timestamp: epoch})
			if err != nil {
				t.Fatal(err)
			}
			if tt.status == "" {
				if len(doc.Statements) != 0 {
					t.Fatalf("statements: %+v", doc.Statements)
				}
				return
			}
			if len(doc.Statements) != 1 {
				t.Fatalf("%d statements, want 1", len(doc.Statements))
			}
			st := doc.Statements[0]
			var subs []string
			for _, sc := range st.Products[0].Subcomponents {
				subs = append(subs, sc.ID)
			}
			if st.Status != tt.status || st.ActionStatement != tt.action || strings.Join(subs, " ") != strings.Join(tt.subs, " ") {
				t.Errorf("got %s %q %v\nwant %s %q %v", st.Status, st.ActionStatement, subs, tt.status, tt.action, tt.subs)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a, err := Document(bookworm(), Options{PackageURL: debianPURL, Product: product, Timestamp: epoch})
	if err != nil {
		t.Fatal(err)
	}
	// The same entries in another order must give the same bytes.
	s := bookworm()
	for i, j := 0, len(s.Entries)-1; i < j; i, j = i+1, j-1 {
		s.Entries[i], s.Entries[j] = s.Entries[j], s.Entries[i]
	}
	b, err := Document(s, Options{PackageURL: debianPURL, Product: product, Timestamp: epoch.Add(999 * time.Millisecond).In(time.FixedZone("X", 3600))})
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := Marshal(a)
	jb, _ := Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("documents differ:\n%s\n%s", ja, jb)
	}
	c, err := Document(bookworm(), Options{PackageURL: debianPURL, Product: product, Timestamp: epoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == a.ID {
		t.Error("documents issued at different times share an @id")
	}
	d, err := Document(bookworm(), Options{PackageURL: debianPURL, Product: product, Timestamp: epoch, ID: "https://example.com/vex/1"})
	if err != nil || d.ID != "https://example.com/vex/1" {
		t.Errorf("caller's @id not kept: %q, %v", d.ID, err)
	}
}

func TestOptionsRequired(t *testing.T) {
	tests := []struct {
		name string
		s    *summary.Summary
		opts Options
	}{
		{"no product", bookworm(), Options{PackageURL: debianPURL, Timestamp: epoch}},
		{"bad product purl", bookworm(), Options{PackageURL: debianPURL, Product: "pkg:", Timestamp: epoch}},
		{"no timestamp", bookworm(), Options{Product: product}},
		{"no package URLs", bookworm(), Options{Product: product, Timestamp: epoch}},
		{"no summary", nil, Options{PackageURL: debianPURL, Product: product, Timestamp: epoch}},
	}
	for _, tt := range tests {
		if _, err := Document(tt.s, tt.opts); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// TestShapeLikeCopa keeps the document's skeleton where Copa's is, so tools
// that read Copa's VEX read ours: the same top-level keys and one product
// per statement with package subcomponents.
func TestShapeLikeCopa(t *testing.T) {
	doc, err := Document(bookworm(), Options{PackageURL: debianPURL, Product: product, Timestamp: epoch})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(dt, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"@context", "@id", "author", "timestamp", "version", "tooling", "statements"} {
		if _, ok := top[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
}

// TestMarshalKeepsText checks that writing '&', '<' and '>' plainly changes
// no string, including one that holds a backslash before "u0026".
func TestMarshalKeepsText(t *testing.T) {
	s := bookworm()
	s.Entries[0].Package = `odd\u0026<name>&`
	doc, err := Document(s, Options{PackageURL: purlsOf(s), Product: product + `&x=\u003c`, Timestamp: epoch})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dt, []byte(`&tag=12-patched&x=\\u003c`)) || !bytes.Contains(dt, []byte(`arch=amd64&distro=debian-12`)) {
		t.Errorf("HTML escapes left in:\n%s", dt)
	}
	back, err := govex.Parse(dt)
	if err != nil {
		t.Fatal(err)
	}
	if back.Statements[0].ActionStatement != doc.Statements[0].ActionStatement || back.Statements[0].Products[0].ID != product+`&x=\u003c` {
		t.Errorf("text changed: %q / %q", back.Statements[0].ActionStatement, back.Statements[0].Products[0].ID)
	}
}

// TestEncodeAsGoVEX checks that Marshal, which encodes one statement at a
// time, writes the bytes go-vex's own encoder writes with its HTML escapes
// undone, for a document with odd text, one with many statements and one
// with none.
func TestEncodeAsGoVEX(t *testing.T) {
	odd := bookworm()
	odd.Entries[0].Package = `odd\u0026<name>&"quoted": null`
	docs := map[string]*summary.Summary{"bookworm": bookworm(), "odd": odd, "large": largeSummary(2000), "empty": {Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12"}}}
	for name, s := range docs {
		t.Run(name, func(t *testing.T) {
			doc, err := Document(s, Options{PackageURL: purlsOf(s), Product: product + `&x="statements": null`, Author: `a "statements": null author`, Timestamp: epoch})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Statements == nil {
				doc.Statements = []govex.Statement{} // go-vex writes nil as null, Marshal always as []
			}
			var want bytes.Buffer
			if err := doc.ToJSON(&want); err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if w := unescapeHTML(want.Bytes()); !bytes.Equal(got, w) {
				t.Errorf("Marshal differs from go-vex's encoding:\n got %.600s\nwant %.600s", got, w)
			}
			if cap(got) != len(got) {
				t.Errorf("the buffer has %d bytes of room past the document", cap(got)-len(got))
			}
		})
	}
}

// TestEncodeSmallStatements encodes documents whose statements are smaller
// than their header, with headers of many sizes: Encode once wrote the
// statements into the buffer that still held the header's end, and such a
// document came out corrupt (BuildKit refused it as an attestation).
func TestEncodeSmallStatements(t *testing.T) {
	s := &summary.Summary{Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12"}, Entries: []summary.Entry{
		{Vulnerability: "CVE-2025-1", Package: "a", Status: summary.Patched, Installed: "1", Fixed: "2", After: "2"},
		{Vulnerability: "CVE-2025-2", Package: "b", Status: summary.AlreadyFixed, Installed: "2", Fixed: "1", After: "2"},
	}}
	for n := 0; n < 1200; n += 23 {
		doc, err := Document(s, Options{PackageURL: purlsOf(s), Product: product, Author: strings.Repeat("x", n), Timestamp: epoch})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := doc.ToJSON(&want); err != nil {
			t.Fatal(err)
		}
		if w := unescapeHTML(want.Bytes()); !json.Valid(got) || !bytes.Equal(got, w) {
			t.Fatalf("author of %d bytes: Marshal differs from go-vex's encoding:\n got %s\nwant %s", n, got, w)
		}
	}
}
