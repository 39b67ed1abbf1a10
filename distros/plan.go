package distros

import (
	"fmt"
	"slices"
	"strings"
)

// Finding is one scanner statement about a package, as the report said it.
// It is untrusted: Validate it before it is planned.
type Finding struct {
	Package         string
	FixedVersions   []string // empty when the scanner knows no fix
	VulnerabilityID string
	Entry           string // where in the report, for error messages
}

// Validate checks the finding's package name and fixed versions against
// the format's grammar, so that no report can smuggle options, paths or
// shell words into a patch step.
func (f Finding) Validate(v Versioning) error {
	if err := v.ValidName(f.Package); err != nil {
		return fmt.Errorf("report entry %s: %w", f.Entry, err)
	}
	for _, fv := range f.FixedVersions {
		if err := v.ValidVersion(fv); err != nil {
			return fmt.Errorf("report entry %s: fixed version: %w", f.Entry, err)
		}
	}
	return nil
}

// Versioning is a package family's grammar and version order.
type Versioning interface {
	// Compare orders two valid versions like the package manager does.
	Compare(a, b string) int
	// ValidName rejects anything the package manager would not accept as a
	// package name, so that no report can smuggle options or paths into it.
	ValidName(name string) error
	// ValidVersion rejects anything that is not a version of this family.
	ValidVersion(v string) error
}

// Update is one package the patch must bring to at least Fixed.
type Update struct {
	Name             string
	Installed        string
	Fixed            string
	VulnerabilityIDs []string
}

// SkipReason says why a reported package is left alone.
type SkipReason string

// Reasons a finding does not become an update.
const (
	SkipNoFix        SkipReason = "no fixed version published"
	SkipNotInstalled SkipReason = "not installed in the image"
	SkipAlreadyFixed SkipReason = "installed version is already fixed"
)

// Skip is a reported package's vulnerabilities that no update fixes, and
// why. With SkipNoFix the same package may also be in Updates, for its
// other vulnerabilities.
type Skip struct {
	Name             string
	Installed        string
	Fixed            string
	Reason           SkipReason
	VulnerabilityIDs []string
}

// Plan is what a patch will do. With All set there was no report: every
// package that has an update is upgraded and Updates is empty until the
// package manager has said what it will install.
type Plan struct {
	All     bool
	Updates []Update
	Skipped []Skip
}

// Names lists the packages to update, in plan order.
func (p *Plan) Names() []string {
	names := make([]string, len(p.Updates))
	for i, u := range p.Updates {
		names[i] = u.Name
	}
	return names
}

// MakePlan turns findings into updates: for each package the highest fixed
// version across its findings wins, because every one of its vulnerabilities
// must be fixed. Every finding must have passed Validate.
//
// It takes time linear in the findings and installed packages (plus the
// sort of the updates): installed versions are looked up in one map, and a
// package's vulnerability IDs are deduplicated through a set, because a
// report may hold up to 100,000 findings, many of them for one package.
func MakePlan(v Versioning, installed Packages, findings []Finding) *Plan {
	type acc struct {
		fixed string
		ids   idList
	}
	versions := installed.Versions(v)
	byName := map[string]*acc{}
	var order []string
	noFix := map[string]*idList{}
	var noFixOrder []string

	for _, f := range findings {
		cur := versions[f.Package]
		var best string
		for _, fv := range f.FixedVersions {
			best = pickFix(v, cur, best, fv)
		}
		if best == "" {
			ids, seen := noFix[f.Package]
			if !seen {
				ids = &idList{}
				noFix[f.Package] = ids
				noFixOrder = append(noFixOrder, f.Package)
			}
			ids.add(f.VulnerabilityID)
			continue
		}
		a, ok := byName[f.Package]
		if !ok {
			a = &acc{}
			byName[f.Package] = a
			order = append(order, f.Package)
		}
		if a.fixed == "" || v.Compare(best, a.fixed) > 0 {
			a.fixed = best
		}
		a.ids.add(f.VulnerabilityID)
	}

	p := &Plan{}
	for _, name := range order {
		a := byName[name]
		cur, ok := versions[name]
		switch {
		case !ok:
			p.Skipped = append(p.Skipped, Skip{Name: name, Fixed: a.fixed, Reason: SkipNotInstalled, VulnerabilityIDs: a.ids.list})
		case v.Compare(cur, a.fixed) >= 0:
			p.Skipped = append(p.Skipped, Skip{Name: name, Installed: cur, Fixed: a.fixed, Reason: SkipAlreadyFixed, VulnerabilityIDs: a.ids.list})
		default:
			p.Updates = append(p.Updates, Update{Name: name, Installed: cur, Fixed: a.fixed, VulnerabilityIDs: a.ids.list})
		}
	}
	for _, name := range noFixOrder {
		// A package can be both updated (for its fixed vulnerabilities)
		// and skipped (for the ones without a fix): the summary and the
		// VEX document must still state every vulnerability.
		p.Skipped = append(p.Skipped, Skip{Name: name, Installed: versions[name], Reason: SkipNoFix, VulnerabilityIDs: noFix[name].list})
	}
	slices.SortFunc(p.Updates, func(a, b Update) int { return strings.Compare(a.Name, b.Name) })
	return p
}

