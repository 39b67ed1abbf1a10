// Package summary records what one platform's patch did to each reported
// vulnerability, for the build's progress output, a JSON file next to the
// image and the VEX document derived from it (package frontend/vex).
//
// The JSON form (schema "copa-frontend/summary/v1") is:
//
//	{
//	  "schema":      "copa-frontend/summary/v1",
//	  "image":       "docker.io/library/nginx:1.21.6",  // the PATCH reference
//	  "base_digest": "sha256:…",                         // what it resolved to
//	  "platform":    "linux/amd64",
//	  "os":          {"id": "debian", "version": "12", "manager": "apt"},
//	  "reports":     ["nginx.trivy.json"],
//	  "entries": [{
//	    "vulnerability": "CVE-2024-56406",   // absent for upgrades made without a report
//	    "package":       "perl-base",
//	    "status":        "patched",          // patched | already-fixed | not-fixable | not-installed | failed
//	    "installed":     "5.36.0-7+deb12u3", // before the patch; absent when not installed
//	    "fixed":         "5.36.0-7+deb12u4", // the version the patch had to reach; absent when none is published
//	    "after":         "5.36.0-7+deb12u4", // in the patched image; absent when not installed
//	    "reason":        "…"                 // only for failed entries
//	  }],
//	  "counts": {"vulnerabilities": 16, "patched": 16, "already_fixed": 0, "not_fixable": 0,
//	             "not_installed": 0, "failed": 0, "upgraded_packages": 4}
//	}
//
// Entries are sorted by vulnerability ID (numbers in IDs compare as
// numbers, so CVE-2023-4039 precedes CVE-2023-39804) and then by package.
// Counts are per vulnerability, not per entry: a vulnerability is as bad as
// its worst package (failed, then not-fixable, then patched, then
// already-fixed, then not-installed), because a CVE is only gone from the
// image when every package carrying it is fixed.
package summary

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/copa/frontend/distros"
)

// Schema names the JSON layout, so consumers can refuse a layout they do not
// know instead of misreading it.
const Schema = "copa-frontend/summary/v1"

// Status is what the patch did about one vulnerability in one package.
type Status string

// The statuses, in the order a vulnerability's worst one is chosen by
// (see Worst).
const (
	Failed       Status = "failed"
	NotFixable   Status = "not-fixable"
	Patched      Status = "patched"
	AlreadyFixed Status = "already-fixed"
	NotInstalled Status = "not-installed"
)

// severity ranks statuses so a vulnerability shared by several packages is
// reported by its least resolved one.
var severity = map[Status]int{Failed: 0, NotFixable: 1, Patched: 2, AlreadyFixed: 3, NotInstalled: 4}

// Worst returns the least resolved of the statuses, which is what a
// vulnerability spread over several packages amounts to.
func Worst(statuses ...Status) Status {
	var w Status
	for _, s := range statuses {
		if s == "" {
			continue
		}
		r, ok := severity[s]
		if !ok {
			return s // unknown statuses must not read as resolved
		}
		if w == "" || r < severity[w] {
			w = s
		}
	}
	return w
}

// Resolved reports whether the image no longer carries the vulnerability in
// this package: what a VEX "fixed" statement may claim.
func (s Status) Resolved() bool { return s == Patched || s == AlreadyFixed }

// OS is the release the image runs, as far as package URLs need it.
type OS struct {
	ID      string `json:"id"`                // os-release ID: "debian", "ubuntu"
	Version string `json:"version,omitempty"` // os-release VERSION_ID: "12", "22.04"
	Manager string `json:"manager,omitempty"` // the package-manager family: "apt", or "dpkg" for images patched from a tooling image
}

