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
	"github.com/copa/frontend/internal/trivyjson"

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

	debversion "github.com/knqyf263/go-deb-version"

	"github.com/copa/frontend/distros/deb"
)

func main() {
	rootfs := flag.String("rootfs", "", "Debian rootfs (for etc/debian_version and var/lib/dpkg/status)")
	upgradable := flag.String("upgradable", "", `file of "name installed candidate" lines`)
	changelogs := flag.String("changelogs", "", "directory holding <name>.gz changelogs of the candidate debs")
	artifact := flag.String("artifact", "", "image reference to report as ArtifactName")
	arch := flag.String("arch", "amd64", "dpkg architecture")
	out := flag.String("o", "-", "output file")
	grypeOut := flag.String("grype", "", "also write the same findings in Grype's JSON shape to this file")
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

	var vulns []trivyjson.Vulnerability
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
			vulns = append(vulns, trivyjson.Vulnerability{
				VulnerabilityID:  cve,
				PkgID:            u.name + "@" + u.installed,
				PkgName:          u.name,
				PkgIdentifier:    trivyjson.Identifier{PURL: purl(u.name, u.installed, a, distro)},
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

	var pkgs []trivyjson.Package
	for _, p := range installed {
		pkgs = append(pkgs, p.trivy(distro))
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })

	r := trivyjson.Report{
		SchemaVersion: 2,
		CreatedAt:     time.Now().UTC().Format(time.RFC3339Nano),
		ArtifactName:  *artifact,
		ArtifactType:  "container_image",
		Metadata: trivyjson.Metadata{
			OS:          trivyjson.OS{Family: "debian", Name: osVersion},
			ImageConfig: trivyjson.ImageConfig{Architecture: *arch, OS: "linux"},
			RepoTags:    []string{*artifact},
		},
		Results: []trivyjson.Result{{
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
	if *grypeOut != "" {
		g := grypeReport(*artifact, *arch, osVersion, vulns)
		b := append(must(json.MarshalIndent(g, "", "  ")), '\n')
		if err := os.WriteFile(*grypeOut, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("%d vulnerabilities in %d packages", len(vulns), countPkgs(vulns))
}

// grypeReport writes the findings as `grype -o json` would (the fields of
// grype/presenter/models that readers use; see the fixtures' SCHEMA.md).
// descriptor.version says the file was made here, not by Grype.
func grypeReport(artifact, arch, osVersion string, vulns []trivyjson.Vulnerability) map[string]any {
	major, _, _ := strings.Cut(osVersion, ".")
	namespace := "debian:distro:debian:" + major
	matches := make([]map[string]any, 0, len(vulns))
	for _, v := range vulns {
		matches = append(matches, map[string]any{
			"vulnerability": map[string]any{
				"id":         v.VulnerabilityID,
				"dataSource": "https://security-tracker.debian.org/tracker/" + v.VulnerabilityID,
				"namespace":  namespace,
				"severity":   "Unknown",
				"urls":       []string{},
				"fix":        map[string]any{"versions": []string{v.FixedVersion}, "state": "fixed"},
				"advisories": []any{},
			},
			"relatedVulnerabilities": []any{},
			"matchDetails": []any{map[string]any{
				"type":    "exact-direct-match",
				"matcher": "dpkg-matcher",
				"searchedBy": map[string]any{
					"distro":    map[string]any{"type": "debian", "version": major},
					"namespace": namespace,
					"package":   map[string]any{"name": v.PkgName, "version": v.InstalledVersion},
				},
				"found": map[string]any{"versionConstraint": "< " + v.FixedVersion + " (deb)", "vulnerabilityID": v.VulnerabilityID},
			}},
			"artifact": map[string]any{
				"id":        v.PkgID,
				"name":      v.PkgName,
				"version":   v.InstalledVersion,
				"type":      "deb",
				"locations": []any{map[string]any{"path": "/var/lib/dpkg/status"}},
				"language":  "",
				"licenses":  []string{},
				"cpes":      []string{},
				"purl":      v.PkgIdentifier.PURL,
				"upstreams": []any{},
			},
		})
	}
	return map[string]any{
		"matches":        matches,
		"ignoredMatches": []any{},
		"source": map[string]any{
			"type":   "image",
			"target": map[string]any{"userInput": artifact, "architecture": arch, "os": "linux"},
		},
		"distro":     map[string]any{"name": "debian", "version": major, "idLike": []string{}},
		"descriptor": map[string]any{"name": "grype", "version": "0.0.0+copa-mkreport"},
	}
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

func (p dpkgPkg) trivy(distro string) trivyjson.Package {
	e, v, r := splitVersion(p.Version)
	se, sv, sr := splitVersion(p.SourceVersion)
	return trivyjson.Package{
		ID: p.Name + "@" + p.Version, Name: p.Name,
		Identifier: trivyjson.Identifier{PURL: purl(p.Name, p.Version, p.Arch, distro)},
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
			if (deb.Versioning{}).Compare(m[1], installed) <= 0 {
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

func countPkgs(vs []trivyjson.Vulnerability) int {
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

// splitVersion splits [epoch:]upstream[-revision] as Trivy's Packages[]
// fields hold it.
func splitVersion(v string) (epoch int, upstream, revision string) {
	dv, err := debversion.NewVersion(v)
	if err != nil {
		return 0, v, ""
	}
	return dv.Epoch(), dv.Version(), dv.Revision()
}
