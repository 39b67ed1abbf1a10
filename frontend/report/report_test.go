package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtures is the shared report corpus; CI checks out shared/ beside the repo,
// so the same relative path works there and in the dev tree.
const fixtures = "../../../shared/fixtures/reports"

type tuple struct{ pkg, installed, fixed, id string }

func TestParseTrivyFixtures(t *testing.T) {
	tests := map[string]struct {
		family, osVersion, arch string
		findings, fixed, lang   int
		tuples                  []tuple // exact findings, in order; nil = not checked
	}{
		"alma-8.5.json":                              {family: "alma", osVersion: "8.5", arch: "amd64", findings: 1, fixed: 1},
		"alpine-3.10.2.json":                         {family: "alpine", osVersion: "3.10.2", arch: "amd64", findings: 4, fixed: 4},
		"alpine-3.16-distroless.json":                {family: "alpine", osVersion: "3.16", arch: "amd64", findings: 1, fixed: 1},
		"alpine-3.19.1-realworld-plus-node-pkg.json": {family: "alpine", osVersion: "3.19.1", arch: "amd64", findings: 24, fixed: 24, lang: 5},
		"alpine-3.21.0.json": {family: "alpine", osVersion: "3.21.0", arch: "amd64", findings: 6, fixed: 6, tuples: []tuple{
			{"libcrypto3", "3.3.2-r4", "3.3.3-r0", "CVE-2024-12797"},
			{"libcrypto3", "3.3.2-r4", "3.3.2-r5", "CVE-2024-13176"},
			{"libssl3", "3.3.2-r4", "3.3.3-r0", "CVE-2024-12797"},
			{"libssl3", "3.3.2-r4", "3.3.2-r5", "CVE-2024-13176"},
			{"musl", "1.2.5-r8", "1.2.5-r9", "CVE-2025-26519"},
			{"musl-utils", "1.2.5-r8", "1.2.5-r9", "CVE-2025-26519"},
		}},
		// os-pkgs result without Vulnerabilities; only language findings.
		"alpine-3.21.3-plus-node-pkg-lang.json": {family: "alpine", osVersion: "3.21.3", arch: "amd64", findings: 0, fixed: 0, lang: 8},
		// Same package twice with different fixes: both kept, in order.
		"amazon-2.json": {family: "amazon", osVersion: "2 (Karoo)", arch: "amd64", findings: 2, fixed: 2, tuples: []tuple{
			{"curl", "7.61.1-9.amzn2.0.1", "7.61.1-12.amzn2.0.1", "CVE-2019-5481"},
			{"curl", "7.61.1-9.amzn2.0.1", "7.61.1-11.amzn2.0.2", "CVE-2019-5436"},
		}},
		"cbl-mariner-1.0.json": {family: "cbl-mariner", osVersion: "1.0", arch: "amd64", findings: 2, fixed: 1, tuples: []tuple{
			{"vim", "8.2.4081-1.cm1", "", "CVE-2022-0261"},
			{"vim", "8.2.4081-1.cm1", "8.2.4082-1.cm1", "CVE-2022-0158"},
		}},
		"cbl-mariner-2.0-distroless-arm64.json": {family: "cbl-mariner", osVersion: "2.0.20220527", arch: "arm64", findings: 41, fixed: 41},
		"centos-7.6.json": {family: "centos", osVersion: "7.6.1810", arch: "amd64", findings: 3, fixed: 2, tuples: []tuple{
			{"bash", "4.2.46-31.el7", "", "CVE-2019-18276"},
			{"openssl-libs", "1:1.0.2k-16.el7", "1:1.0.2k-19.el7", "CVE-2019-1559"},
			{"openssl-libs", "1:1.0.2k-16.el7", "1:1.0.2k-19.el7", "CVE-2018-0734"},
		}},
		"debian-10.1-buster.json": {family: "debian", osVersion: "10.1", arch: "amd64", findings: 2, fixed: 1, tuples: []tuple{
			{"bash", "5.0-4", "", "CVE-2019-18276"},
			{"libidn2-0", "2.0.5-1", "2.0.5-1+deb10u1", "CVE-2019-18224"},
		}},
		"debian-10.2-plus-gemspec-lang-multi-fixedversion.json": {family: "debian", osVersion: "10.2", arch: "amd64", findings: 1, fixed: 1, lang: 1, tuples: []tuple{
			{"libidn2-0", "2.0.5-1", "2.0.5-1+deb10u1", "CVE-2019-18224"},
		}},
		// SBOM scan: ImageConfig.architecture is "" although the packages are arm64.
		"debian-12.5-from-sbom-packages-srcname-no-vulns.json": {family: "debian", osVersion: "12.5", arch: "", findings: 0, fixed: 0, tuples: []tuple{}},
		"distroless-base-debian-9.9.json": {family: "debian", osVersion: "9.9", arch: "amd64", findings: 4, fixed: 2, tuples: []tuple{
			{"libssl1.1", "1.1.0k-1~deb9u1", "", "CVE-2019-1551"},
			{"libssl1.1", "1.1.0k-1~deb9u1", "1.1.0l-1~deb9u1", "CVE-2019-1563"},
			{"openssl", "1.1.0k-1~deb9u1", "", "CVE-2019-1551"},
			{"openssl", "1.1.0k-1~deb9u1", "1.1.0l-1~deb9u1", "CVE-2019-1563"},
		}},
		// Family "none" and no Results: valid, nothing to patch.
		"edge-os-family-none-no-results.json": {family: "", osVersion: "", arch: "amd64", findings: 0, fixed: 0, tuples: []tuple{}},
		"opensuse-leap-15.1-legacy-type.json": {family: "opensuse-leap", osVersion: "15.1", arch: "amd64", findings: 2, fixed: 2, tuples: []tuple{
			{"libopenssl1_1", "1.1.0i-lp151.8.3.1", "1.1.0i-lp151.8.6.1", "openSUSE-SU-2020:0062-1"},
			{"openssl-1_1", "1.1.0i-lp151.8.3.1", "1.1.0i-lp151.8.6.1", "openSUSE-SU-2020:0062-1"},
		}},
		"opensuse-leap-15.1.json": {family: "opensuse-leap", osVersion: "15.1", arch: "amd64", findings: 2, fixed: 2, tuples: []tuple{
			{"libopenssl1_1", "1.1.0i-lp151.8.3.1", "1.1.0i-lp151.8.6.1", "openSUSE-SU-2020:0062-1"},
			{"openssl-1_1", "1.1.0i-lp151.8.3.1", "1.1.0i-lp151.8.6.1", "openSUSE-SU-2020:0062-1"},
		}},
		"opensuse-tumbleweed.json": {family: "opensuse-tumbleweed", osVersion: "20240607", arch: "amd64", findings: 1, fixed: 1},
		"oracle-8.0.json":          {family: "oracle", osVersion: "8.0", arch: "amd64", findings: 2, fixed: 2},
		"photon-3.0.json":          {family: "photon", osVersion: "3.0", arch: "amd64", findings: 3, fixed: 3},
		// Only an unfixed OS finding; the fixable one is a language package.
		"redhat-ubi-7.7-unfixed-os-plus-python-lang.json": {family: "redhat", osVersion: "7.7", arch: "amd64", findings: 1, fixed: 0, lang: 1},
		"rocky-8.5.json": {family: "rocky", osVersion: "8.5", arch: "amd64", findings: 1, fixed: 1, tuples: []tuple{
			{"openssl-libs", "1:1.1.1k-4.el8", "1:1.1.1k-5.el8_5", "CVE-2021-3712"},
		}},
		"slem-5.4-no-vulns.json": {family: "slem", osVersion: "5.4", arch: "amd64", findings: 0, fixed: 0, tuples: []tuple{}},
		// Legacy family "suse linux enterprise server", VM scan without architecture.
		"sles-15.4-vm-legacy-type.json": {family: "sles", osVersion: "15.4", arch: "", findings: 2, fixed: 2, tuples: []tuple{
			{"bind-utils", "9.16.20-150400.3.6", "9.16.31-150400.5.6.1", "SUSE-SU-2022:2713-1"},
			{"python3-bind", "9.16.20-150400.3.6", "9.16.31-150400.5.6.1", "SUSE-SU-2022:2713-1"},
		}},
		"ubuntu-18.04.json": {family: "ubuntu", osVersion: "18.04", arch: "amd64", findings: 5, fixed: 4, tuples: []tuple{
			{"bash", "4.4.18-2ubuntu1.2", "", "CVE-2019-18276"},
			{"e2fsprogs", "1.44.1-1ubuntu1.1", "1.44.1-1ubuntu1.2", "CVE-2019-5094"},
			{"libcom-err2", "1.44.1-1ubuntu1.1", "1.44.1-1ubuntu1.2", "CVE-2019-5094"},
			{"libext2fs2", "1.44.1-1ubuntu1.1", "1.44.1-1ubuntu1.2", "CVE-2019-5094"},
			{"libss2", "1.44.1-1ubuntu1.1", "1.44.1-1ubuntu1.2", "CVE-2019-5094"},
		}},
	}

	dir := filepath.Join(fixtures, "trivy")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("fixtures not found (shared/ must sit beside the repo): %v", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("fixture %s has no expectations; add it to the table", name)
			}
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := ReadFile(f)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if rep.Format != FormatTrivy {
				t.Errorf("Format = %q, want %q", rep.Format, FormatTrivy)
			}
			if rep.Family != want.family {
				t.Errorf("Family = %q, want %q", rep.Family, want.family)
			}
			if rep.OSVersion != want.osVersion {
				t.Errorf("OSVersion = %q, want %q", rep.OSVersion, want.osVersion)
			}
			if rep.Arch != want.arch {
				t.Errorf("Arch = %q, want %q", rep.Arch, want.arch)
			}
			if len(rep.Findings) != want.findings {
				t.Errorf("len(Findings) = %d, want %d", len(rep.Findings), want.findings)
			}
			fixed := 0
			for _, f := range rep.Findings {
				if f.FixedVersion != "" {
					fixed++
				}
				if f.Package == "" || f.InstalledVersion == "" || f.VulnerabilityID == "" || !strings.HasPrefix(f.Entry, "Results[") {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if fixed != want.fixed {
				t.Errorf("findings with a FixedVersion = %d, want %d", fixed, want.fixed)
			}
			if rep.SkippedLanguageFindings != want.lang {
				t.Errorf("SkippedLanguageFindings = %d, want %d", rep.SkippedLanguageFindings, want.lang)
			}
			if want.tuples != nil {
				got := []tuple{}
				for _, f := range rep.Findings {
					got = append(got, tuple{f.Package, f.InstalledVersion, f.FixedVersion, f.VulnerabilityID})
				}
				if !reflect.DeepEqual(got, want.tuples) {
					t.Errorf("findings:\n got %q\nwant %q", got, want.tuples)
				}
			}
		})
	}
	for name := range tests {
		if !seen[name] {
			t.Errorf("table lists %s but the fixture directory does not have it", name)
		}
	}
}