// Entry is the outcome for one (vulnerability, package) pair.
type Entry struct {
	Vulnerability string `json:"vulnerability,omitempty"`
	Package       string `json:"package"`
	Status        Status `json:"status"`
	Installed     string `json:"installed,omitempty"`
	Fixed         string `json:"fixed,omitempty"`
	After         string `json:"after,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// Counts tallies vulnerabilities by their worst status (see the package
// comment) and counts the packages the patch upgraded.
type Counts struct {
	Vulnerabilities  int `json:"vulnerabilities"`
	Patched          int `json:"patched"`
	AlreadyFixed     int `json:"already_fixed"`
	NotFixable       int `json:"not_fixable"`
	NotInstalled     int `json:"not_installed"`
	Failed           int `json:"failed"`
	UpgradedPackages int `json:"upgraded_packages"`
}

// Summary is the outcome of one platform's patch. Counts is derived from
// Entries; Table and MarshalJSON recompute it, so a hand-edited Summary
// cannot print counts that disagree with its entries.
type Summary struct {
	Image      string   `json:"image"`
	BaseDigest string   `json:"base_digest,omitempty"`
	Platform   string   `json:"platform"`
	OS         OS       `json:"os"`
	Reports    []string `json:"reports,omitempty"`
	Entries    []Entry  `json:"entries"`
	Counts     Counts   `json:"counts"`
}

// Input is everything the frontend knows once a platform's patch has been
// built and verified.
type Input struct {
	Image      string
	BaseDigest string
	Platform   string // e.g. "linux/arm/v7", as platforms.Format writes it
	OS         OS
	Reports    []string // the REPORT files' names

	Plan *distros.Plan
	// Upgrades is what an upgrade-all (Plan.All) installed, because such a
	// plan has no updates until the package manager has run.
	Upgrades []distros.Update
	// Unresolved are the packages left below their fixed version under
	// UNRESOLVED warn.
	Unresolved []distros.Unresolved
	// After maps package name to the version installed in the patched image.
	After map[string]string
	// Failed maps package name to why verification found it short.
	Failed map[string]string
	// Versioning, when set, double-checks every update against After, so
	// a caller that forgot to fill Failed cannot report a shortfall as
	// patched.
	Versioning distros.Versioning
}

// New builds the summary of one platform's patch.
func New(in Input) *Summary {
	s := &Summary{
		Image:      in.Image,
		BaseDigest: in.BaseDigest,
		Platform:   in.Platform,
		OS:         in.OS,
		Reports:    slices.Clone(in.Reports),
	}
	unresolved := map[string]distros.Unresolved{}
	for _, u := range in.Unresolved {
		unresolved[u.Name] = u
	}
	updates := in.Upgrades
	var skipped []distros.Skip
	if in.Plan != nil {
		skipped = in.Plan.Skipped
		if !in.Plan.All {
			updates = in.Plan.Updates
		}
	}

	// Room for every entry at once (one per update or skip and ID), rather
	// than growing a 100,000-entry list by append.
	n := len(in.Failed)
	for _, u := range updates {
		n += max(1, len(u.VulnerabilityIDs))
	}
	for _, sk := range skipped {
		n += max(1, len(sk.VulnerabilityIDs))
	}
	if n > 0 {
		s.Entries = make([]Entry, 0, n)
	}

	seen := map[string]bool{}
	for _, u := range updates {
		seen[u.Name] = true
		after, ok := in.After[u.Name]
		e := Entry{Package: u.Name, Status: Patched, Installed: u.Installed, Fixed: u.Fixed, After: after}
		if ur, isUnresolved := unresolved[u.Name]; isUnresolved {
			e.Status, e.Reason = Failed, unresolvedReason(ur)
		} else if why, failed := in.Failed[u.Name]; failed {
			e.Status, e.Reason = Failed, why
		} else if !ok || (in.Versioning != nil && in.Versioning.Compare(after, u.Fixed) < 0) {
			e.Status = Failed
			e.Reason = distros.Shortfall{Name: u.Name, Installed: after, Want: u.Fixed}.String()
		}
		s.add(e, u.VulnerabilityIDs)
	}
	for _, sk := range skipped {
		e := Entry{Package: sk.Name, Installed: sk.Installed, Fixed: sk.Fixed, After: in.After[sk.Name]}
		switch sk.Reason {
		case distros.SkipNoFix:
			e.Status = NotFixable
		case distros.SkipNotInstalled:
			e.Status = NotInstalled
		case distros.SkipAlreadyFixed:
			e.Status = AlreadyFixed
		default:
			e.Status, e.Reason = Failed, string(sk.Reason)
		}
		s.add(e, sk.VulnerabilityIDs)
	}
	// A package that failed but was in no update (a caller's upgrade-all
	// list may miss it) must still show up rather than vanish.
	for _, name := range sortedKeys(in.Failed) {
		if !seen[name] {
			s.add(Entry{Package: name, Status: Failed, After: in.After[name], Reason: in.Failed[name]}, nil)
		}
	}
	s.Sort()
	s.Counts = s.Tally()
	return s
}

// add records e once per vulnerability ID, or once without one when the
// package was upgraded without a report naming a vulnerability.
func (s *Summary) add(e Entry, ids []string) {
	if len(ids) == 0 {
		s.Entries = append(s.Entries, e)
		return
	}
	for _, id := range ids {
		e.Vulnerability = id
		s.Entries = append(s.Entries, e)
	}
}

func unresolvedReason(u distros.Unresolved) string {
	best := u.Best
	if best == "" {
		best = "none"
	}
	return fmt.Sprintf("fixed version %s not available (best: %s)", u.Want, best)
}

// Sort puts the entries in their documented order.
func (s *Summary) Sort() {
	slices.SortStableFunc(s.Entries, func(a, b Entry) int {
		if c := CompareIDs(a.Vulnerability, b.Vulnerability); c != 0 {
			return c
		}
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return severity[a.Status] - severity[b.Status]
	})
}

// CompareIDs orders vulnerability IDs for people: runs of digits compare as
// numbers, so CVE-2023-4039 comes before CVE-2023-39804. The empty ID (an
// upgrade without a report) sorts last.
func CompareIDs(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da != db {
			if da {
				return -1
			}
			return 1
		}
		ca, ra := chunk(a, da)
		cb, rb := chunk(b, db)
		if da {
			na, nb := strings.TrimLeft(ca, "0"), strings.TrimLeft(cb, "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
		}
		if c := strings.Compare(ca, cb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// chunk splits off the leading run of digits (or of non-digits).
func chunk(s string, digits bool) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) == digits {
		i++
	}
	return s[:i], s[i:]
}

// Vulnerability is one vulnerability's entries, for callers (the table,
// VEX) that speak per vulnerability rather than per package.
type Vulnerability struct {
	ID      string
	Status  Status // the worst of Entries'
	Entries []Entry
}

// Vulnerabilities groups the entries by vulnerability ID in the summary's
// order. Entries without an ID are left out: they name no vulnerability.
//
// The groups' Entries share the summary's entries (read them, do not
// change them) when those are in order, as New and Sort leave them: the
// summary, its JSON, the table and the VEX document all group the same
// entries, and a copy per caller cost more memory than the entries
// themselves on large reports.
func (s *Summary) Vulnerabilities() []Vulnerability {
	var out []Vulnerability
	s.eachVulnerability(func(v Vulnerability) { out = append(out, v) })
	return out
}

// eachVulnerability calls fn with each group Vulnerabilities returns, so
// that Tally can count them without holding the list.
func (s *Summary) eachVulnerability(fn func(Vulnerability)) {
	byID := func(a, b Entry) int {
		if c := CompareIDs(a.Vulnerability, b.Vulnerability); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	}
	entries := s.Entries
	if !slices.IsSortedFunc(entries, byID) {
		entries = slices.Clone(entries)
		slices.SortStableFunc(entries, byID)
	}
	for i := 0; i < len(entries); {
		id := entries[i].Vulnerability
		j := i + 1
		for j < len(entries) && entries[j].Vulnerability == id {
			j++
		}
		if id != "" {
			// The full slice expression keeps a caller's append from
			// writing over the next group.
			v := Vulnerability{ID: id, Entries: entries[i:j:j]}
			for _, e := range v.Entries {
				v.Status = Worst(v.Status, e.Status)
			}
			fn(v)
		}
		i = j
	}
}

// Tally counts the entries; see Counts.
func (s *Summary) Tally() Counts {
	var c Counts
	s.eachVulnerability(func(v Vulnerability) {
		c.Vulnerabilities++
		switch v.Status {
		case Patched:
			c.Patched++
		case AlreadyFixed:
			c.AlreadyFixed++
		case NotFixable:
			c.NotFixable++
		case NotInstalled:
			c.NotInstalled++
		default:
			c.Failed++
		}
	})
	upgraded := map[string]bool{}
	for _, e := range s.Entries {
		if e.Status == Patched {
			upgraded[e.Package] = true
		}
	}
	c.UpgradedPackages = len(upgraded)
	return c
}

// MarshalJSON writes the schema name first and recomputed counts, so every
// file carries what it needs to be read back.
func (s *Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	c := *s
	c.Counts = s.Tally()
	if c.Entries == nil {
		c.Entries = []Entry{}
	}
	return json.Marshal(struct {
		Schema string `json:"schema"`
		*plain
	}{Schema, (*plain)(&c)})
}

// UnmarshalJSON refuses other schemas, because a field that changed meaning
// would otherwise be read silently.
func (s *Summary) UnmarshalJSON(data []byte) error {
	type plain Summary
	var v struct {
		Schema string `json:"schema"`
		*plain
	}
	v.plain = (*plain)(s)
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if v.Schema != Schema {
		return fmt.Errorf("summary schema %q, want %q", v.Schema, Schema)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
