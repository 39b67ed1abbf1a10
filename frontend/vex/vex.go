// Package vex turns a patch summary into an OpenVEX v0.2.0 document about
// the patched image, so scanners that read VEX (Trivy --vex, Grype) can drop
// what the patch fixed and keep what it could not.
//
// Choices, and why:
//
//   - One statement per vulnerability. It is "fixed" only when every
//     package that carries the vulnerability is patched or was already
//     fixed; otherwise "affected", with an action statement for each
//     package still short, because a CVE is gone from the image only when
//     it is gone from all of its packages. An affected statement lists only
//     the packages still vulnerable: a status applies to every
//     subcomponent of its statement, and the patched ones are not affected.
//   - Packages the report names but the image does not contain
//     (not-installed) get no statement, rather than not_affected with
//     component_not_present. The package has no version in the image, so
//     its package URL would carry none, and a versionless purl matches
//     every version of the package (go-vex's PurlMatches): the claim would
//     outlive the image's contents, e.g. in an image built FROM this one
//     that installs the package. A scan of the patched image does not
//     report an absent package anyway, and the summary keeps the record.
//     A vulnerability whose packages are all absent gets no statement.
//   - Subcomponent versions are the versions present in the patched image,
//     the product the document is about: for fixed statements the version
//     after the patch, for affected ones the installed version (which the
//     patch left alone, unless apt upgraded the package as a dependency,
//     and then the new one). Copa from v0.14 writes the pre-patch version
//     instead, to match the input scan; but a scan of the patched image
//     reports the new version, and a fixed claim about the old version
//     would describe a package the product no longer has.
//   - The vulnerability goes in "name", the field OpenVEX requires; "@id"
//     is for IRIs, which CVE IDs are not (Copa puts the ID there).
//   - Without Options.ID the document's @id is go-vex's canonical ID,
//     https://openvex.dev/docs/public/vex-<sha256>, whose hash covers the
//     statements, the timestamp, the version and the author: documents
//     from the same build with the same SOURCE_DATE_EPOCH share it, and
//     documents issued at different times do not. CanonicalID computes
//     it, because go-vex's own GenerateCanonicalID is quadratic in the
//     statements.
package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"
	packageurl "github.com/package-url/packageurl-go"

	"github.com/copa/frontend/frontend/summary"
)

// DefaultTooling names the frontend in documents whose caller gave no
// Tooling, because OpenVEX readers use it to tell generated statements from
// an analyst's.
const DefaultTooling = "copa/frontend"

// Options are the document fields the caller decides.
type Options struct {
	// Product is the patched image's @id, a package URL such as
	// "pkg:oci/nginx?repository_url=docker.io/library/nginx&tag=1.21.6-patched"
	// or "pkg:oci/nginx@sha256:…", or any IRI. Required: a statement
	// without a product says nothing.
	Product string
	// Author is who vouches for the statements; DefaultTooling when empty,
	// since OpenVEX requires one.
	Author string
	// AuthorRole is the author's role, e.g. "Image maintainer"; optional.
	AuthorRole string
	// ID is the document's @id; empty derives the canonical ID (see the
	// package comment).
	ID string
	// Tooling names what made the document; DefaultTooling when empty.
	Tooling string
	// Timestamp is when the document was issued: SOURCE_DATE_EPOCH for
	// reproducible builds, else now. Required, because a default of now
	// would make equal builds produce different documents unnoticed.
	Timestamp time.Time
	// PackageURL names a package of the image at a version, as scanners
	// do (the format's package URL). Required.
	PackageURL func(name, version string) string
}

