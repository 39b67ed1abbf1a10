package frontend_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/frontend/report"
)

// planFixtures is the shared corpus of real scanner reports; CI checks out
// shared/ beside the repo, so the same relative path works there too.
const planFixtures = "../../shared/fixtures/reports"

// fixturePlan is what one report must plan to, with the installed versions
// taken from the report itself (so nothing is "not installed" or "already
// fixed" unless the report contradicts itself).
type fixturePlan struct {
	// refused is a part of the error the report must be refused with;
	// the other fields are then unused.
	refused string
	family  string
	// updates are "name fixed id id …", in plan order (by name).
	updates []string
	// skipped counts the packages left alone, by reason.
	skipped map[distros.SkipReason]int
}

var noFix = distros.SkipNoFix

// fixturePlans has a row for every file in trivy/ and grype/.
var fixturePlans = map[string]fixturePlan{
	// --- Trivy ---
	"trivy/alma-8.5.json": {family: "alma", updates: []string{
		"openssl-libs 1:1.1.1k-5.el8_5 CVE-2021-3712",
	}},
	// Same packages fixed by two versions: the higher -r2 wins.
	"trivy/alpine-3.10.2.json": {family: "alpine", updates: []string{
		"libcrypto1.1 1.1.1d-r2 CVE-2019-1549 CVE-2019-1551",
		"libssl1.1 1.1.1d-r2 CVE-2019-1549 CVE-2019-1551",
	}},
	"trivy/alpine-3.16-distroless.json": {family: "alpine", updates: []string{
		"git 2.35.2-r0 CVE-2022-24765",
	}},
	// 24 findings on 5 packages: busybox r16/r17/r19 → r19, openssl
	// 3.1.4-r6 … 3.1.7-r1 → 3.1.7-r1; the node-pkg findings are skipped.
	"trivy/alpine-3.19.1-realworld-plus-node-pkg.json": {family: "alpine", updates: []string{
		"busybox 1.36.1-r19 CVE-2023-42363 CVE-2023-42364 CVE-2023-42365 CVE-2023-42366",
		"busybox-binsh 1.36.1-r19 CVE-2023-42363 CVE-2023-42364 CVE-2023-42365 CVE-2023-42366",
		"libcrypto3 3.1.7-r1 CVE-2024-4603 CVE-2024-4741 CVE-2024-5535 CVE-2024-6119 CVE-2024-2511 CVE-2024-9143",
		"libssl3 3.1.7-r1 CVE-2024-4603 CVE-2024-4741 CVE-2024-5535 CVE-2024-6119 CVE-2024-2511 CVE-2024-9143",
		"ssl_client 1.36.1-r19 CVE-2023-42363 CVE-2023-42364 CVE-2023-42365 CVE-2023-42366",
	}},
	// 3.3.2-r5 and 3.3.3-r0 → 3.3.3-r0.
	"trivy/alpine-3.21.0.json": {family: "alpine", updates: []string{
		"libcrypto3 3.3.3-r0 CVE-2024-12797 CVE-2024-13176",
		"libssl3 3.3.3-r0 CVE-2024-12797 CVE-2024-13176",
		"musl 1.2.5-r9 CVE-2025-26519",
		"musl-utils 1.2.5-r9 CVE-2025-26519",
	}},
	// Language findings only.
	"trivy/alpine-3.21.3-plus-node-pkg-lang.json": {family: "alpine"},
	// curl twice: -11.amzn2.0.2 and -12.amzn2.0.1 → the higher -12.
	"trivy/amazon-2.json": {family: "amazon", updates: []string{
		"curl 7.61.1-12.amzn2.0.1 CVE-2019-5481 CVE-2019-5436",
	}},
	// vim has a fixed and an unfixed CVE: updated, and skipped for the
	// unfixed one.
	"trivy/cbl-mariner-1.0.json": {family: "cbl-mariner", skipped: map[distros.SkipReason]int{noFix: 1}, updates: []string{
		"vim 8.2.4082-1.cm1 CVE-2022-0158",
	}},
	// 41 findings on 5 packages; openssl has 8 different fixed releases.
	"trivy/cbl-mariner-2.0-distroless-arm64.json": {family: "cbl-mariner", updates: []string{
		"glibc 2.35-7.cm2 CVE-2021-3998 CVE-2023-4911 CVE-2023-5156 CVE-2024-33599 CVE-2024-33600 CVE-2023-4806 CVE-2024-33601 CVE-2024-33602",
		"glibc-iconv 2.35-7.cm2 CVE-2021-3998 CVE-2023-4911 CVE-2023-5156 CVE-2024-33599 CVE-2024-33600 CVE-2023-4806 CVE-2024-33601 CVE-2024-33602",
		"libgcc 11.2.0-6.cm2 CVE-2023-4039",
		"openssl 1.1.1k-29.cm2 CVE-2022-2068 CVE-2022-4450 CVE-2023-0215 CVE-2023-0286 CVE-2022-2097 CVE-2022-4304 CVE-2023-0465 CVE-2023-0466 CVE-2023-2650 CVE-2023-3817 CVE-2023-5678 CVE-2024-0727",
		"openssl-libs 1.1.1k-29.cm2 CVE-2022-2068 CVE-2022-4450 CVE-2023-0215 CVE-2023-0286 CVE-2022-2097 CVE-2022-4304 CVE-2023-0465 CVE-2023-0466 CVE-2023-2650 CVE-2023-3817 CVE-2023-5678 CVE-2024-0727",
	}},
	// Epoch 1 in installed and fixed versions; bash will_not_fix.
	"trivy/centos-7.6.json": {family: "centos", skipped: map[distros.SkipReason]int{noFix: 1}, updates: []string{
		"openssl-libs 1:1.0.2k-19.el7 CVE-2019-1559 CVE-2018-0734",
	}},
	"trivy/debian-10.1-buster.json": {family: "debian", skipped: map[distros.SkipReason]int{noFix: 1}, updates: []string{
		"libidn2-0 2.0.5-1+deb10u1 CVE-2019-18224",
	}},
	"trivy/debian-10.2-plus-gemspec-lang-multi-fixedversion.json": {family: "debian", updates: []string{
		"libidn2-0 2.0.5-1+deb10u1 CVE-2019-18224",
	}},
	"trivy/debian-12.5-from-sbom-packages-srcname-no-vulns.json": {family: "debian"},
	// libssl1.1 and openssl: one fixed and one unfixed CVE each.
	"trivy/distroless-base-debian-9.9.json": {family: "debian", skipped: map[distros.SkipReason]int{noFix: 2}, updates: []string{
		"libssl1.1 1.1.0l-1~deb9u1 CVE-2019-1563",
		"openssl 1.1.0l-1~deb9u1 CVE-2019-1563",
	}},
	// Family "none", no results: nothing to plan and no package format.
	"trivy/edge-os-family-none-no-results.json": {family: ""},
	"trivy/opensuse-leap-15.1-legacy-type.json": {family: "opensuse-leap", updates: []string{
		"libopenssl1_1 1.1.0i-lp151.8.6.1 openSUSE-SU-2020:0062-1",
		"openssl-1_1 1.1.0i-lp151.8.6.1 openSUSE-SU-2020:0062-1",
	}},
	"trivy/opensuse-leap-15.1.json": {family: "opensuse-leap", updates: []string{
		"libopenssl1_1 1.1.0i-lp151.8.6.1 openSUSE-SU-2020:0062-1",
		"openssl-1_1 1.1.0i-lp151.8.6.1 openSUSE-SU-2020:0062-1",
	}},
	"trivy/opensuse-tumbleweed.json": {family: "opensuse-tumbleweed", updates: []string{
		"libopenssl3 3.1.5-9.1 openSUSE-SU-2024:13065-1",
	}},
	// curl twice: -11.el8 and -12.el8 → -12.el8.
	"trivy/oracle-8.0.json": {family: "oracle", updates: []string{
		"curl 7.61.1-12.el8 CVE-2019-3823 CVE-2019-5436",
	}},
	"trivy/photon-3.0.json": {family: "photon", updates: []string{
		"bash 4.4.18-2.ph3 CVE-2019-18276",
		"curl 7.61.1-5.ph3 CVE-2019-5481",
		"curl-libs 7.61.1-5.ph3 CVE-2019-5481",
	}},
	// The only OS finding is will_not_fix; the fixable one is Python.
	"trivy/redhat-ubi-7.7-unfixed-os-plus-python-lang.json": {family: "redhat", skipped: map[distros.SkipReason]int{noFix: 1}},
	"trivy/rocky-8.5.json": {family: "rocky", updates: []string{
		"openssl-libs 1:1.1.1k-5.el8_5 CVE-2021-3712",
	}},
	"trivy/slem-5.4-no-vulns.json": {family: "slem"},
	"trivy/sles-15.4-vm-legacy-type.json": {family: "sles", updates: []string{
		"bind-utils 9.16.31-150400.5.6.1 SUSE-SU-2022:2713-1",
		"python3-bind 9.16.31-150400.5.6.1 SUSE-SU-2022:2713-1",
	}},
	"trivy/ubuntu-18.04.json": {family: "ubuntu", skipped: map[distros.SkipReason]int{noFix: 1}, updates: []string{
		"e2fsprogs 1.44.1-1ubuntu1.2 CVE-2019-5094",
		"libcom-err2 1.44.1-1ubuntu1.2 CVE-2019-5094",
		"libext2fs2 1.44.1-1ubuntu1.2 CVE-2019-5094",
		"libss2 1.44.1-1ubuntu1.2 CVE-2019-5094",
	}},

	// --- Grype ---
	// 8.3.0-r0 and 8.4.0-r0 → 8.4.0-r0; 11 apk matches by NVD CPE and
	// 15 go-module matches are not planned.
	"grype/alpine-3.18.3-apk-plus-go_grype-0.71.0.json": {family: "alpine", updates: []string{
		"curl 8.4.0-r0 CVE-2023-38039 CVE-2023-38546 CVE-2023-38545",
		"libcurl 8.4.0-r0 CVE-2023-38039 CVE-2023-38546 CVE-2023-38545",
		"nghttp2-libs 1.57.0-r0 CVE-2023-44487",
	}},
	// Old namespace "debian:10"; the same match twice, not-fixed.
	"grype/debian-10-deb-notfixed_grype-0.36.0.json":                 {family: "debian", skipped: map[distros.SkipReason]int{noFix: 1}},
	"grype/debian-10-deb-plus-python_grype-0.7.0-legacy-schema.json": {refused: "from before Grype v0.13.0"},
	// Fixed versions carry "0:" and "32:" epochs; bind-* has four fixed
	// releases (-8.el8, -8.el8_8.1, -8.el8_8.2, -11.el8_9) → -11.el8_9.
	// Unfixed CVEs: the four updated packages and bind-utils (only
	// unfixed ones, not-fixed/wont-fix).
	"grype/redhat-8.7-rpm-plus-java_grype-0.96.0.json": {family: "redhat", skipped: map[distros.SkipReason]int{noFix: 5}, updates: []string{
		"avahi-libs 0:0.7-21.el8_9.1 CVE-2023-38473 CVE-2023-38472 CVE-2023-38471 CVE-2023-38470 CVE-2023-38469 CVE-2023-1981 CVE-2021-3468",
		"bind-libs 32:9.11.36-11.el8_9 CVE-2023-3341 CVE-2023-2828 CVE-2022-3094 CVE-2022-2795",
		"bind-libs-lite 32:9.11.36-11.el8_9 CVE-2023-3341 CVE-2023-2828 CVE-2022-3094 CVE-2022-2795",
		"bind-license 32:9.11.36-11.el8_9 CVE-2023-3341 CVE-2023-2828 CVE-2022-3094 CVE-2022-2795",
	}},
	"grype/redhat-9.1-rpm-wontfix_grype-0.66.0.json": {family: "redhat", skipped: map[distros.SkipReason]int{noFix: 6}},
	"grype/wolfi-apk-plus-gem_grype-0.61.1.json": {family: "wolfi", updates: []string{
		"ruby-3.0 3.0.6-r0 CVE-2023-28755",
	}},
}