// pickFix chooses between two fixed versions of one finding. A supplier's
// list holds one fix per release line, so the lowest version above the
// installed one is the fix for the installed line; a list whose versions are
// all at or below the installed one is already satisfied by its highest.
func pickFix(v Versioning, installed, a, b string) string {
	if a == "" {
		return b
	}
	above := func(x string) bool { return installed == "" || v.Compare(x, installed) > 0 }
	switch {
	case above(a) && above(b):
		if v.Compare(a, b) <= 0 {
			return a
		}
		return b
	case above(a):
		return a
	case above(b):
		return b
	case v.Compare(a, b) >= 0:
		return a
	default:
		return b
	}
}

// idList is a package's vulnerability IDs in first-seen order, without
// repeats or empty IDs; the set makes each add O(1).
type idList struct {
	list []string
	seen map[string]struct{}
}

func (l *idList) add(id string) {
	if id == "" {
		return
	}
	if _, dup := l.seen[id]; dup {
		return
	}
	if l.seen == nil {
		l.seen = map[string]struct{}{}
	}
	l.seen[id] = struct{}{}
	l.list = append(l.list, id)
}

// Shortfall is a package whose installed version is below what the patch
// had to reach.
type Shortfall struct {
	Name      string
	Installed string // "" when the package is gone
	Want      string
}

func (s Shortfall) String() string {
	if s.Installed == "" {
		return fmt.Sprintf("%s: not installed after the patch, want %s", s.Name, s.Want)
	}
	return fmt.Sprintf("%s: %s installed, want %s or later", s.Name, s.Installed, s.Want)
}

// Verify compares the packages installed after a patch with the versions
// they had to reach and returns every one that fell short (see
// Packages.Version for which record of a name counts).
func Verify(v Versioning, installed Packages, want []Update) []Shortfall {
	var out []Shortfall
	versions := installed.Versions(v)
	for _, u := range want {
		got, ok := versions[u.Name]
		if !ok || v.Compare(got, u.Fixed) < 0 {
			out = append(out, Shortfall{Name: u.Name, Installed: got, Want: u.Fixed})
		}
	}
	return out
}

// StepName names a patch step for the progress output: the tool, then
// what it installs, e.g. "apt: 11 security updates (apt, libapt-pkg6.0,
// … +8)". A plan from reports fixes reported vulnerabilities, so its
// updates are security updates; an upgrade-all is said so.
func StepName(tool string, p *Plan) string {
	if p.All {
		return tool + ": upgrade every package that has an update"
	}
	const shown = 3
	names := p.Names()
	list := strings.Join(names, ", ")
	if len(names) > shown {
		list = strings.Join(names[:shown], ", ") + fmt.Sprintf(", … +%d", len(names)-shown)
	}
	noun := "security updates"
	if len(names) == 1 {
		noun = "security update"
	}
	return fmt.Sprintf("%s: %d %s (%s)", tool, len(names), noun, list)
}
