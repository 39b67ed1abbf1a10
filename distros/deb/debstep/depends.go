package debstep

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/copa/frontend/distros/deb"
)

// A relation is one alternative of a Depends or Pre-Depends clause.
type relation struct {
	name, op, version string
}

// relationPattern matches "name[:arch] [(op version)] [arch list] [<profiles>]".
var relationPattern = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$`)

// parseRelations parses a Depends-style field into clauses of alternatives.
func parseRelations(field string) ([][]relation, error) {
	var clauses [][]relation
	for _, c := range strings.Split(field, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		var alts []relation
		for _, a := range strings.Split(c, "|") {
			m := relationPattern.FindStringSubmatch(strings.TrimSpace(a))
			if m == nil {
				return nil, fmt.Errorf("cannot parse the relation %q", strings.TrimSpace(a))
			}
			alts = append(alts, relation{name: m[1], op: m[2], version: m[3]})
		}
		clauses = append(clauses, alts)
	}
	return clauses, nil
}

// satisfiedBy reports whether version meets the relation's constraint.
func (r relation) satisfiedBy(version string) bool {
	if r.op == "" {
		return true
	}
	c := deb.Versioning{}.Compare(version, r.version)
	switch r.op {
	case "<<", "<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>", ">":
		return c > 0
	}
	return false
}

// UnmetDepends checks the dependencies of packages about to be unpacked
// into an image without a package manager, where nothing resolves them.
// after maps every package name to the version it will have once the
// packages are in (installed versions, overridden by the new ones);
// depends maps each new package to its Depends and Pre-Depends fields.
//
// A clause is met when one of its alternatives is present in a version
// that satisfies it, or when none of its alternatives is present at all:
// distroless images leave out dependencies by design (tzdata without
// debconf, libraries without their -common data), and adding packages is
// not what a patch does. What this catches is the dependency that is there
// but too old, as when a fixed library needs a newer libc6: unpacking it
// would leave an image that fails at run time.
func UnmetDepends(depends map[string][]string, after map[string]string) ([]string, error) {
	var unmet []string
	for pkg, fields := range depends {
		for _, f := range fields {
			clauses, err := parseRelations(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pkg, err)
			}
			for _, alts := range clauses {
				present, ok := false, false
				for _, r := range alts {
					if v, has := after[r.name]; has {
						present = true
						if r.satisfiedBy(v) {
							ok = true
							break
						}
					}
				}
				if present && !ok {
					unmet = append(unmet, fmt.Sprintf("%s needs %s, the image has %s", pkg, formatClause(alts), presentVersions(alts, after)))
				}
			}
		}
	}
	slices.Sort(unmet)
	return unmet, nil
}

func formatClause(alts []relation) string {
	parts := make([]string, len(alts))
	for i, r := range alts {
		parts[i] = r.name
		if r.op != "" {
			parts[i] += " (" + r.op + " " + r.version + ")"
		}
	}
	return strings.Join(parts, " | ")
}

func presentVersions(alts []relation, after map[string]string) string {
	var parts []string
	for _, r := range alts {
		if v, ok := after[r.name]; ok {
			parts = append(parts, r.name+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}