// Document builds the OpenVEX document for one platform's patch summary.
// A summary with nothing to state gives a document without statements;
// whether to write it is the caller's choice (Copa writes none).
func Document(s *summary.Summary, opts Options) (*govex.VEX, error) {
	if s == nil {
		return nil, fmt.Errorf("vex: no summary")
	}
	if opts.Product == "" {
		return nil, fmt.Errorf("vex: the patched image's product @id is required")
	}
	if strings.HasPrefix(opts.Product, "pkg:") {
		if _, err := packageurl.FromString(opts.Product); err != nil {
			return nil, fmt.Errorf("vex: product %q: %w", opts.Product, err)
		}
	}
	if opts.Timestamp.IsZero() {
		return nil, fmt.Errorf("vex: the document timestamp is required (SOURCE_DATE_EPOCH or now)")
	}
	if opts.PackageURL == nil {
		return nil, fmt.Errorf("vex: no package URLs for the image's packages")
	}

	ts := opts.Timestamp.UTC().Truncate(time.Second) // what the JSON keeps, so the ID matches a re-read document
	doc := &govex.VEX{
		Metadata: govex.Metadata{
			Context:    govex.ContextLocator(),
			ID:         opts.ID,
			Author:     firstOf(opts.Author, DefaultTooling),
			AuthorRole: opts.AuthorRole,
			Timestamp:  &ts,
			Version:    1,
			Tooling:    firstOf(opts.Tooling, DefaultTooling),
		},
		Statements: []govex.Statement{},
	}
	vulns := s.Vulnerabilities()
	// Sized once: a statement is a few hundred bytes, and growing the
	// slice by append allocated it several times over on large reports.
	doc.Statements = make([]govex.Statement, 0, len(vulns))
	for _, v := range vulns {
		st, ok, err := statement(v, opts.Product, opts.PackageURL)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := st.Validate(); err != nil {
			return nil, fmt.Errorf("vex: statement for %s: %w", v.ID, err)
		}
		doc.Statements = append(doc.Statements, st)
	}
	if doc.ID == "" {
		// CanonicalID, not go-vex's GenerateCanonicalID, which is
		// quadratic in the statements (see CanonicalID) and sorts them in
		// place; the value is the same.
		id, err := CanonicalID(doc)
		if err != nil {
			return nil, fmt.Errorf("vex: %w", err)
		}
		doc.ID = id
	}
	return doc, nil
}

// statement states one vulnerability; ok is false when none of its
// packages is in the image.
func statement(v summary.Vulnerability, product string, purl func(name, version string) string) (govex.Statement, bool, error) {
	var present []summary.Entry
	for _, e := range v.Entries {
		if e.Status != summary.NotInstalled {
			present = append(present, e)
		}
	}
	if len(present) == 0 {
		return govex.Statement{}, false, nil
	}
	st := govex.Statement{Vulnerability: govex.Vulnerability{Name: govex.VulnerabilityID(v.ID)}}

	var listed, noFix, notes []string
	var failed []summary.Entry
	affected := slices.ContainsFunc(present, func(e summary.Entry) bool { return !e.Status.Resolved() })
	for _, e := range present {
		if affected == e.Status.Resolved() {
			continue // an affected statement names only what is still affected
		}
		version := firstOf(e.After, e.Installed)
		if e.Package == "" {
			return st, false, fmt.Errorf("vex: an entry of %s has no package name", v.ID)
		}
		p := purl(e.Package, version)
		if p == "" {
			return st, false, fmt.Errorf("vex: no package URL for %s %s (%s)", e.Package, version, v.ID)
		}
		listed = append(listed, p)
		switch e.Status {
		case summary.Patched:
			notes = append(notes, fmt.Sprintf("%s upgraded from %s to %s", e.Package, e.Installed, version))
		case summary.AlreadyFixed:
			notes = append(notes, fmt.Sprintf("%s %s was already fixed", e.Package, version))
		case summary.NotFixable:
			noFix = append(noFix, e.Package)
		default:
			failed = append(failed, e)
		}
	}
	slices.Sort(listed)
	listed = slices.Compact(listed)
	subs := make([]govex.Subcomponent, len(listed))
	for i, p := range listed {
		subs[i] = govex.Subcomponent{Component: govex.Component{ID: p}}
	}
	st.Products = []govex.Product{{Component: govex.Component{ID: product}, Subcomponents: subs}}

	if !affected {
		st.Status = govex.StatusFixed
		st.StatusNotes = strings.Join(notes, "; ")
		return st, true, nil
	}
	st.Status = govex.StatusAffected
	var actions []string
	if len(noFix) > 0 {
		slices.Sort(noFix)
		actions = append(actions, fmt.Sprintf("No fixed version of %s is published yet; rescan and patch again when one is.", joinAnd(slices.Compact(noFix))))
	}
	for _, e := range failed {
		reason := firstOf(e.Reason, "reason unknown")
		actions = append(actions, fmt.Sprintf("%s could not be brought to %s: %s.", e.Package, firstOf(e.Fixed, "its fixed version"), strings.TrimSuffix(reason, ".")))
	}
	st.ActionStatement = strings.Join(actions, " ")
	return st, true, nil
}

