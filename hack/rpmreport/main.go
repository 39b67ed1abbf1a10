// Command rpmreport writes a Trivy-shaped (SchemaVersion 2, as Trivy v0.5x
// writes it) JSON report for one of the harness's RPM test images, without
// Trivy: the image's packages come from its rpm database (rpm -qa), the
// findings from the harness's packages.txt. Each test package gets one
// made-up CVE, fixed in the new version packages.txt names; the -unfixed
// packages get one without a fix.
//
//	go run ./hack/rpmreport -packages packages.txt -rpmqa el_dnf.rpmqa \
//	    -artifact localhost:5000/copa-test/el:9-dnf -family rocky -os-name 9.4 \
//	    -purl-namespace rocky -unfixed copa-nofix -o el-9-dnf.trivy.json
//
// packages.txt has "NAME OLD_EVR NEW_EVR ARCH" lines; the rpmqa file has
// "NAME EPOCH VERSION RELEASE ARCH SOURCERPM LICENSE" lines (rpm -qa --qf).
package main

import (
	"github.com/copa/frontend/internal/trivyjson"

	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
)

type installed struct {
	Name, Version, Release, Arch, SrcName, SrcVersion, SrcRelease, License string
	Epoch                                                                  int
}

// EVR is the version as Trivy prints InstalledVersion: epoch first when not 0.
func (p installed) EVR() string {
	vr := p.Version + "-" + p.Release
	if p.Epoch != 0 {
		return strconv.Itoa(p.Epoch) + ":" + vr
	}
	return vr
}

// ID is Trivy's package ID for RPM: name@version-release.arch.
func (p installed) ID() string { return p.Name + "@" + p.Version + "-" + p.Release + "." + p.Arch }

type update struct{ name, old, new, arch string }