func TestFindingEntry(t *testing.T) {
	rep := mustParseFile(t, "trivy/debian-10.1-buster.json")
	want := "Results[0].Vulnerabilities[1] (CVE-2019-18224, libidn2-0)"
	if got := rep.Findings[1].Entry; got != want {
		t.Errorf("Entry = %q, want %q", got, want)
	}
}

func TestParseGrypeFixtures(t *testing.T) {
	tests := map[string]struct {
		err                     string // refused, with this in the error
		family, osVersion, arch string
		findings, fixed, lang   int
		tuples                  []tuple // exact findings, in order; nil = not checked
	}{
		// 7 apk matches from the alpine feed; 11 apk matches by NVD CPE
		// and 15 go-module matches are not OS matches.
		"alpine-3.18.3-apk-plus-go_grype-0.71.0.json": {family: "alpine", osVersion: "3.18.3", arch: "amd64", findings: 7, fixed: 7, lang: 26, tuples: []tuple{
			{"curl", "8.2.1-r0", "8.3.0-r0", "CVE-2023-38039"},
			{"curl", "8.2.1-r0", "8.4.0-r0", "CVE-2023-38546"},
			{"curl", "8.2.1-r0", "8.4.0-r0", "CVE-2023-38545"},
			{"libcurl", "8.2.1-r0", "8.3.0-r0", "CVE-2023-38039"},
			{"libcurl", "8.2.1-r0", "8.4.0-r0", "CVE-2023-38546"},
			{"libcurl", "8.2.1-r0", "8.4.0-r0", "CVE-2023-38545"},
			{"nghttp2-libs", "1.55.1-r0", "1.57.0-r0", "CVE-2023-44487"},
		}},
		// Old namespace form "debian:10"; state not-fixed.
		"debian-10-deb-notfixed_grype-0.36.0.json": {family: "debian", osVersion: "10", arch: "amd64", findings: 2, fixed: 0, tuples: []tuple{
			{"libc6", "2.28-10", "", "CVE-2021-33574"},
			{"libc6", "2.28-10", "", "CVE-2021-33574"},
		}},
		"debian-10-deb-plus-python_grype-0.7.0-legacy-schema.json": {err: "matches[0]: this Grype report is from before Grype v0.13.0"},
		// 19 fixed, 11 not-fixed and 1 wont-fix from the redhat feed; one
		// rpm and three java matches by NVD CPE.
		"redhat-8.7-rpm-plus-java_grype-0.96.0.json": {family: "redhat", osVersion: "8.7", arch: "amd64", findings: 31, fixed: 19, lang: 4},
		"redhat-9.1-rpm-wontfix_grype-0.66.0.json":   {family: "redhat", osVersion: "9.1", arch: "amd64", findings: 6, fixed: 0},
		"wolfi-apk-plus-gem_grype-0.61.1.json": {family: "wolfi", osVersion: "20221118", arch: "arm64", findings: 1, fixed: 1, lang: 2, tuples: []tuple{
			{"ruby-3.0", "3.0.4-r1", "3.0.6-r0", "CVE-2023-28755"},
		}},
	}

	dir := filepath.Join(fixtures, "grype")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("fixtures not found (shared/ must sit beside the repo): %v", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("fixture %s has no expectations; add it to the table", name)
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(data)
			if want.err != "" {
				if err == nil || !strings.Contains(err.Error(), want.err) {
					t.Fatalf("err = %v, want it to contain %q", err, want.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if rep.Format != FormatGrype {
				t.Errorf("Format = %q, want %q", rep.Format, FormatGrype)
			}
			if rep.Family != want.family || rep.OSVersion != want.osVersion || rep.Arch != want.arch {
				t.Errorf("family/version/arch = %q %q %q, want %q %q %q", rep.Family, rep.OSVersion, rep.Arch, want.family, want.osVersion, want.arch)
			}
			if len(rep.Findings) != want.findings {
				t.Errorf("len(Findings) = %d, want %d", len(rep.Findings), want.findings)
			}
			fixed := 0
			for _, f := range rep.Findings {
				if f.FixedVersion != "" {
					fixed++
				}
				if f.Package == "" || f.InstalledVersion == "" || f.VulnerabilityID == "" || !strings.HasPrefix(f.Entry, "matches[") {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if fixed != want.fixed {
				t.Errorf("findings with a FixedVersion = %d, want %d", fixed, want.fixed)
			}
			if rep.SkippedLanguageFindings != want.lang {
				t.Errorf("SkippedLanguageFindings = %d, want %d", rep.SkippedLanguageFindings, want.lang)
			}
			if want.tuples != nil {
				got := []tuple{}
				for _, f := range rep.Findings {
					got = append(got, tuple{f.Package, f.InstalledVersion, f.FixedVersion, f.VulnerabilityID})
				}
				if !reflect.DeepEqual(got, want.tuples) {
					t.Errorf("findings:\n got %q\nwant %q", got, want.tuples)
				}
			}
		})
	}
	for name := range tests {
		if !seen[name] {
			t.Errorf("table lists %s but the fixture directory does not have it", name)
		}
	}
}

func TestGrypeEntryAndEpoch(t *testing.T) {
	rep := mustParseFile(t, "grype/redhat-8.7-rpm-plus-java_grype-0.96.0.json")
	f := rep.Findings[0]
	want := Finding{Package: "avahi-libs", InstalledVersion: "0.7-20.el8", FixedVersion: "0:0.7-21.el8_9.1", VulnerabilityID: "CVE-2023-38473", Entry: "matches[0] (CVE-2023-38473, avahi-libs)"}
	if f != want {
		t.Errorf("Findings[0] = %+v\nwant %+v", f, want)
	}
}

// grypeDoc builds a minimal Grype report around matches.
func grypeDoc(distro, matches string) string {
	d := `null`
	if distro != "" {
		d = fmt.Sprintf(`{"name":%q,"version":"1"}`, distro)
	}
	return fmt.Sprintf(`{"matches":%s,"source":{"type":"image","target":{"architecture":"arm64"}},"distro":%s,"descriptor":{"name":"grype","version":"0.100.0"}}`, matches, d)
}

func grypeMatchJSON(typ, ns, name, version, id, state string, fixes ...string) string {
	fv, _ := json.Marshal(fixes)
	if fixes == nil {
		fv = []byte("[]")
	}
	return fmt.Sprintf(`{"vulnerability":{"id":%q,"namespace":%q,"fix":{"versions":%s,"state":%q}},"matchDetails":[],"artifact":{"name":%q,"version":%q,"type":%q}}`, id, ns, fv, state, name, version, typ)
}

func TestParseGrype(t *testing.T) {
	deb := func(name, state string, fixes ...string) string {
		return grypeMatchJSON("deb", "debian:distro:debian:12", name, "1.0-1", "CVE-1", state, fixes...)
	}
	tests := []struct {
		name, doc    string
		family, arch string
		fixed        []string // FixedVersion of each finding
		lang         int
	}{
		{"fixed", grypeDoc("debian", "["+deb("a", "fixed", "1.0-2")+"]"), "debian", "arm64", []string{"1.0-2"}, 0},
		{"several fix versions", grypeDoc("debian", "["+deb("a", "fixed", "1.0-2", "1.1-1")+"]"), "debian", "arm64", []string{"1.0-2, 1.1-1"}, 0},
		{"fixed without versions", grypeDoc("debian", "["+deb("a", "fixed")+"]"), "debian", "arm64", []string{""}, 0},
		{"not-fixed with versions", grypeDoc("debian", "["+deb("a", "not-fixed", "1.0-2")+"]"), "debian", "arm64", []string{""}, 0},
		{"wont-fix", grypeDoc("debian", "["+deb("a", "wont-fix")+"]"), "debian", "arm64", []string{""}, 0},
		{"unknown", grypeDoc("debian", "["+deb("a", "unknown")+"]"), "debian", "arm64", []string{""}, 0},
		{"empty state", grypeDoc("debian", "["+deb("a", "", "1.0-2")+"]"), "debian", "arm64", []string{""}, 0},
		{"old namespace form", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:10", "a", "1", "CVE-1", "fixed", "2")+"]"), "debian", "arm64", []string{"2"}, 0},
		{"os package matched by CPE", grypeDoc("alpine", "["+grypeMatchJSON("apk", "nvd:cpe", "busybox", "1.36.1-r2", "CVE-1", "fixed", "1.37")+"]"), "alpine", "arm64", nil, 1},
		{"old nvd namespace", grypeDoc("alpine", "["+grypeMatchJSON("apk", "nvd", "busybox", "1.36.1-r2", "CVE-1", "unknown")+"]"), "alpine", "arm64", nil, 1},
		{"language package", grypeDoc("alpine", "["+grypeMatchJSON("go-module", "github:language:go", "x", "1", "GHSA-1", "fixed", "2")+"]"), "alpine", "arm64", nil, 1},
		{"old language namespace", grypeDoc("alpine", "["+grypeMatchJSON("python", "github:python", "x", "1", "GHSA-1", "fixed", "2")+"]"), "alpine", "arm64", nil, 1},
		{"other os package type", grypeDoc("archlinux", "["+grypeMatchJSON("alpm", "archlinux:distro:archlinux:rolling", "x", "1", "CVE-1", "fixed", "2")+"]"), "archlinux", "arm64", nil, 1},
		{"no matches", grypeDoc("", "[]"), "", "arm64", nil, 0},
		{"null matches", grypeDoc("ubuntu", "null"), "ubuntu", "arm64", nil, 0},
		{"language only without distro", grypeDoc("", "["+grypeMatchJSON("npm", "github:language:javascript", "x", "1", "GHSA-1", "fixed", "2")+"]"), "", "arm64", nil, 1},
		{"directory scan", `{"matches":[],"source":{"type":"directory","target":"/src"},"distro":{"name":"rockylinux","version":"9.3"},"descriptor":{"name":"grype"}}`, "rocky", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			var fixed []string
			for _, f := range rep.Findings {
				fixed = append(fixed, f.FixedVersion)
			}
			if rep.Format != FormatGrype || rep.Family != tt.family || rep.Arch != tt.arch || !reflect.DeepEqual(fixed, tt.fixed) || rep.SkippedLanguageFindings != tt.lang {
				t.Errorf("got %s family %q arch %q fixed %q lang %d; want family %q arch %q fixed %q lang %d",
					rep.Format, rep.Family, rep.Arch, fixed, rep.SkippedLanguageFindings, tt.family, tt.arch, tt.fixed, tt.lang)
			}
		})
	}
}

func TestGrypeFamily(t *testing.T) {
	tests := map[string]string{
		"rockylinux": "rocky", "almalinux": "alma", "oraclelinux": "oracle", "amazonlinux": "amazon",
		"mariner": "cbl-mariner", "azurelinux": "azurelinux", "opensuseleap": "opensuse-leap", "opensuse-leap": "opensuse-leap",
		"sles": "sles", "redhat": "redhat", "rhel": "redhat", "centos": "centos", "debian": "debian", "ubuntu": "ubuntu",
		"alpine": "alpine", "wolfi": "wolfi", "chainguard": "chainguard", "photon": "photon", "RockyLinux ": "rocky",
		"gentoo": "gentoo", "": "",
	}
	for in, want := range tests {
		if got := grypeFamily(in); got != want {
			t.Errorf("grypeFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseGrypeErrors(t *testing.T) {
	long := strings.Repeat("a", maxFieldLen+1)
	ok := grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1", "CVE-1", "fixed", "2")
	tests := []struct {
		name, input, want string
	}{
		{"legacy matchDetails object", grypeDoc("debian", `[{"vulnerability":{"id":"CVE-1","fix":{"state":"fixed","versions":["2"]}},"matchDetails":{"matcher":"dpkg-matcher"},"artifact":{"name":"a","version":"1","type":"deb"}}]`),
			"matches[0]: this Grype report is from before Grype v0.13.0"},
		{"no fix", grypeDoc("debian", "["+ok+`,{"vulnerability":{"id":"CVE-1"},"matchDetails":[],"artifact":{"name":"a","version":"1","type":"deb"}}]`),
			"matches[1]: this Grype report is from before Grype v0.13.0 (June 2021): it has no vulnerability.fix"},
		{"matches not array", grypeDoc("debian", `{}`), "matches is not a JSON array"},
		{"wrong type", grypeDoc("debian", `[{"artifact":{"name":1}}]`), "matches[0].artifact.name should be a JSON string, not number; the report does not follow Grype's JSON schema"},
		{"fix versions not array", grypeDoc("debian", `[{"vulnerability":{"fix":{"versions":"2"}}}]`), "matches[0].vulnerability.fix.versions should be a JSON array"},
		{"wrong distro type", `{"matches":[],"distro":"debian","descriptor":{"name":"grype"}}`, "distro should be a JSON object"},
		{"missing name", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "", "1", "CVE-1", "fixed", "2")+"]"),
			"matches[0] (CVE-1, ): artifact.name is missing"},
		{"missing version", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "a", "", "CVE-1", "fixed", "2")+"]"),
			"matches[0] (CVE-1, a): artifact.version is missing"},
		{"missing id", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1", "", "fixed", "2")+"]"),
			"matches[0] (, a): vulnerability.id is missing"},
		{"long name", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", long, "1", "CVE-1", "fixed", "2")+"]"),
			"matches[0]: artifact.name is 4097 bytes, over the 4096-byte limit"},
		{"long fix version", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1", "CVE-1", "fixed", long)+"]"),
			"matches[0]: vulnerability.fix.versions[0] is 4097 bytes"},
		{"long fix list", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1", "CVE-1", "fixed", long[:3000], long[:3000])+"]"),
			"matches[0]: vulnerability.fix.versions is 6002 bytes"},
		{"control character", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1\n2", "CVE-1", "fixed", "2")+"]"),
			`matches[0]: artifact.version 1\n2 contains control characters`},
		{"comma in fix version", grypeDoc("debian", "["+grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1", "CVE-1", "fixed", "2,3")+"]"),
			`matches[0] (CVE-1, a): vulnerability.fix.versions[0] "2,3" contains a comma`},
		{"long distro", grypeDoc(long, "[]"), "distro: name is 4097 bytes"},
		{"long architecture", `{"matches":[],"source":{"target":{"architecture":"` + long + `"}},"descriptor":{"name":"grype"}}`, "source.target: architecture is 4097 bytes"},
		{"os findings without distro", grypeDoc("", "["+ok+"]"), "names no OS (distro.name is empty)"},
		{"too many matches", grypeDoc("", "["+strings.Repeat(`{"vulnerability":{"fix":{}},"matchDetails":[]},`, maxFindings)+`{}]`),
			"matches[100000]: report has more than 100000 matches"},
		{"descriptor not grype", `{"matches":[],"descriptor":{"name":"grype2"}}`, "not a recognised scanner report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse([]byte(tt.input))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want error containing %q", rep, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGrypeMatchLimitBoundary(t *testing.T) {
	m := grypeMatchJSON("deb", "debian:distro:debian:12", "a", "1", "CVE-1", "fixed", "2")
	doc := grypeDoc("debian", "["+strings.TrimSuffix(strings.Repeat(m+",", maxFindings), ",")+"]")
	rep, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("exactly %d matches must be accepted: %v", maxFindings, err)
	}
	if len(rep.Findings) != maxFindings {
		t.Errorf("len(Findings) = %d, want %d", len(rep.Findings), maxFindings)
	}
}