// Marshal encodes the document as indented JSON with a final newline, as
// go-vex's ToJSON does (timestamps in UTC), but without HTML escapes and
// into one buffer of the exact size: go-vex's encoder escapes '&', '<' and
// '>', which turns every purl's qualifier separator into \u0026, and it
// builds the document three times over (compact, indented, buffered),
// which for a document of tens of megabytes is most of the frontend's
// memory. Marshal encodes it twice instead, first only to count its bytes.
func Marshal(doc *govex.VEX) ([]byte, error) {
	var n counter
	if err := Encode(&n, doc); err != nil {
		return nil, err
	}
	b := bytes.NewBuffer(make([]byte, 0, int(n)))
	if err := Encode(b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Encode writes what Marshal returns to w, one statement at a time, so
// that only one statement is ever encoded in memory.
func Encode(w io.Writer, doc *govex.VEX) error {
	head := *doc
	head.Statements = nil
	dt, err := json.Marshal(&head)
	if err != nil {
		return fmt.Errorf("encoding the VEX document: %w", err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, unescapeHTML(dt), "", "  "); err != nil {
		return err
	}
	// The document's last member is its statements; JSON strings escape
	// every quote, so the key's quote-colon sequence occurs only as the
	// key itself.
	dt = ind.Bytes()
	i := bytes.LastIndex(dt, []byte(`"statements": null`))
	if i < 0 {
		return errors.New("encoding the VEX document: no statements member")
	}
	rest := dt[i+len(`"statements": null`):]
	if _, err := w.Write(dt[:i+len(`"statements": `)]); err != nil {
		return err
	}
	if len(doc.Statements) == 0 {
		if _, err := io.WriteString(w, "[]"); err != nil {
			return err
		}
	} else {
		if _, err := io.WriteString(w, "[\n    "); err != nil {
			return err
		}
		var sb bytes.Buffer
		for k := range doc.Statements {
			if k > 0 {
				if _, err := io.WriteString(w, ",\n    "); err != nil {
					return err
				}
			}
			st, err := json.Marshal(&doc.Statements[k])
			if err != nil {
				return fmt.Errorf("encoding VEX statement %d: %w", k, err)
			}
			// Its own buffer: rest is still in ind's.
			sb.Reset()
			if err := json.Indent(&sb, unescapeHTML(st), "    ", "  "); err != nil {
				return err
			}
			if _, err := w.Write(sb.Bytes()); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "\n  ]"); err != nil {
			return err
		}
	}
	if _, err := w.Write(rest); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// counter is an io.Writer that only counts.
type counter int

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// unescapeHTML undoes encoding/json's HTML escapes. It steps over every
// escape sequence whole, so an escaped backslash followed by "u0026" in
// the text stays as it is. It works in place, because its output is never
// longer than its input and a large document is tens of megabytes: in is
// overwritten, and the result shares its memory.
func unescapeHTML(in []byte) []byte {
	out := in[:0]
	for i := 0; i < len(in); i++ {
		if in[i] != '\\' || i+1 >= len(in) {
			out = append(out, in[i])
			continue
		}
		if in[i+1] == 'u' && i+6 <= len(in) {
			switch string(in[i+2 : i+6]) {
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			}
		}
		out, i = append(out, in[i], in[i+1]), i+1
	}
	return out
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// joinAnd lists names for a sentence: "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
