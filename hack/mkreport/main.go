// Command mkreport writes a Trivy-shaped (SchemaVersion 2) JSON report for a
// Debian rootfs without Trivy: hack/harness.sh lists the upgradable packages
// and extracts the changelog of each candidate .deb; mkreport takes every CVE id
// named in changelog entries newer than the installed version and reports it
// as fixed in the candidate version.
//
//	go run ./hack/mkreport -rootfs DIR -upgradable FILE -changelogs DIR \
//	    -artifact localhost:5000/copa-test/debian:12-stale -arch amd64 -o OUT
//
// FILE has one "name installed candidate" line per package; DIR/<name>.gz is
// that package's changelog.Debian.gz (or changelog.gz) from the candidate .deb.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	rootfs := flag.String("rootfs", "", "Debian rootfs (for etc/debian_version and var/lib/dpkg/status)")
	upgradable := flag.String("upgradable", "", `file of "name installed candidate" lines`)
	changelogs := flag.String("changelogs", "", "directory holding <name>.gz changelogs of the candidate debs")
	artifact := flag.String("artifact", "", "image reference to report as ArtifactName")
	arch := flag.String("arch", "amd64", "dpkg architecture")
	out := flag.String("o", "-", "output file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("mkreport: ")
	if *rootfs == "" || *upgradable == "" || *changelogs == "" || *artifact == "" {
		flag.Usage()
		os.Exit(2)
	}

	osVersion := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(*rootfs, "etc/debian_version")))))
	distro := "debian-" + osVersion
	installed := must(readStatus(filepath.Join(*rootfs, "var/lib/dpkg/status")))

	var vulns []Vulnerability
	for _, u := range must(readUpgradable(*upgradable)) {
		cves, err := changelogCVEs(filepath.Join(*changelogs, u.name+".gz"), u.installed)
		if err != nil {
			log.Printf("%s: no changelog, skipped (%v)", u.name, err)
			continue
		}
		if len(cves) == 0 {
			log.Printf("%-16s %s -> %s: no CVE named, left out", u.name, u.installed, u.candidate)
			continue
		}
		log.Printf("%-16s %s -> %s: %s", u.name, u.installed, u.candidate, strings.Join(cves, " "))
		a := *arch
		if p, ok := installed[u.name]; ok {
			a = p.Arch
		}
		for _, cve := range cves {
			vulns = append(vulns, Vulnerability{
				VulnerabilityID:  cve,
				PkgID:            u.name + "@" + u.installed,
				PkgName:          u.name,
				PkgIdentifier:    Identifier{PURL: purl(u.name, u.installed, a, distro)},
				InstalledVersion: u.installed,
				FixedVersion:     u.candidate,
				Status:           "fixed",
				Severity:         "UNKNOWN",
			})
		}
	}
	sort.SliceStable(vulns, func(i, j int) bool {
		if vulns[i].PkgName != vulns[j].PkgName {
			return vulns[i].PkgName < vulns[j].PkgName
		}
		return vulns[i].VulnerabilityID < vulns[j].VulnerabilityID
	})

	var pkgs []Package
	for _, p := range installed {
		pkgs = append(pkgs, p.trivy(distro))
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })

	r := Report{
		SchemaVersion: 2,
		CreatedAt:     time.Now().UTC().Format(time.RFC3339Nano),
		ArtifactName:  *artifact,
		ArtifactType:  "container_image",
		Metadata: Metadata{
			OS:          OS{Family: "debian", Name: osVersion},
			ImageConfig: ImageConfig{Architecture: *arch, OS: "linux"},
			RepoTags:    []string{*artifact},
		},
		Results: []Result{{
			Target:          fmt.Sprintf("%s (debian %s)", *artifact, osVersion),
			Class:           "os-pkgs",
			Type:            "debian",
			Packages:        pkgs,
			Vulnerabilities: vulns,
		}},
	}
	b := must(json.MarshalIndent(r, "", "  "))
	b = append(b, '\n')
	if *out == "-" {
		must(os.Stdout.Write(b))
	} else if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d vulnerabilities in %d packages", len(vulns), countPkgs(vulns))
}

// Trivy JSON shapes (the subset written here; see pkg/types/report.go).
type Report struct {
	SchemaVersion int
	CreatedAt     string
	ArtifactName  string
	ArtifactType  string
	Metadata      Metadata
	Results       []Result `json:",omitempty"`
}

type Metadata struct {
	OS          OS
	RepoTags    []string `json:",omitempty"`
	ImageConfig ImageConfig
}

type OS struct{ Family, Name string }

type ImageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type Result struct {
	Target          string
	Class           string
	Type            string
	Packages        []Package       `json:",omitempty"`
	Vulnerabilities []Vulnerability `json:",omitempty"`
}

type Identifier struct{ PURL string }

type Package struct {
	ID         string
	Name       string
	Identifier Identifier
	Version    string
	Release    string `json:",omitempty"`
	Epoch      int    `json:",omitempty"`
	Arch       string
	SrcName    string
	SrcVersion string
	SrcRelease string `json:",omitempty"`
	SrcEpoch   int    `json:",omitempty"`
}