func main() {
	pkgsFile := flag.String("packages", "", `packages.txt ("NAME OLD_EVR NEW_EVR ARCH" lines)`)
	rpmqa := flag.String("rpmqa", "", "the image's rpm -qa list")
	artifact := flag.String("artifact", "", "image reference to report as ArtifactName")
	family := flag.String("family", "", `Metadata.OS.Family and the os-pkgs Type ("rocky", "opensuse-leap")`)
	osName := flag.String("os-name", "", `Metadata.OS.Name ("9.4")`)
	ns := flag.String("purl-namespace", "", `the package URLs' namespace ("rocky", "opensuse")`)
	unfixed := flag.String("unfixed", "", "comma-separated installed packages reported with a vulnerability that has no fix")
	arch := flag.String("arch", "amd64", "the image's architecture (Metadata.ImageConfig.architecture)")
	out := flag.String("o", "-", "output file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("rpmreport: ")
	if *pkgsFile == "" || *rpmqa == "" || *artifact == "" || *family == "" || *osName == "" || *ns == "" {
		flag.Usage()
		os.Exit(2)
	}
	updates := must(readUpdates(*pkgsFile))
	inst := must(readRpmqa(*rpmqa))
	byName := map[string]installed{}
	for _, p := range inst {
		byName[p.Name] = p
	}
	distro := *family + "-" + *osName

	// One made-up CVE per package, numbered in name order over all the
	// reported packages so that a package has the same id in every report.
	type finding struct {
		pkg   installed
		fixed string
	}
	var findings []finding
	for _, u := range updates {
		p, ok := byName[u.name]
		if !ok {
			log.Fatalf("%s (packages.txt) is not installed in %s", u.name, *rpmqa)
		}
		if p.EVR() != u.old || p.Arch != u.arch {
			log.Fatalf("%s: installed %s.%s, packages.txt says %s.%s", u.name, p.EVR(), p.Arch, u.old, u.arch)
		}
		findings = append(findings, finding{p, u.new})
	}
	for _, n := range strings.Split(*unfixed, ",") {
		if n == "" {
			continue
		}
		p, ok := byName[n]
		if !ok {
			log.Fatalf("-unfixed %s is not installed in %s", n, *rpmqa)
		}
		findings = append(findings, finding{pkg: p})
	}
	sort.Slice(findings, func(i, j int) bool { return findings[i].pkg.Name < findings[j].pkg.Name })

	ds := dataSources[*family]
	var vulns []trivyjson.Vulnerability
	for i, f := range findings {
		id := fmt.Sprintf("CVE-2099-%d", 10001+i)
		v := trivyjson.Vulnerability{
			VulnerabilityID:  id,
			PkgID:            f.pkg.ID(),
			PkgName:          f.pkg.Name,
			PkgIdentifier:    identifier(f.pkg, *ns, distro),
			InstalledVersion: f.pkg.EVR(),
			FixedVersion:     f.fixed,
			Status:           "fixed",
			SeveritySource:   ds.ID,
			PrimaryURL:       "https://avd.aquasec.com/nvd/" + strings.ToLower(id),
			DataSource:       &ds,
			Title:            f.pkg.Name + ": made-up vulnerability for the copa/frontend tests",
			Description:      "A vulnerability that does not exist, reported by hack/rpmreport against the test package " + f.pkg.Name + ".",
			Severity:         "HIGH",
			VendorSeverity:   map[string]int{ds.ID: 3},
			References:       []string{"https://example.invalid/" + id},
			PublishedDate:    "2099-01-01T00:00:00Z",
			LastModifiedDate: "2099-01-02T00:00:00Z",
		}
		if f.fixed == "" {
			v.Status = "affected"
			v.Severity = "MEDIUM"
			v.VendorSeverity[ds.ID] = 2
		}
		vulns = append(vulns, v)
	}

	var pkgs []trivyjson.Package
	for _, p := range inst {
		pkgs = append(pkgs, trivyjson.Package{
			ID: p.ID(), Name: p.Name, Identifier: identifier(p, *ns, distro),
			Version: p.Version, Release: p.Release, Epoch: p.Epoch, Arch: p.Arch,
			SrcName: p.SrcName, SrcVersion: p.SrcVersion, SrcRelease: p.SrcRelease, SrcEpoch: p.Epoch,
			Licenses: []string{p.License},
		})
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })

	r := trivyjson.Report{
		SchemaVersion: 2,
		CreatedAt:     time.Now().UTC().Format(time.RFC3339Nano),
		ArtifactName:  *artifact,
		ArtifactType:  "container_image",
		Metadata: trivyjson.Metadata{
			OS:          trivyjson.OS{Family: *family, Name: *osName},
			ImageConfig: trivyjson.ImageConfig{Architecture: *arch, OS: "linux"},
			RepoTags:    []string{*artifact},
		},
		Results: []trivyjson.Result{{
			Target:          fmt.Sprintf("%s (%s %s)", *artifact, *family, *osName),
			Class:           "os-pkgs",
			Type:            *family,
			Packages:        pkgs,
			Vulnerabilities: vulns,
		}},
	}
	b := append(must(json.MarshalIndent(r, "", "  ")), '\n')
	if *out == "-" {
		must(os.Stdout.Write(b))
	} else if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

var dataSources = map[string]trivyjson.DataSource{
	"rocky":         {ID: "rocky", Name: "Rocky Linux updateinfo", URL: "https://download.rockylinux.org/pub/rocky/"},
	"opensuse-leap": {ID: "suse-cvrf", Name: "SUSE CVRF", URL: "https://ftp.suse.com/pub/projects/security/cvrf/"},
}

// identifier is Trivy's PURL (the epoch a qualifier, not in the version)
// and a UID (Trivy hashes the package; any stable 16 hex digits do here).
func identifier(p installed, ns, distro string) trivyjson.Identifier {
	q := packageurl.Qualifiers{{Key: "arch", Value: p.Arch}, {Key: "distro", Value: distro}}
	if p.Epoch != 0 {
		q = append(q, packageurl.Qualifier{Key: "epoch", Value: strconv.Itoa(p.Epoch)})
	}
	h := fnv.New64a()
	h.Write([]byte(p.ID()))
	return trivyjson.Identifier{
		PURL: packageurl.NewPackageURL("rpm", ns, p.Name, p.Version+"-"+p.Release, q, "").ToString(),
		UID:  fmt.Sprintf("%016x", h.Sum64()),
	}
}

func readUpdates(path string) ([]update, error) {
	var us []update
	err := eachLine(path, func(f []string) error {
		if len(f) != 4 {
			return fmt.Errorf("want NAME OLD NEW ARCH, got %q", strings.Join(f, " "))
		}
		us = append(us, update{f[0], f[1], f[2], f[3]})
		return nil
	})
	return us, err
}

func readRpmqa(path string) ([]installed, error) {
	var ps []installed
	err := eachLine(path, func(f []string) error {
		if len(f) < 7 {
			return fmt.Errorf("want NAME EPOCH VERSION RELEASE ARCH SOURCERPM LICENSE, got %q", strings.Join(f, " "))
		}
		e, err := strconv.Atoi(f[1])
		if err != nil {
			return err
		}
		// NAME-VERSION-RELEASE.src.rpm
		nvr := strings.TrimSuffix(f[5], ".src.rpm")
		i := strings.LastIndexByte(nvr, '-')
		j := strings.LastIndexByte(nvr[:max(i, 0)], '-')
		if i < 0 || j < 0 {
			return fmt.Errorf("source rpm %q is not NAME-VERSION-RELEASE.src.rpm", f[5])
		}
		ps = append(ps, installed{Name: f[0], Epoch: e, Version: f[2], Release: f[3], Arch: f[4],
			SrcName: nvr[:j], SrcVersion: nvr[j+1 : i], SrcRelease: nvr[i+1:], License: strings.Join(f[6:], " ")})
		return nil
	})
	return ps, err
}

func eachLine(path string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return s.Err()
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
