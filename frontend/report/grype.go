package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// grypeTop is the part of a Grype JSON report read in one go. Matches is
// skipped here and walked in place entry by entry (see parseGrype and
// scan.go), so that the number of decoded matches can be bounded before
// they are allocated and the array is not copied.
type grypeTop struct {
	Matches skipValue `json:"matches"` // read by memberValue
	Source  struct {
		// Target is an object for image scans and a plain string (the
		// path) for directory scans, so it is inspected raw.
		Target json.RawMessage `json:"target"`
	} `json:"source"`
	Distro *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"distro"`
}

// grypeMatch is the subset of a matches[] entry a patcher needs.
type grypeMatch struct {
	Vulnerability struct {
		ID        string `json:"id"`
		Namespace string `json:"namespace"`
		// Fix is nil only in reports from before Grype v0.13.0, which
		// had no fix information at all.
		Fix *struct {
			State    string   `json:"state"`
			Versions []string `json:"versions"`
		} `json:"fix"`
	} `json:"vulnerability"`
	// MatchDetails is an array since Grype v0.13.0 and was an object
	// before; only its shape is looked at.
	MatchDetails json.RawMessage `json:"matchDetails"`
	Artifact     struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Type    string `json:"type"`
	} `json:"artifact"`
}

const grypeRegenerate = "regenerate it with `grype <image> -o json --file report.json`"

// grypeLegacy explains why reports of Grype before v0.13.0 (June 2021) are
// refused: they carry no fix information, so nothing could be patched, and
// Grype's own vulnerability data for them is no longer published.
const grypeLegacy = "this Grype report is from before Grype v0.13.0 (June 2021): it has no vulnerability.fix, so the fixed versions are unknown; rescan the image with a current Grype (`grype <image> -o json --file report.json`)"

// grypeOSTypes are the artifact types of OS packages this frontend can
// patch; alpm, portage and nix packages have no backend.
var grypeOSTypes = map[string]bool{"deb": true, "apk": true, "rpm": true}

// grypeFamilies maps Grype's distro names (grype/distro/type.go, written as
// distro.name) to Trivy's family names, which Report.Family uses. Grype
// names not listed pass through lower-cased, like unknown Trivy families.
var grypeFamilies = map[string]string{
	"debian":        "debian",
	"ubuntu":        "ubuntu",
	"alpine":        "alpine",
	"redhat":        "redhat",
	"rhel":          "redhat",
	"centos":        "centos",
	"rockylinux":    "rocky",
	"rocky":         "rocky",
	"almalinux":     "alma",
	"oraclelinux":   "oracle",
	"ol":            "oracle",
	"amazonlinux":   "amazon",
	"amzn":          "amazon",
	"mariner":       "cbl-mariner",
	"azurelinux":    "azurelinux",
	"photon":        "photon",
	"sles":          "sles",
	"opensuseleap":  "opensuse-leap",
	"opensuse-leap": "opensuse-leap",
	"fedora":        "fedora",
	"wolfi":         "wolfi",
	"chainguard":    "chainguard",
	"minimos":       "minimos",
	"echo":          "echo",
}

// grypeFamily maps a Grype distro name to Report.Family.
func grypeFamily(name string) string {
	f := strings.ToLower(strings.TrimSpace(name))
	if t, ok := grypeFamilies[f]; ok {
		return t
	}
	return normaliseFamily(f)
}

// isGrypeDistroNamespace tells whether a vulnerability namespace is a
// distro's own feed: "debian:distro:debian:10" since Grype's v5 database,
// "debian:10" before. "nvd:cpe" (CPE matches) and "github:language:go" /
// "github:go" (language advisories) are not.
func isGrypeDistroNamespace(ns string) bool {
	if strings.Contains(ns, ":distro:") {
		return true
	}
	parts := strings.Split(ns, ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return false
	}
	switch parts[0] {
	case "nvd", "github", "msrc":
		return false
	}
	return true
}

// parseGrype reads a Grype JSON report (detect has already checked the
// descriptor and the JSON syntax).
func parseGrype(data []byte) (*Report, error) {
	var top grypeTop
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, grypeSchemaError("", err)
	}

	rep := &Report{Format: FormatGrype}
	if d := top.Distro; d != nil {
		if err := checkFields("distro", [2]string{"name", d.Name}, [2]string{"version", d.Version}); err != nil {
			return nil, err
		}
		rep.Family = grypeFamily(d.Name)
		if rep.Family != "" {
			rep.OSVersion = d.Version
		}
	}
	arch := jsonStringField(top.Source.Target, "architecture")
	if err := checkField("source.target", "architecture", arch); err != nil {
		return nil, err
	}
	rep.Arch = arch

	matches := memberValue(data, "matches")
	if n := countElements(matches); n > 0 && n <= maxFindings {
		rep.Findings = make([]Finding, 0, n) // see parseTrivy
	}
	err := eachElement(matches, func(i int, raw []byte) error {
		where := fmt.Sprintf("matches[%d]", i)
		if i >= maxFindings {
			return fmt.Errorf("%s: report has more than %d matches, which no real image scan has; split the scan or %s", where, maxFindings, grypeRegenerate)
		}
		var m grypeMatch
		if err := json.Unmarshal(raw, &m); err != nil {
			return grypeSchemaError(where, err)
		}
		if md := bytes.TrimSpace(m.MatchDetails); len(md) > 0 && md[0] == '{' || m.Vulnerability.Fix == nil {
			return fmt.Errorf("%s: %s", where, grypeLegacy)
		}
		if !grypeOSTypes[m.Artifact.Type] || !isGrypeDistroNamespace(m.Vulnerability.Namespace) {
			rep.SkippedLanguageFindings++
			return nil
		}
		f, err := grypeFinding(where, m)
		if err != nil {
			return err
		}
		rep.Findings = append(rep.Findings, f)
		return nil
	})
	if errors.Is(err, errNotArray) {
		return nil, fmt.Errorf("matches %w; %s", err, grypeRegenerate)
	}
	if err != nil {
		return nil, err
	}

	if rep.Family == "" && len(rep.Findings) > 0 {
		return nil, fmt.Errorf("report has OS package vulnerabilities but names no OS (distro.name is empty), so the package manager cannot be chosen; %s", grypeRegenerate)
	}
	return rep, nil
}

// grypeFinding validates one OS match and converts it.
func grypeFinding(where string, m grypeMatch) (Finding, error) {
	v, a := m.Vulnerability, m.Artifact
	if err := checkFields(where,
		[2]string{"vulnerability.id", v.ID},
		[2]string{"artifact.name", a.Name},
		[2]string{"artifact.version", a.Version},
		[2]string{"vulnerability.fix.state", v.Fix.State},
	); err != nil {
		return Finding{}, err
	}
	entry := fmt.Sprintf("%s (%s, %s)", where, clip(v.ID), clip(a.Name))
	if err := requireFields(entry, grypeRegenerate,
		[2]string{"artifact.name", a.Name},
		[2]string{"artifact.version", a.Version},
		[2]string{"vulnerability.id", v.ID},
	); err != nil {
		return Finding{}, err
	}
	fixed := ""
	if v.Fix.State == "fixed" {
		var versions []string
		for j, fv := range v.Fix.Versions {
			name := fmt.Sprintf("vulnerability.fix.versions[%d]", j)
			if err := checkField(where, name, fv); err != nil {
				return Finding{}, err
			}
			// FixedVersions splits on commas, and no package version
			// of deb, apk or rpm has one.
			if strings.Contains(fv, ",") {
				return Finding{}, fmt.Errorf("%s: %s %q contains a comma, which no package version has; the report is corrupt, so %s", entry, name, clip(fv), grypeRegenerate)
			}
			if fv = strings.TrimSpace(fv); fv != "" {
				versions = append(versions, fv)
			}
		}
		fixed = strings.Join(versions, ", ")
		if err := checkField(where, "vulnerability.fix.versions", fixed); err != nil {
			return Finding{}, err
		}
	}
	return Finding{
		Package:          a.Name,
		InstalledVersion: a.Version,
		FixedVersion:     fixed,
		VulnerabilityID:  v.ID,
		Entry:            entry,
	}, nil
}

// grypeSchemaError explains a decoding failure against Grype's schema.
func grypeSchemaError(where string, err error) error {
	return decodeError(where, err, "Grype", grypeRegenerate)
}