func TestFixturePlans(t *testing.T) {
	seen := map[string]bool{}
	for _, dir := range []string{"trivy", "grype"} {
		entries, err := os.ReadDir(filepath.Join(planFixtures, dir))
		if err != nil {
			t.Fatalf("fixtures not found (shared/ must sit beside the repo): %v", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			name := dir + "/" + e.Name()
			seen[name] = true
			t.Run(name, func(t *testing.T) {
				want, ok := fixturePlans[name]
				if !ok {
					t.Fatalf("fixture %s has no row in fixturePlans; add one", name)
				}
				checkFixturePlan(t, name, want)
			})
		}
	}
	for name := range fixturePlans {
		if !seen[name] {
			t.Errorf("fixturePlans has a row for %s but there is no such fixture", name)
		}
	}
}

func checkFixturePlan(t *testing.T, name string, want fixturePlan) {
	data, err := os.ReadFile(filepath.Join(planFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Parse(data)
	if want.refused != "" {
		if err == nil || !strings.Contains(err.Error(), want.refused) {
			t.Fatalf("err = %v, want it to contain %q", err, want.refused)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if rep.Family != want.family {
		t.Errorf("Family = %q, want %q", rep.Family, want.family)
	}

	// As frontend/plan.go turns findings into plan input; the installed
	// versions are the report's own.
	installed := map[string]string{}
	var findings []distros.Finding
	for _, f := range rep.Findings {
		findings = append(findings, distros.Finding{
			Package:         f.Package,
			FixedVersions:   f.FixedVersions(),
			VulnerabilityID: f.VulnerabilityID,
			Entry:           name + " " + f.Entry,
		})
		if cur, ok := installed[f.Package]; ok && cur != f.InstalledVersion {
			t.Errorf("%s is installed as %s and as %s in the same report", f.Package, cur, f.InstalledVersion)
		}
		installed[f.Package] = f.InstalledVersion
	}
	var gotUpdates []string
	gotSkipped := map[distros.SkipReason]int{}
	if len(findings) > 0 {
		format, _, ok := all.Registry.ForFamily(rep.Family)
		if !ok {
			t.Fatalf("no format for family %q", rep.Family)
		}
		v := format.Versioning()
		// Names and fixed versions are checked as the frontend checks
		// them; the installed ones must fit the same grammar, as the
		// image's database will.
		for _, f := range findings {
			if err := f.Validate(v); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		}
		for p, ver := range installed {
			if err := v.ValidVersion(ver); err != nil {
				t.Errorf("%s: installed version: %v", p, err)
			}
		}
		plan := distros.MakePlan(v, distrostest.Installed(installed), findings)
		for _, u := range plan.Updates {
			gotUpdates = append(gotUpdates, strings.Join(append([]string{u.Name, u.Fixed}, u.VulnerabilityIDs...), " "))
		}
		for _, s := range plan.Skipped {
			gotSkipped[s.Reason]++
		}
	}
	if !reflect.DeepEqual(gotUpdates, want.updates) {
		t.Errorf("updates:\n got %q\nwant %q", gotUpdates, want.updates)
	}
	if want.skipped == nil {
		want.skipped = map[distros.SkipReason]int{}
	}
	if !reflect.DeepEqual(gotSkipped, want.skipped) {
		t.Errorf("skipped = %v, want %v", gotSkipped, want.skipped)
	}
}
