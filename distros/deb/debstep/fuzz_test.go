package debstep

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParseRelations fuzzes the parser of the Depends and Pre-Depends
// fields the install step reads from the image's database and the new
// packages: what it accepts has a name in every alternative and a version
// exactly when it has an operator; written back (formatClause) it parses
// the same; and against any version exactly one of <<, = and >> holds,
// as dpkg's order is total. `make fuzz` runs it; crashers found land in
// testdata/fuzz/FuzzParseRelations/ and are replayed by every `go test`.
func FuzzParseRelations(f *testing.F) {
	for _, s := range [][2]string{
		{"libc6 (>= 2.34), libssl3 (>= 3.0.0) | libssl1.1", "2.36-9+deb12u4"},
		{"libc6:amd64 (>= 2.14) [amd64 arm64] <!nocheck>, zlib1g (>= 1:1.1.4)", "1:1.2.13.dfsg-1"},
		{"debconf (>= 0.5) | debconf-2.0, , tzdata (<< 2024a)", "2024a-0+deb12u1"},
		{"a (= 1.0~rc1)|b(>>2)", "1.0"},
		{"A (>= 1)", "1"},
		{"x (>= 1, 2)", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, field, version string) {
		clauses, err := parseRelations(field)
		if err != nil {
			return
		}
		var written []string
		for _, alts := range clauses {
			if len(alts) == 0 {
				t.Fatalf("empty clause in %q", field)
			}
			for _, r := range alts {
				if r.name == "" || (r.op == "") != (r.version == "") || strings.ContainsAny(r.version, ",|") {
					t.Fatalf("relation %+v from %q", r, field)
				}
				lt := relation{name: r.name, op: "<<", version: r.version}.satisfiedBy(version)
				eq := relation{name: r.name, op: "=", version: r.version}.satisfiedBy(version)
				gt := relation{name: r.name, op: ">>", version: r.version}.satisfiedBy(version)
				if r.op != "" && btoi(lt)+btoi(eq)+btoi(gt) != 1 {
					t.Fatalf("%q against %q: << %v, = %v, >> %v", version, r.version, lt, eq, gt)
				}
			}
			written = append(written, formatClause(alts))
		}
		again, err := parseRelations(strings.Join(written, ", "))
		if err != nil || !reflect.DeepEqual(again, clauses) {
			t.Fatalf("%q written back as %q parses as %+v (%v), want %+v", field, written, again, err, clauses)
		}
		if len(clauses) > 0 {
			_, _ = UnmetDepends(map[string][]string{"p": {field}}, map[string]string{clauses[0][0].name: version})
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
