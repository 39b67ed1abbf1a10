package frontend_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/frontend/report"
)

// rpmFixtureIDs is the os-release ID of the distro of every RPM report in
// the shared fixtures, whatever vocabulary (Trivy's current or legacy
// names, Grype's) the report uses.
var rpmFixtureIDs = map[string]string{
	"trivy/alma-8.5.json":                                   "almalinux",
	"trivy/amazon-2.json":                                   "amzn",
	"trivy/cbl-mariner-1.0.json":                            "mariner",
	"trivy/cbl-mariner-2.0-distroless-arm64.json":           "mariner",
	"trivy/centos-7.6.json":                                 "centos",
	"trivy/opensuse-leap-15.1-legacy-type.json":             "opensuse-leap",
	"trivy/opensuse-leap-15.1.json":                         "opensuse-leap",
	"trivy/opensuse-tumbleweed.json":                        "opensuse-tumbleweed",
	"trivy/oracle-8.0.json":                                 "ol",
	"trivy/photon-3.0.json":                                 "photon",
	"trivy/redhat-ubi-7.7-unfixed-os-plus-python-lang.json": "rhel",
	"trivy/rocky-8.5.json":                                  "rocky",
	"trivy/slem-5.4-no-vulns.json":                          "sle-micro",
	"trivy/sles-15.4-vm-legacy-type.json":                   "sles",
	"grype/redhat-8.7-rpm-plus-java_grype-0.96.0.json":      "rhel",
	"grype/redhat-9.1-rpm-wontfix_grype-0.66.0.json":        "rhel",
}

// TestRPMFixtureFamilies maps the family of every RPM report to the rpm
// format and its distro's os-release ID, and checks that the package URLs
// the format writes for the report's packages are the scanner's own
// (type, namespace, name, version, epoch and arch), so that VEX
// statements match the scanner's findings.
func TestRPMFixtureFamilies(t *testing.T) {
	for name, wantID := range rpmFixtureIDs {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(planFixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := report.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			f, d, ok := all.Registry.ForFamily(rep.Family)
			if !ok || f.Name() != "rpm" || d.ID != wantID {
				t.Fatalf("family %q: format %v, distro %q; want rpm, %q", rep.Family, f, d.ID, wantID)
			}
			var doc struct {
				Metadata struct{ OS struct{ Name string } }
				Results  []struct {
					Class           string
					Vulnerabilities []struct {
						PkgName, InstalledVersion string
						PkgIdentifier             struct{ PURL string }
					}
				}
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, r := range doc.Results {
				for _, v := range r.Vulnerabilities {
					if r.Class != "os-pkgs" || v.PkgIdentifier.PURL == "" {
						continue
					}
					want, err := packageurl.FromString(v.PkgIdentifier.PURL)
					if err != nil {
						t.Fatal(err)
					}
					q := want.Qualifiers.Map()
					target := distros.PURLTarget{OS: distros.OSRelease{ID: d.ID, VersionID: doc.Metadata.OS.Name}}
					got, err := packageurl.FromString(f.PackageURL(target, distros.Package{Name: v.PkgName, Version: v.InstalledVersion, Arch: q["arch"]}))
					if err != nil {
						t.Fatal(err)
					}
					g := got.Qualifiers.Map()
					if got.Type != want.Type || got.Namespace != want.Namespace || got.Name != want.Name || got.Version != want.Version ||
						g["epoch"] != q["epoch"] || g["arch"] != q["arch"] {
						t.Errorf("package URL %s, the scanner wrote %s", got, want)
					}
					checked++
				}
			}
			t.Logf("%d package URLs compared", checked)
		})
	}
}
