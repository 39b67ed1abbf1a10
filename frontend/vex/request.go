package vex

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/copa/frontend/frontend/summary"
)

// Request is what a VEX document is made of besides the summary, in a form
// that can be written to a file: the options, with the package URLs the
// document needs already resolved. The frontend sends the summary and a
// Request to a build step, which writes the document there, so that a
// document of tens of megabytes is never held (and copied into a solve
// request) by the frontend.
type Request struct {
	Product    string    `json:"product"`
	Author     string    `json:"author,omitempty"`
	AuthorRole string    `json:"authorRole,omitempty"`
	ID         string    `json:"id,omitempty"`
	Tooling    string    `json:"tooling,omitempty"`
	Timestamp  time.Time `json:"timestamp"`
	// PackageURLs maps a package name and version to its package URL,
	// for every package version a statement may name.
	PackageURLs map[string]map[string]string `json:"packageURLs"`
}

// NewRequest resolves the package URLs of the summary's entries through
// opts.PackageURL, and counts the statements the document will make (a
// caller writes no document without any).
func NewRequest(s *summary.Summary, opts Options) (Request, int, error) {
	if s == nil {
		return Request{}, 0, fmt.Errorf("vex: no summary")
	}
	if opts.PackageURL == nil {
		return Request{}, 0, fmt.Errorf("vex: no package URLs for the image's packages")
	}
	r := Request{
		Product: opts.Product, Author: opts.Author, AuthorRole: opts.AuthorRole,
		ID: opts.ID, Tooling: opts.Tooling, Timestamp: opts.Timestamp,
		PackageURLs: map[string]map[string]string{},
	}
	statements := 0
	for _, v := range s.Vulnerabilities() {
		stated := false
		for _, e := range v.Entries {
			if e.Status == summary.NotInstalled {
				continue // never named (see statement)
			}
			stated = true
			version := firstOf(e.After, e.Installed)
			byVersion := r.PackageURLs[e.Package]
			if byVersion == nil {
				byVersion = map[string]string{}
				r.PackageURLs[e.Package] = byVersion
			}
			if _, ok := byVersion[version]; !ok {
				byVersion[version] = opts.PackageURL(e.Package, version)
			}
		}
		if stated {
			statements++
		}
	}
	return r, statements, nil
}

// Options are the request's document options; its PackageURL answers
// from the resolved table, with "" (which Document refuses) for a package
// version the table lacks.
func (r Request) Options() Options {
	return Options{
		Product: r.Product, Author: r.Author, AuthorRole: r.AuthorRole,
		ID: r.ID, Tooling: r.Tooling, Timestamp: r.Timestamp,
		PackageURL: func(name, version string) string { return r.PackageURLs[name][version] },
	}
}

// Write is what the VEX step runs: it reads the summary and the request
// files and returns the document's bytes, as Marshal(Document(…)) would in
// the frontend.
func Write(summaryJSON, requestJSON []byte) ([]byte, error) {
	var s summary.Summary
	if err := json.Unmarshal(summaryJSON, &s); err != nil {
		return nil, fmt.Errorf("vex: reading the summary: %w", err)
	}
	var r Request
	if err := json.Unmarshal(requestJSON, &r); err != nil {
		return nil, fmt.Errorf("vex: reading the request: %w", err)
	}
	doc, err := Document(&s, r.Options())
	if err != nil {
		return nil, err
	}
	return Marshal(doc)
}
