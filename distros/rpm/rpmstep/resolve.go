// Package rpmstep holds the helper commands of the rpm methods: they run
// inside patch steps, on the image's files and the package manager's
// output, from the frontend binary.
package rpmstep

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/rpm"
)

// Candidate is a version of a package that the repositories offer.
type Candidate struct {
	Name, EVR, Arch string
}

// The formats in which the package managers list what they offer (the
// pm_format of each pm-*.sh).
const (
	// FormatQF: "NAME EPOCH:VERSION-RELEASE ARCH" (dnf repoquery --qf).
	FormatQF = "qf"
	// FormatList: "NAME.ARCH [EPOCH:]VERSION-RELEASE REPO" (yum and tdnf list).
	FormatList = "list"
	// FormatNEVRA: "NAME-[EPOCH:]VERSION-RELEASE.ARCH" (microdnf repoquery).
	FormatNEVRA = "nevra"
	// FormatTable: zypper's "S | Name | Type | Version | Arch | Repository".
	FormatTable = "table"
)

// maxCandidates bounds what is read of a package manager's listing.
const maxCandidates = 200000

// ParseCandidates reads a package manager's listing of available
// versions. Lines that are not a listing entry (headers, notices) and
// entries whose name or version rpm's grammar refuses are skipped: the
// output comes from the image's own tools.
func ParseCandidates(format string, r io.Reader) ([]Candidate, error) {
	parse, ok := parsers[format]
	if !ok {
		return nil, fmt.Errorf("unknown listing format %q", format)
	}
	v := rpm.Versioning{}
	var out []Candidate
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		c, ok := parse(strings.TrimSpace(sc.Text()))
		if !ok {
			continue
		}
		c.EVR = normalEVR(c.EVR)
		if v.ValidName(c.Name) != nil || v.ValidVersion(c.EVR) != nil {
			continue
		}
		if len(out) == maxCandidates {
			return nil, fmt.Errorf("the package manager listed more than %d versions", maxCandidates)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

var parsers = map[string]func(string) (Candidate, bool){
	FormatQF: func(l string) (Candidate, bool) {
		f := strings.Fields(l)
		if len(f) != 3 {
			return Candidate{}, false
		}
		return Candidate{Name: f[0], EVR: f[1], Arch: f[2]}, true
	},
	FormatList: func(l string) (Candidate, bool) {
		f := strings.Fields(l)
		if len(f) < 2 {
			return Candidate{}, false
		}
		i := strings.LastIndexByte(f[0], '.')
		if i <= 0 {
			return Candidate{}, false
		}
		return Candidate{Name: f[0][:i], Arch: f[0][i+1:], EVR: f[1]}, true
	},
	FormatNEVRA: func(l string) (Candidate, bool) {
		if strings.ContainsAny(l, " \t") {
			return Candidate{}, false
		}
		dot := strings.LastIndexByte(l, '.')
		if dot <= 0 {
			return Candidate{}, false
		}
		nvr, arch := l[:dot], l[dot+1:]
		r := strings.LastIndexByte(nvr, '-')
		if r <= 0 {
			return Candidate{}, false
		}
		v := strings.LastIndexByte(nvr[:r], '-')
		if v <= 0 {
			return Candidate{}, false
		}
		return Candidate{Name: nvr[:v], EVR: nvr[v+1:], Arch: arch}, true
	},
	FormatTable: func(l string) (Candidate, bool) {
		f := strings.Split(l, "|")
		if len(f) != 6 {
			return Candidate{}, false
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if f[2] != "package" {
			return Candidate{}, false // the header, or a patch or pattern
		}
		return Candidate{Name: f[1], EVR: f[3], Arch: f[4]}, true
	},
}

// normalEVR writes an epoch only when it is not zero, as the plan does.
func normalEVR(evr string) string {
	for _, zero := range []string{"0:", "(none):"} {
		if rest, ok := strings.CutPrefix(evr, zero); ok {
			return rest
		}
	}
	return evr
}

// Resolution is what Resolve decided.
type Resolution struct {
	// Install is the version to install of each package that can reach
	// its fixed version: the newest on offer.
	Install []Candidate
	// Unresolved are the packages that cannot.
	Unresolved []distros.Unresolved
}

// Resolve picks, for each planned update, the newest version on offer,
// if it is at least the fixed one.
func Resolve(plan []distros.Update, offered []Candidate) Resolution {
	v := rpm.Versioning{}
	best := map[string]string{}
	for _, c := range offered {
		if cur, ok := best[c.Name]; !ok || v.Compare(c.EVR, cur) > 0 {
			best[c.Name] = c.EVR
		}
	}
	var res Resolution
	for _, u := range plan {
		b := best[u.Name]
		if b != "" && v.Compare(b, u.Fixed) >= 0 {
			res.Install = append(res.Install, Candidate{Name: u.Name, EVR: b})
			continue
		}
		res.Unresolved = append(res.Unresolved, distros.Unresolved{Name: u.Name, Want: u.Fixed, Best: b})
	}
	return res
}

// ParsePlan reads the step's plan input: "NAME FIXED" lines, checked
// again against rpm's grammar.
func ParsePlan(dt []byte) ([]distros.Update, error) {
	v := rpm.Versioning{}
	var out []distros.Update
	for i, line := range bytes.Split(dt, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("plan line %d: want NAME FIXED", i+1)
		}
		if err := v.ValidName(f[0]); err != nil {
			return nil, fmt.Errorf("plan line %d: %w", i+1, err)
		}
		if err := v.ValidVersion(f[1]); err != nil {
			return nil, fmt.Errorf("plan line %d: %w", i+1, err)
		}
		out = append(out, distros.Update{Name: f[0], Fixed: f[1]})
	}
	return out, nil
}