type Vulnerability struct {
	VulnerabilityID  string
	PkgID            string
	PkgName          string
	PkgIdentifier    Identifier
	InstalledVersion string
	FixedVersion     string
	Status           string
	Severity         string
}

type upgrade struct{ name, installed, candidate string }

func readUpgradable(path string) ([]upgrade, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var us []upgrade
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		us = append(us, upgrade{f[0], f[1], f[2]})
	}
	return us, nil
}

type dpkgPkg struct{ Name, Version, Arch, Source, SourceVersion string }

// readStatus returns the installed packages of a dpkg status file.
func readStatus(path string) (map[string]dpkgPkg, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pkgs := map[string]dpkgPkg{}
	for _, stanza := range strings.Split(string(b), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if fields["Package"] == "" || !strings.HasSuffix(fields["Status"], " installed") {
			continue
		}
		p := dpkgPkg{Name: fields["Package"], Version: fields["Version"], Arch: fields["Architecture"],
			Source: fields["Package"], SourceVersion: fields["Version"]}
		if src := fields["Source"]; src != "" { // "name" or "name (version)"
			name, ver, _ := strings.Cut(src, " ")
			p.Source = name
			if ver != "" {
				p.SourceVersion = strings.Trim(ver, "()")
			}
		}
		pkgs[p.Name] = p
	}
	return pkgs, nil
}

func (p dpkgPkg) trivy(distro string) Package {
	e, v, r := splitVersion(p.Version)
	se, sv, sr := splitVersion(p.SourceVersion)
	return Package{
		ID: p.Name + "@" + p.Version, Name: p.Name,
		Identifier: Identifier{PURL: purl(p.Name, p.Version, p.Arch, distro)},
		Version:    v, Release: r, Epoch: e, Arch: p.Arch,
		SrcName: p.Source, SrcVersion: sv, SrcRelease: sr, SrcEpoch: se,
	}
}

// purl formats a Debian package URL the way Trivy does: the epoch is a
// qualifier, qualifiers are sorted, '+' in the version is %2B.
func purl(name, version, arch, distro string) string {
	epoch, upstream, revision := splitVersion(version)
	v := upstream
	if revision != "" {
		v += "-" + revision
	}
	q := "arch=" + url.QueryEscape(arch) + "&distro=" + url.QueryEscape(distro)
	if epoch != 0 {
		q += "&epoch=" + strconv.Itoa(epoch)
	}
	return "pkg:deb/debian/" + name + "@" + strings.ReplaceAll(url.PathEscape(v), "+", "%2B") + "?" + q
}

var (
	// "apt (2.6.1) bookworm; urgency=medium"
	changelogHeader = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]* \(([^()\s]+)\)`)
	cveID           = regexp.MustCompile(`CVE-[0-9]{4}-[0-9]{4,}`)
)

// changelogCVEs returns the sorted CVE ids named in the entries of a gzipped
// Debian changelog whose version is newer than installed.
func changelogCVEs(path, installed string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := changelogHeader.FindStringSubmatch(line); m != nil {
			if compareVersions(m[1], installed) <= 0 {
				break // entries are newest first
			}
			continue
		}
		for _, id := range cveID.FindAllString(line, -1) {
			seen[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	cves := make([]string, 0, len(seen))
	for id := range seen {
		cves = append(cves, id)
	}
	sort.Strings(cves)
	return cves, nil
}

// splitVersion splits [epoch:]upstream[-revision].
func splitVersion(v string) (epoch int, upstream, revision string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		epoch, _ = strconv.Atoi(e)
		v = rest
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// compareVersions compares Debian versions like dpkg --compare-versions.
func compareVersions(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if ea != eb {
		return ea - eb
	}
	if c := verrevcmp(ua, ub); c != 0 {
		return c
	}
	return verrevcmp(ra, rb)
}

// verrevcmp is dpkg's lib/dpkg/version.c algorithm.
func verrevcmp(a, b string) int {
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	order := func(c byte) int {
		switch {
		case isDigit(c), c == 0:
			return 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			return int(c)
		case c == '~':
			return -1
		default:
			return int(c) + 256
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			if ac, bc := order(at(a, i)), order(at(b, j)); ac != bc {
				return ac - bc
			}
			i, j = i+1, j+1
		}
		for at(a, i) == '0' {
			i++
		}
		for at(b, j) == '0' {
			j++
		}
		firstDiff := 0
		for isDigit(at(a, i)) && isDigit(at(b, j)) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i, j = i+1, j+1
		}
		if isDigit(at(a, i)) {
			return 1
		}
		if isDigit(at(b, j)) {
			return -1
		}
		if firstDiff != 0 {
			return firstDiff
		}
	}
	return 0
}

func countPkgs(vs []Vulnerability) int {
	n := map[string]bool{}
	for _, v := range vs {
		n[v.PkgName] = true
	}
	return len(n)
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