func TestVEXIsNotAReport(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "vex", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(data); err == nil || !strings.Contains(err.Error(), "not a recognised scanner report") {
			t.Errorf("%s: err = %v, want not recognised", filepath.Base(file), err)
		}
	}
}

// trivyDoc builds a minimal SchemaVersion 2 report around results.
func trivyDoc(family, results string) string {
	meta := `{}`
	if family != "" {
		meta = fmt.Sprintf(`{"OS":{"Family":%q,"Name":"1"},"ImageConfig":{"architecture":"amd64"}}`, family)
	}
	return fmt.Sprintf(`{"SchemaVersion":2,"ArtifactName":"x","Metadata":%s,"Results":%s}`, meta, results)
}

func osVuln(id, pkg, installed, fixed string) string {
	return fmt.Sprintf(`{"VulnerabilityID":%q,"PkgName":%q,"InstalledVersion":%q,"FixedVersion":%q}`, id, pkg, installed, fixed)
}

func TestParseErrors(t *testing.T) {
	debian, err := os.ReadFile(filepath.Join(fixtures, "trivy", "debian-10.1-buster.json"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", maxFieldLen+1)
	tooManyLang := `[{"Class":"lang-pkgs","Type":"npm","Vulnerabilities":[` +
		strings.Repeat(`{},`, maxFindings) + `{}]}]`

	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "report is empty"},
		{"whitespace", " \n\t", "report is empty"},
		{"schema v1 array", `[{"Target":"alpine:3.10 (alpine 3.10.2)","Type":"alpine","Vulnerabilities":[{"VulnerabilityID":"CVE-2019-1549","PkgName":"libssl1.1","InstalledVersion":"1.1.1c-r0","FixedVersion":"1.1.1d-r0"}]}]`,
			"Trivy report from before v0.20 (SchemaVersion 1) is not supported; rescan with Trivy ≥ 0.20"},
		{"truncated", string(debian[:len(debian)/2]), "report is not valid JSON"},
		{"truncated array", `[{"Target":"x"`, "report is not valid JSON"},
		{"schema v1 without vulnerabilities", `[{"Target":"debian:10 (debian 10.1)","Type":"debian"}]`,
			"Trivy report from before v0.20"},
		{"other array", `[1,2,3]`, "not a recognised scanner report: a JSON array, whose first element is not a Trivy result"},
		{"empty array", `[]`, "not a recognised scanner report: a JSON array"},
		{"array of other objects", `[{"name":"CVE-2025-1","package":"x"}]`, "not a recognised scanner report: a JSON array"},
		{"malformed", `{"SchemaVersion": 2, "Results": [}`, "report is not valid JSON"},
		{"trailing garbage", string(debian) + "}", "report is not valid JSON"},
		{"table output", "debian 10.1\n=====\nTotal: 2", "not a recognised scanner report"},
		{"utf-16", "\xff\xfe{\x00}\x00", "UTF-16"},
		{"unknown object", `{"foo":1}`, "not a recognised scanner report (expected Trivy JSON"},
		{"SchemaVersion without Trivy keys", `{"SchemaVersion":2}`, "not a recognised scanner report"},
		{"matches without grype descriptor", `{"matches":[],"descriptor":{"name":"other"}}`, "not a recognised scanner report"},
		{"cyclonedx", `{"bomFormat":"CycloneDX","specVersion":"1.5"}`, "CycloneDX"},
		{"schema v3", `{"SchemaVersion":3,"Results":[]}`, "SchemaVersion 3 is not supported"},
		{"schema version string", `{"SchemaVersion":"2","Results":[]}`, "not a recognised scanner report"},
		{"Results not array", trivyDoc("debian", `{}`), "Results is not a JSON array"},
		{"Vulnerabilities not array", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":"x"}]`), "Results[0].Vulnerabilities is not a JSON array"},
		{"wrong type", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[{"PkgName":1}]}]`),
			"Results[0].Vulnerabilities[0].PkgName should be a JSON string, not number"},
		{"wrong metadata type", `{"SchemaVersion":2,"Metadata":{"OS":"debian"}}`, "Metadata.OS should be a JSON object"},
		{"missing PkgName", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1","InstalledVersion":"1"}]}]`),
			"Results[0].Vulnerabilities[0] (CVE-1, ): PkgName is missing"},
		{"missing InstalledVersion", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[`+osVuln("CVE-1", "a", "", "")+`]}]`),
			"Results[0].Vulnerabilities[0] (CVE-1, a): InstalledVersion is missing"},
		{"long PkgName", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[`+osVuln("CVE-1", "a", "1", "")+`,`+osVuln("CVE-2", long, "1", "")+`]}]`),
			"Results[0].Vulnerabilities[1]: PkgName is 4097 bytes, over the 4096-byte limit"},
		{"long FixedVersion", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[`+osVuln("CVE-1", "a", "1", long)+`]}]`),
			"Results[0].Vulnerabilities[0]: FixedVersion is 4097 bytes"},
		{"long family", trivyDoc(long, `[]`), "Metadata.OS: Family is 4097 bytes"},
		{"long architecture", `{"SchemaVersion":2,"Metadata":{"ImageConfig":{"architecture":"` + long + `"}}}`, "Metadata.ImageConfig: architecture is 4097 bytes"},
		{"control character", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[`+osVuln("CVE-1", "a\nb", "1", "")+`]}]`),
			`Results[0].Vulnerabilities[0]: PkgName a\nb contains control characters`},
		{"two OSes", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian"},{"Class":"os-pkgs","Type":"alpine"}]`),
			`Results[1] is an OS result for "alpine" but Results[0] is for "debian"`},
		{"family mismatch", trivyDoc("debian", `[{"Class":"os-pkgs","Type":"alpine"}]`),
			`Metadata.OS.Family is "debian" but Results[0] is an OS result for "alpine"`},
		{"findings without OS", trivyDoc("", `[{"Class":"os-pkgs","Vulnerabilities":[`+osVuln("CVE-1", "a", "1", "2")+`]}]`),
			"names no OS"},
		{"too many findings", trivyDoc("", tooManyLang),
			"Results[0].Vulnerabilities[100000]: report has more than 100000 vulnerability entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse([]byte(tt.input))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want error containing %q", rep, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFindingLimitBoundary(t *testing.T) {
	vulns := make([]string, maxFindings)
	for i := range vulns {
		vulns[i] = osVuln(fmt.Sprintf("CVE-%d", i), "a", "1", "2")
	}
	rep, err := Parse([]byte(trivyDoc("debian", `[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[`+strings.Join(vulns, ",")+`]}]`)))
	if err != nil {
		t.Fatalf("exactly %d findings must be accepted: %v", maxFindings, err)
	}
	if len(rep.Findings) != maxFindings {
		t.Errorf("len(Findings) = %d, want %d", len(rep.Findings), maxFindings)
	}
}

func TestSizeLimit(t *testing.T) {
	// A valid report padded to exactly MaxSize is accepted.
	doc := trivyDoc("debian", `[]`)
	exact := append([]byte(doc), bytes.Repeat([]byte(" "), MaxSize-len(doc))...)
	if _, err := ReadFile(bytes.NewReader(exact)); err != nil {
		t.Fatalf("ReadFile of exactly MaxSize bytes: %v", err)
	}
	over := append(exact, ' ')
	for name, parse := range map[string]func() error{
		"Parse":    func() error { _, err := Parse(over); return err },
		"ReadFile": func() error { _, err := ReadFile(bytes.NewReader(over)); return err },
	} {
		if err := parse(); err == nil || !strings.Contains(err.Error(), "report is larger than 64 MiB") {
			t.Errorf("%s: err = %v, want larger than 64 MiB", name, err)
		}
	}
}

func TestClasslessResults(t *testing.T) {
	// Results from before Class existed: OS results are recognised by their
	// Type, everything else with vulnerabilities counts as language findings.
	tests := []struct {
		name, doc                string
		family                   string
		findings, lang           int
		wantFirstPkg, wantFirstV string
	}{
		{
			name: "type equals OS family",
			doc: trivyDoc("debian", `[{"Target":"x (debian 10.1)","Type":"debian","Vulnerabilities":[`+osVuln("CVE-1", "bash", "5.0-4", "")+`,`+osVuln("CVE-2", "libidn2-0", "2.0.5-1", "2.0.5-1+deb10u1")+`]},`+
				`{"Target":"Gemfile.lock","Type":"bundler","Vulnerabilities":[`+osVuln("CVE-3", "rack", "1.0", "1.1")+`]}]`),
			family: "debian", findings: 2, lang: 1, wantFirstPkg: "bash", wantFirstV: "5.0-4",
		},
		{
			name:   "legacy type, no OS metadata",
			doc:    `{"SchemaVersion":2,"ArtifactName":"x","Results":[{"Type":"opensuse.leap","Vulnerabilities":[` + osVuln("S-1", "libopenssl1_1", "1.1.0i-lp151.8.3.1", "1.1.0i-lp151.8.6.1") + `]}]}`,
			family: "opensuse-leap", findings: 1, wantFirstPkg: "libopenssl1_1", wantFirstV: "1.1.0i-lp151.8.3.1",
		},
		{
			name:   "language only, no OS",
			doc:    trivyDoc("none", `[{"Type":"npm","Vulnerabilities":[{},{}]},{"Class":"lang-pkgs","Type":"pip","Vulnerabilities":[{}]}]`),
			family: "", findings: 0, lang: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Family != tt.family || len(rep.Findings) != tt.findings || rep.SkippedLanguageFindings != tt.lang {
				t.Errorf("got family %q, %d findings, %d lang; want %q, %d, %d",
					rep.Family, len(rep.Findings), rep.SkippedLanguageFindings, tt.family, tt.findings, tt.lang)
			}
			if tt.wantFirstPkg != "" && (len(rep.Findings) == 0 || rep.Findings[0].Package != tt.wantFirstPkg || rep.Findings[0].InstalledVersion != tt.wantFirstV) {
				t.Errorf("first finding = %+v, want %s %s", rep.Findings, tt.wantFirstPkg, tt.wantFirstV)
			}
		})
	}
}

