package apk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/report"
	"github.com/copa/frontend/internal/fuzzseed"
)

// apkFixtures are the reports of the shared fixtures
// (../shared/fixtures/reports) that scanned apk images, and the family
// Report.Family gives each. Every report with apk packages must be listed,
// so that a new one is looked at.
var apkFixtures = map[string]string{
	"trivy/alpine-3.10.2.json":                          "alpine",
	"trivy/alpine-3.16-distroless.json":                 "alpine",
	"trivy/alpine-3.19.1-realworld-plus-node-pkg.json":  "alpine",
	"trivy/alpine-3.21.0.json":                          "alpine",
	"trivy/alpine-3.21.3-plus-node-pkg-lang.json":       "alpine", // no apk findings: only its OS says it
	"grype/alpine-3.18.3-apk-plus-go_grype-0.71.0.json": "alpine",
	"grype/wolfi-apk-plus-gem_grype-0.61.1.json":        "wolfi",
}

// rawReport is what the fixture tests read of a report themselves, apart
// from the report reader: Trivy's OS, results and package URLs, Grype's
// distro, artifacts and namespaces.
type rawReport struct {
	Metadata struct {
		OS *struct{ Family, Name string }
	}
	Results []struct {
		Class, Type     string
		Vulnerabilities []struct {
			PkgName, InstalledVersion string
			PkgIdentifier             struct{ PURL string }
		}
		Packages []struct {
			Name, Version, Arch string
			Identifier          struct{ PURL string }
		}
	}
	Distro *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"distro"`
	Matches []grypeMatch `json:"matches"`
}

type grypeMatch struct {
	Artifact struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Type    string `json:"type"`
		PURL    string `json:"purl"`
	} `json:"artifact"`
	Vulnerability struct {
		Namespace string `json:"namespace"`
	} `json:"vulnerability"`
}

// purls are the report's package URLs of OS packages.
func (r rawReport) purls() []string {
	var out []string
	for _, res := range r.Results {
		if res.Class != "" && res.Class != "os-pkgs" {
			continue
		}
		for _, v := range res.Vulnerabilities {
			out = append(out, v.PkgIdentifier.PURL)
		}
		for _, p := range res.Packages {
			out = append(out, p.Identifier.PURL)
		}
	}
	for _, m := range r.Matches {
		out = append(out, m.Artifact.PURL)
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// hasAPK reports whether the report lists apk packages.
func (r rawReport) hasAPK() bool {
	return slices.ContainsFunc(r.purls(), func(p string) bool { return strings.HasPrefix(p, "pkg:apk/") }) ||
		slices.ContainsFunc(r.Matches, func(m grypeMatch) bool { return m.Artifact.Type == "apk" })
}

type fixture struct {
	name string // "trivy/x.json"
	data []byte
	raw  rawReport
}

// reportFixtures reads the Trivy and Grype reports of the shared
// fixtures. When they are absent the test is skipped, except under CI or
// COPA_REQUIRE_HARNESS, where the mapping must be checked against them.
func reportFixtures(t *testing.T) []fixture {
	t.Helper()
	dir := fuzzseed.Dir()
	if dir == "" {
		const msg = "no ../shared/fixtures beside the repository"
		if os.Getenv("CI") != "" || os.Getenv("COPA_REQUIRE_HARNESS") != "" {
			t.Fatal(msg + "; under CI or COPA_REQUIRE_HARNESS a skip would prove nothing")
		}
		t.Skip(msg)
	}
	var out []fixture
	for _, scanner := range []string{"trivy", "grype"} {
		files, err := filepath.Glob(filepath.Join(dir, "reports", scanner, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fx := fixture{name: scanner + "/" + filepath.Base(f), data: data}
			if len(data) > 0 && data[0] == '{' {
				if err := json.Unmarshal(data, &fx.raw); err != nil {
					t.Fatalf("%s: %v", fx.name, err)
				}
			}
			out = append(out, fx)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no reports in %s/reports", dir)
	}
	return out
}

// distroOfFamily is the distro of this format a report family names.
func distroOfFamily(family string) (distros.Distro, bool) {
	for _, d := range (Format{}).Distros() {
		if slices.Contains(d.Families, family) {
			return d, true
		}
	}
	return distros.Distro{}, false
}

// TestFixtureFamilies holds Distros to the fixtures: every report of an
// apk image has a family (Trivy's Metadata.OS.Family and os-pkgs Type,
// Grype's distro.name and the distro of its namespaces) that names a
// distro of this format, whose namespace its package URLs carry; no
// other report's does.
func TestFixtureFamilies(t *testing.T) {
	found := map[string]bool{}
	for _, fx := range reportFixtures(t) {
		want, listed := apkFixtures[fx.name]
		rep, err := report.Parse(fx.data)
		if !listed {
			if fx.raw.hasAPK() {
				t.Errorf("%s lists apk packages but is not in apkFixtures", fx.name)
			}
			if err == nil {
				if d, ok := distroOfFamily(rep.Family); ok {
					t.Errorf("%s: family %q is apk's %s, but the report has no apk packages", fx.name, rep.Family, d.ID)
				}
			}
			continue
		}
		found[fx.name] = true
		if err != nil {
			t.Errorf("%s: %v", fx.name, err)
			continue
		}
		if rep.Family != want {
			t.Errorf("%s: Report.Family %q, want %q", fx.name, rep.Family, want)
		}
		d, ok := distroOfFamily(rep.Family)
		if !ok {
			t.Errorf("%s: family %q is no distro of the apk format", fx.name, rep.Family)
			continue
		}
		if !d.Matches(distros.OSRelease{ID: d.ID}) {
			t.Errorf("%s: distro %+v does not match its own ID", fx.name, d)
		}

		// The scanners' own words for the distro.
		names := map[string]string{} // what the report says → where
		if o := fx.raw.Metadata.OS; o != nil {
			names[o.Family] = "Metadata.OS.Family"
		}
		for _, res := range fx.raw.Results {
			if res.Class == "os-pkgs" {
				names[res.Type] = "os-pkgs Type"
			}
		}
		if fx.raw.Distro != nil {
			names[fx.raw.Distro.Name] = "distro.name"
		}
		for _, m := range fx.raw.Matches {
			if ns := strings.Split(m.Vulnerability.Namespace, ":"); m.Artifact.Type == "apk" && len(ns) == 4 && ns[1] == "distro" {
				names[ns[2]] = "the distro of namespace " + m.Vulnerability.Namespace
			}
		}
		if len(names) == 0 {
			t.Errorf("%s: the report names no OS", fx.name)
		}
		for name, where := range names {
			if !slices.Contains(d.Families, strings.ToLower(name)) {
				t.Errorf("%s: %s %q is not a family of %s (%q)", fx.name, where, name, d.ID, d.Families)
			}
		}
		for _, p := range fx.raw.purls() {
			if ns, _, _ := strings.Cut(strings.TrimPrefix(p, "pkg:apk/"), "/"); strings.HasPrefix(p, "pkg:apk/") && ns != d.Namespace {
				t.Errorf("%s: %s is not in %s's namespace %q", fx.name, p, d.ID, d.Namespace)
			}
		}
	}
	for name := range apkFixtures {
		if !found[name] {
			t.Errorf("%s is not in the fixtures", name)
		}
	}

	// SCHEMA.md 1.7: the families Trivy and Grype give apk distros, with
	// no legacy spellings; minimos is one of Trivy's others.
	for _, fam := range []string{"alpine", "wolfi", "chainguard", "minimos"} {
		if _, ok := distroOfFamily(fam); !ok {
			t.Errorf("family %q is no distro of the apk format", fam)
		}
	}
}

// TestFixturePackageURLs writes the package URL of every apk package of
// the Trivy fixtures, from its name, version and architecture and the
// report's OS, and compares it with Trivy's. Grype writes its own
// (distro=alpine-3.18.3, upstream=…), which VEX need not match.
func TestFixturePackageURLs(t *testing.T) {
	n := 0
	for _, fx := range reportFixtures(t) {
		if _, listed := apkFixtures[fx.name]; !listed || !strings.HasPrefix(fx.name, "trivy/") {
			continue
		}
		o := fx.raw.Metadata.OS
		d, ok := distroOfFamily(o.Family)
		if !ok {
			t.Fatalf("%s: family %q", fx.name, o.Family)
		}
		osr := distros.OSRelease{ID: d.ID, VersionID: o.Name}
		check := func(name, version, arch, purl string) {
			if purl == "" {
				return
			}
			if arch == "" { // Vulnerabilities[] carry no arch but their purl's
				pu, err := packageurl.FromString(purl)
				if err != nil {
					t.Fatalf("%s: %s: %v", fx.name, purl, err)
				}
				arch = pu.Qualifiers.Map()["arch"]
			}
			n++
			got := Format{}.PackageURL(distros.PURLTarget{OS: osr}, distros.Package{Name: name, Version: version, Arch: arch})
			if got != purl {
				t.Errorf("%s: %s %s:\n got %s\nwant %s", fx.name, name, version, got, purl)
			}
		}
		for _, res := range fx.raw.Results {
			if res.Class != "os-pkgs" {
				continue
			}
			for _, v := range res.Vulnerabilities {
				check(v.PkgName, v.InstalledVersion, "", v.PkgIdentifier.PURL)
			}
			for _, p := range res.Packages {
				check(p.Name, p.Version, p.Arch, p.Identifier.PURL)
			}
		}
	}
	if n == 0 {
		t.Error("no apk package URLs in the Trivy fixtures")
	}
}

// TestPackageURL writes package URLs as Trivy does (SCHEMA.md 1.5): the
// distro qualifier is the release alone, the arch apk's.
func TestPackageURL(t *testing.T) {
	tests := []struct {
		osr  distros.OSRelease
		pkg  distros.Package
		want string
	}{
		// From the Trivy fixtures.
		{distros.OSRelease{ID: "alpine", VersionID: "3.19.1"}, distros.Package{Name: "busybox", Version: "1.36.1-r15", Arch: "x86_64"},
			"pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1"},
		{distros.OSRelease{ID: "alpine", VersionID: "3.19.1"}, distros.Package{Name: "ssl_client", Version: "1.36.1-r15", Arch: "x86_64"},
			"pkg:apk/alpine/ssl_client@1.36.1-r15?arch=x86_64&distro=3.19.1"},
		{distros.OSRelease{ID: "alpine", VersionID: "3.16"}, distros.Package{Name: "git", Version: "2.35.1-r2", Arch: "x86_64"},
			"pkg:apk/alpine/git@2.35.1-r2?arch=x86_64&distro=3.16"},
		{distros.OSRelease{ID: "alpine", VersionID: "3.10.2"}, distros.Package{Name: "libcrypto1.1", Version: "1.1.1c-r0", Arch: "x86_64"},
			"pkg:apk/alpine/libcrypto1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2"},
		{distros.OSRelease{ID: "alpine", VersionID: "3.21.0"}, distros.Package{Name: "musl-utils", Version: "1.2.5-r8", Arch: "x86_64", Source: "musl"},
			"pkg:apk/alpine/musl-utils@1.2.5-r8?arch=x86_64&distro=3.21.0"},
		// Wolfi in Trivy's shape (SCHEMA.md 1.2: its release is a date);
		// the Grype fixture's package, on arm64.
		{distros.OSRelease{ID: "wolfi", VersionID: "20230201"}, distros.Package{Name: "ruby-3.0", Version: "3.0.4-r1", Arch: "aarch64"},
			"pkg:apk/wolfi/ruby-3.0@3.0.4-r1?arch=aarch64&distro=20230201"},
		{distros.OSRelease{ID: "chainguard", VersionID: "20230214"}, distros.Package{Name: "glibc", Version: "2.37-r1", Arch: "x86_64"},
			"pkg:apk/chainguard/glibc@2.37-r1?arch=x86_64&distro=20230214"},
		// A derivative is its parent's; '+' is percent-encoded, as Trivy's
		// packageurl-go does; without an arch or release no qualifier.
		{distros.OSRelease{ID: "postmarketos", IDLike: []string{"alpine"}, VersionID: "24.12"}, distros.Package{Name: "libstdc++", Version: "14.2.0-r4", Arch: "aarch64"},
			"pkg:apk/alpine/libstdc%2B%2B@14.2.0-r4?arch=aarch64&distro=24.12"},
		{distros.OSRelease{ID: "alpine"}, distros.Package{Name: "busybox", Version: "1.37.0-r12"},
			"pkg:apk/alpine/busybox@1.37.0-r12"},
		{distros.OSRelease{ID: "alpine", VersionID: "3.21.3"}, distros.Package{Name: "tzdata", Version: "2025a-r0", Arch: "noarch"},
			"pkg:apk/alpine/tzdata@2025a-r0?arch=noarch&distro=3.21.3"},
	}
	for _, tt := range tests {
		if got := (Format{}).PackageURL(distros.PURLTarget{OS: tt.osr}, tt.pkg); got != tt.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tt.osr, tt.pkg.Name, got, tt.want)
		}
	}
}
