package summary

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Width is the widest line Table writes: build progress is read in CI logs
// and terminals that wrap rather than scroll.
const Width = 120

// Column caps, in runes. Vulnerability IDs (CVE, GHSA, TEMP-…) fit in 22 and
// Debian package names rarely exceed 26, which leaves the versions room.
const (
	maxID      = 22
	maxPackage = 26
	gap        = "  "
)

// Table renders the summary for build progress: one row per entry with the
// vulnerability ID written only on its first row, so a CVE spread over
// several packages reads as one group; the reasons of failed packages below
// the table, where they are not cut to the column width; and a count line.
func (s *Summary) Table() string {
	var b strings.Builder
	title := "Patch of " + orDash(s.Image)
	if s.Platform != "" {
		title += " (" + s.Platform + ")"
	}
	if n := len(s.Reports); n > 0 {
		title += ": " + strings.Join(s.Reports, ", ")
	}
	b.WriteString(truncate(title, Width) + "\n")

	if len(s.Entries) == 0 {
		b.WriteString("nothing reported, nothing upgraded\n")
		return b.String()
	}

	rows := [][4]string{{"VULNERABILITY", "PACKAGE", "STATUS", "FROM → TO"}}
	prev := "\x00"
	var notes []string
	noted := map[string]bool{}
	entries := append([]Entry(nil), s.Entries...)
	(&Summary{Entries: entries}).Sort()
	for _, e := range entries {
		id := e.Vulnerability
		switch {
		case id == prev:
			id = ""
		case id == "":
			prev, id = "", "-"
		default:
			prev = id
		}
		rows = append(rows, [4]string{id, e.Package, string(e.Status), change(e)})
		if e.Status == Failed && e.Reason != "" && !noted[e.Package] {
			noted[e.Package] = true
			notes = append(notes, truncate("  "+e.Package+": "+e.Reason, Width))
		}
	}

	w := [3]int{}
	for _, r := range rows {
		for i, c := range r[:3] {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	w[0], w[1] = min(w[0], maxID), min(w[1], maxPackage)
	last := Width - w[0] - w[1] - w[2] - 3*len(gap)
	for _, r := range rows {
		line := pad(truncate(r[0], w[0]), w[0]) + gap +
			pad(truncate(r[1], w[1]), w[1]) + gap +
			pad(r[2], w[2]) + gap + truncate(r[3], last)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	if len(notes) > 0 {
		b.WriteString("failed:\n" + strings.Join(notes, "\n") + "\n")
	}
	b.WriteString(s.countLine() + "\n")
	return b.String()
}

// change says how the package's version moved, or why it did not.
func change(e Entry) string {
	from := orDash(e.Installed)
	switch e.Status {
	case Patched:
		return from + " → " + orDash(firstOf(e.After, e.Fixed))
	case AlreadyFixed:
		return from + " (fixed in " + orDash(e.Fixed) + ")"
	case NotFixable:
		return from + " (no fix published)"
	case NotInstalled:
		return "not in image (fixed in " + orDash(e.Fixed) + ")"
	}
	s := from
	if e.After != "" && e.After != e.Installed {
		s += " → " + e.After
	}
	if e.Fixed != "" {
		s += ", wants " + e.Fixed
	}
	return s
}

// countLine always names patched, not fixable and failed, the three
// numbers a reader looks for; the rarer outcomes appear when they occur.
func (s *Summary) countLine() string {
	c := s.Tally()
	line := fmt.Sprintf("%d %s: %d patched, %d not fixable, %d failed",
		c.Vulnerabilities, plural(c.Vulnerabilities, "vulnerability", "vulnerabilities"), c.Patched, c.NotFixable, c.Failed)
	if c.AlreadyFixed > 0 {
		line += fmt.Sprintf(", %d already fixed", c.AlreadyFixed)
	}
	if c.NotInstalled > 0 {
		line += fmt.Sprintf(", %d not installed", c.NotInstalled)
	}
	line += fmt.Sprintf("; %d %s upgraded", c.UpgradedPackages, plural(c.UpgradedPackages, "package", "packages"))
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

// truncate cuts s to n runes, marking the cut with an ellipsis so a reader
// knows the cell goes on.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
