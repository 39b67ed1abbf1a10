package report_test

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/frontend/report"
	"github.com/copa/frontend/internal/fuzzseed"
)

// Fuzz targets of the report readers, seeded with the shared report
// fixtures of their scanner (../shared/fixtures/reports) and a few
// hand-written reports. `make fuzz` runs each; crashers found land in
// testdata/fuzz/<target>/ and are replayed by every `go test`.

// The package's bounds (report.go), restated: the fuzz targets check the
// output against them.
const (
	maxFieldLen = 4096
	maxFindings = 100000
	// maxEntryLen bounds Finding.Entry, "Results[i].Vulnerabilities[j]
	// (id, name)" with id and name clipped to 64 bytes each, which
	// escaping unprintable runes (as \u00ad) can make up to three times
	// longer.
	maxEntryLen = 512
)

// FuzzParseTrivy fuzzes Parse from Trivy reports (checkParse).
func FuzzParseTrivy(f *testing.F) {
	for _, s := range []string{
		`{"SchemaVersion":2,"Metadata":{"OS":{"Family":"debian","Name":"12.5"},"ImageConfig":{"architecture":"arm","variant":"v7"}},"Results":[{"Class":"os-pkgs","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"libssl3","InstalledVersion":"3.0.11-1~deb12u1","FixedVersion":"3.0.11-1~deb12u2, 3.0.13-1~deb12u1"}]},{"Class":"lang-pkgs","Type":"npm","Vulnerabilities":[{}]}]}`,
		`{"SchemaVersion":2,"ArtifactName":"x","Results":[{"Type":"alpine","Vulnerabilities":[{"VulnerabilityID":"CVE-2","PkgName":"musl","InstalledVersion":"1.2.5-r8","FixedVersion":"1.2.5-r9"}]}],"Metadata":{"OS":{"Family":"opensuse.leap","Name":"15.1"}}}`,
		`{"SchemaVersion":1,"Results":[]}`,
		`[{"Target":"x","Vulnerabilities":[]}]`,
		"\xef\xbb\xbf{\"SchemaVersion\":2,\"Results\":null,\"Metadata\":{\"OS\":{\"Family\":\"none\"}}}",
	} {
		f.Add([]byte(s))
	}
	for _, data := range fuzzseed.Files(f, "reports/trivy", ".json") {
		f.Add(data)
	}
	f.Fuzz(checkParse)
}

// FuzzParseGrype fuzzes Parse from Grype reports (checkParse).
func FuzzParseGrype(f *testing.F) {
	for _, s := range []string{
		`{"descriptor":{"name":"grype"},"distro":{"name":"rockylinux","version":"9.3"},"source":{"target":{"architecture":"arm64"}},"matches":[{"vulnerability":{"id":"CVE-1","namespace":"rocky:distro:rocky:9","fix":{"state":"fixed","versions":["1:3.0.7-25.el9_3"," 3.0.7-27.el9 "]}},"matchDetails":[],"artifact":{"name":"openssl-libs","version":"1:3.0.7-24.el9","type":"rpm"}},{"vulnerability":{"id":"GHSA-1","namespace":"github:language:go","fix":{"state":"not-fixed"}},"matchDetails":[],"artifact":{"name":"x","version":"1","type":"go-module"}}]}`,
		`{"descriptor":{"name":"grype"},"distro":{"name":"debian","version":"10"},"source":{"target":"/dir"},"matches":[{"vulnerability":{"id":"CVE-2","namespace":"debian:10","fix":{"state":"wont-fix","versions":[]}},"matchDetails":[],"artifact":{"name":"libc6","version":"2.28-10","type":"deb"}}]}`,
		`{"descriptor":{"name":"grype"},"matches":null}`,
		`{"descriptor":{"name":"grype"},"matches":[{"vulnerability":{"id":"CVE-3"},"matchDetails":{},"artifact":{}}]}`,
	} {
		f.Add([]byte(s))
	}
	for _, data := range fuzzseed.Files(f, "reports/grype", ".json") {
		f.Add(data)
	}
	f.Fuzz(checkParse)
}