func TestFamilyFromResultType(t *testing.T) {
	doc := `{"SchemaVersion":2,"ArtifactName":"x","Results":[{"Class":"os-pkgs","Type":"suse linux enterprise micro","Vulnerabilities":[` +
		osVuln("SUSE-SU-1", "a", "1", "2") + `]}]}`
	rep, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Family != "slem" || rep.OSVersion != "" || rep.Arch != "" {
		t.Errorf("got family %q version %q arch %q, want slem, \"\", \"\"", rep.Family, rep.OSVersion, rep.Arch)
	}
}

func TestNormaliseFamily(t *testing.T) {
	tests := map[string]string{
		"suse linux enterprise server": "sles",
		"suse linux enterprise micro":  "slem",
		"opensuse.leap":                "opensuse-leap",
		"opensuse.tumbleweed":          "opensuse-tumbleweed",
		"sles":                         "sles",
		"Debian ":                      "debian",
		"cbl-mariner":                  "cbl-mariner",
		"azurelinux":                   "azurelinux",
		"none":                         "",
		"":                             "",
		"some-new-distro":              "some-new-distro",
	}
	for in, want := range tests {
		if got := normaliseFamily(in); got != want {
			t.Errorf("normaliseFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArchVariantAndBOM(t *testing.T) {
	doc := "\xef\xbb\xbf" + `{"SchemaVersion":2,"Metadata":{"OS":{"Family":"debian","Name":"12"},"ImageConfig":{"architecture":"arm","variant":"v7"}}}`
	rep, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Arch != "arm/v7" || rep.Family != "debian" || rep.OSVersion != "12" {
		t.Errorf("got %+v", rep)
	}
}

func TestFixedVersions(t *testing.T) {
	tests := map[string][]string{
		"":                     nil,
		"2.0.5-1+deb10u1":      {"2.0.5-1+deb10u1"},
		"7.5.2, 6.3.1, 5.7.2":  {"7.5.2", "6.3.1", "5.7.2"},
		" 1:1.0-1 ,, 1:1.0-2 ": {"1:1.0-1", "1:1.0-2"},
		", ":                   nil,
	}
	for in, want := range tests {
		if got := (Finding{FixedVersion: in}).FixedVersions(); !reflect.DeepEqual(got, want) {
			t.Errorf("FixedVersions(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustParseFile(t *testing.T, rel string) *Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
