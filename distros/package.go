package distros

import (
	"maps"
	"slices"
	"strings"
)

// Package is one installed package as a format's database records it. A
// name can have several records: one per architecture (dpkg's multi-arch,
// rpm's multilib) and, for packages a package manager keeps side by side
// (rpm's kernel, gpg-pubkey), one per installed version.
type Package struct {
	Name    string
	Arch    string // the package's own architecture as its format names it ("amd64", "all", "x86_64", "noarch"); "" when the database does not say
	Version string
	Source  string // the source package it was built from; "" when it is the package's own name or unknown
}

// Packages are the installed packages of one image.
type Packages []Package

// Has reports whether a package of that name is installed.
func (ps Packages) Has(name string) bool {
	return slices.ContainsFunc(ps, func(p Package) bool { return p.Name == name })
}

// Version is the version of name that decides whether it is still
// vulnerable, and whether it is installed at all. For each architecture
// the newest installed version counts (older copies of packages installed
// side by side stay by design); across architectures the lowest counts, so
// that one fixed architecture never hides another that is still behind.
func (ps Packages) Version(v Versioning, name string) (string, bool) {
	newest := map[string]string{} // arch → newest version
	for _, p := range ps {
		if p.Name != name {
			continue
		}
		if cur, ok := newest[p.Arch]; !ok || v.Compare(p.Version, cur) > 0 {
			newest[p.Arch] = p.Version
		}
	}
	if len(newest) == 0 {
		return "", false
	}
	var low string
	for _, arch := range slices.Sorted(maps.Keys(newest)) {
		if ver := newest[arch]; low == "" || v.Compare(ver, low) < 0 {
			low = ver
		}
	}
	return low, true
}

// Versions maps every installed name to its Version. It groups the records
// by name in one pass, so that planning against thousands of packages stays
// linear rather than scanning every record once per name.
func (ps Packages) Versions(v Versioning) map[string]string {
	type key struct{ name, arch string }
	newest := map[key]string{} // newest version per name and arch
	for _, p := range ps {
		k := key{p.Name, p.Arch}
		if cur, ok := newest[k]; !ok || v.Compare(p.Version, cur) > 0 {
			newest[k] = p.Version
		}
	}
	// Then the lowest across architectures, taken in architecture order as
	// Version does, so that versions which compare equal but are spelt
	// differently give the same answer.
	keys := slices.SortedFunc(maps.Keys(newest), func(a, b key) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.arch, b.arch)
	})
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if low, ok := out[k.name]; !ok || v.Compare(newest[k], low) < 0 {
			out[k.name] = newest[k]
		}
	}
	return out
}

// Arch is the architecture of name's records when they all agree, else "".
func (ps Packages) Arch(name string) string {
	arch, seen := "", false
	for _, p := range ps {
		if p.Name != name {
			continue
		}
		if seen && p.Arch != arch {
			return ""
		}
		arch, seen = p.Arch, true
	}
	return arch
}

// Sorted returns the packages ordered by name, architecture and version
// text, for stable output.
func (ps Packages) Sorted() Packages {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b Package) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Arch, b.Arch); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	return out
}