// checkParse parses data and checks what a reader promises of any input:
// an error or a report, never both; the same from ReadFile; a known
// format; every kept string within maxFieldLen, valid UTF-8 and free of
// control characters; findings only with an OS family, each with a
// package, an installed version and an ID, and fixed versions that are
// trimmed and comma-free; counts within maxFindings. Then, as the frontend
// does, it validates the findings against their format's grammar (which
// must then accept only safe words) and plans them, which must only ever
// upgrade.
func checkParse(t *testing.T, data []byte) {
	rep, err := report.Parse(data)
	rep2, err2 := report.ReadFile(bytes.NewReader(data))
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(rep, rep2) {
		t.Fatalf("Parse: %v; ReadFile of the same bytes: %v", err, err2)
	}
	if err != nil {
		if rep != nil {
			t.Fatalf("Parse returned both a report and the error %v", err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Fatalf("error %q is not valid UTF-8", err)
		}
		return
	}
	if rep.Format != report.FormatTrivy && rep.Format != report.FormatGrype {
		t.Fatalf("Format %q", rep.Format)
	}
	checkString(t, "Family", rep.Family, maxFieldLen)
	checkString(t, "OSVersion", rep.OSVersion, maxFieldLen)
	checkString(t, "Arch", rep.Arch, 2*maxFieldLen+1) // architecture "/" variant
	if rep.Family != strings.ToLower(strings.TrimSpace(rep.Family)) {
		t.Fatalf("Family %q is not normalised", rep.Family)
	}
	if rep.Family == "" && (rep.OSVersion != "" || len(rep.Findings) > 0) {
		t.Fatalf("no Family but OSVersion %q and %d findings", rep.OSVersion, len(rep.Findings))
	}
	if n := len(rep.Findings) + rep.SkippedLanguageFindings; n > maxFindings || rep.SkippedLanguageFindings < 0 {
		t.Fatalf("%d findings and %d skipped", len(rep.Findings), rep.SkippedLanguageFindings)
	}
	for _, fd := range rep.Findings {
		for name, v := range map[string]string{"Package": fd.Package, "InstalledVersion": fd.InstalledVersion, "VulnerabilityID": fd.VulnerabilityID} {
			if v == "" {
				t.Fatalf("%s: empty %s", fd.Entry, name)
			}
			checkString(t, name, v, maxFieldLen)
		}
		checkString(t, "FixedVersion", fd.FixedVersion, maxFieldLen)
		checkString(t, "Entry", fd.Entry, maxEntryLen)
		for _, fv := range fd.FixedVersions() {
			if fv == "" || fv != strings.TrimSpace(fv) || strings.Contains(fv, ",") {
				t.Fatalf("%s: fixed version %q", fd.Entry, fv)
			}
		}
	}
	if format, _, ok := all.Registry.ForFamily(rep.Family); ok {
		checkPlan(t, format.Versioning(), rep.Findings)
	}
}

// checkString fails t when s is longer than limit, not valid UTF-8, or
// holds a control character.
func checkString(t *testing.T, name, s string, limit int) {
	t.Helper()
	if len(s) > limit || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		t.Fatalf("%s %q: %d bytes (limit %d), or invalid UTF-8 or control characters", name, s, len(s), limit)
	}
}

// checkPlan validates the findings as the frontend's planning does, and
// plans the valid ones against an image with their valid installed
// versions: what Validate accepts must be safe words, and the plan may
// only upgrade each package to one of its findings' fixed versions.
func checkPlan(t *testing.T, v distros.Versioning, findings []report.Finding) {
	var valid []distros.Finding
	var installed distros.Packages
	for _, fd := range findings {
		df := distros.Finding{Package: fd.Package, FixedVersions: fd.FixedVersions(), VulnerabilityID: fd.VulnerabilityID, Entry: fd.Entry}
		if df.Validate(v) != nil {
			continue
		}
		distrostest.CheckSafeWord(t, "package", df.Package)
		for _, fv := range df.FixedVersions {
			distrostest.CheckSafeWord(t, "fixed version", fv)
		}
		valid = append(valid, df)
		if v.ValidVersion(fd.InstalledVersion) == nil {
			installed = append(installed, distros.Package{Name: fd.Package, Version: fd.InstalledVersion})
		}
	}
	p := distros.MakePlan(v, installed, valid)
	seen := map[string]bool{}
	for _, u := range p.Updates {
		if seen[u.Name] {
			t.Fatalf("plan updates %s twice: %+v", u.Name, p.Updates)
		}
		seen[u.Name] = true
		if v.Compare(u.Fixed, u.Installed) <= 0 {
			t.Fatalf("plan downgrades or keeps %s %s as %s", u.Name, u.Installed, u.Fixed)
		}
		if !slices.ContainsFunc(valid, func(f distros.Finding) bool {
			return f.Package == u.Name && slices.Contains(f.FixedVersions, u.Fixed)
		}) {
			t.Fatalf("plan updates %s to %s, which no finding names", u.Name, u.Fixed)
		}
	}
}
