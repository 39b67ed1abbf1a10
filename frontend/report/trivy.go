package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// trivyTop is the part of a Trivy SchemaVersion 2 report read in one go.
// Results is skipped here and walked in place entry by entry (see
// parseTrivy and scan.go), so that the number of decoded vulnerabilities
// can be bounded before they are allocated and the array is not copied.
type trivyTop struct {
	Metadata struct {
		OS *struct {
			Family string `json:"Family"`
			Name   string `json:"Name"`
		} `json:"OS"`
		// ImageConfig is the OCI image config, hence lower-case keys.
		ImageConfig struct {
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"ImageConfig"`
	} `json:"Metadata"`
	Results skipValue `json:"Results"` // read by memberValue
}

// trivyResult is one Results[] entry; its vulnerabilities are walked in
// place too.
type trivyResult struct {
	Class           string    `json:"Class"`
	Type            string    `json:"Type"`
	Vulnerabilities skipValue `json:"Vulnerabilities"` // read by memberValue
}

// trivyVuln is the subset of a DetectedVulnerability a patcher needs.
type trivyVuln struct {
	VulnerabilityID  string `json:"VulnerabilityID"`
	PkgName          string `json:"PkgName"`
	InstalledVersion string `json:"InstalledVersion"`
	FixedVersion     string `json:"FixedVersion"`
}

const trivyRegenerate = "regenerate it with `trivy image -f json -o report.json <image>`"

// parseTrivy reads a Trivy JSON report, SchemaVersion 2 (detect has already
// checked the version and the JSON syntax).
func parseTrivy(data []byte) (*Report, error) {
	var top trivyTop
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, schemaError("", err)
	}

	rep := &Report{Format: FormatTrivy}
	osFamilyRaw := ""
	if o := top.Metadata.OS; o != nil {
		if err := checkField("Metadata.OS", "Family", o.Family); err != nil {
			return nil, err
		}
		if err := checkField("Metadata.OS", "Name", o.Name); err != nil {
			return nil, err
		}
		osFamilyRaw = o.Family
		rep.Family = normaliseFamily(o.Family)
		if rep.Family != "" {
			rep.OSVersion = o.Name
		}
	}
	ic := top.Metadata.ImageConfig
	if err := checkField("Metadata.ImageConfig", "architecture", ic.Architecture); err != nil {
		return nil, err
	}
	if err := checkField("Metadata.ImageConfig", "variant", ic.Variant); err != nil {
		return nil, err
	}
	if ic.Architecture != "" {
		rep.Arch = ic.Architecture
		if ic.Variant != "" {
			rep.Arch += "/" + ic.Variant
		}
	}

	// The family of the os-pkgs results, and where it was first seen.
	resultFamily, resultWhere := "", ""
	total := 0 // vulnerability entries seen, OS and language

	err := eachElement(memberValue(data, "Results"), func(i int, raw []byte) error {
		where := fmt.Sprintf("Results[%d]", i)
		if i >= maxFindings {
			// Real reports have one result per OS or lockfile; this many
			// means a hostile file, and each result costs a decode.
			return fmt.Errorf("%s: report has more than %d results, which no real image scan has; %s", where, maxFindings, trivyRegenerate)
		}
		var res trivyResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return schemaError(where, err)
		}

		isOS := isTrivyOSResult(res, osFamilyRaw)
		if isOS {
			if err := checkField(where, "Type", res.Type); err != nil {
				return err
			}
			if t := normaliseFamily(res.Type); t != "" {
				switch {
				case resultFamily == "":
					resultFamily, resultWhere = t, where
				case t != resultFamily:
					return fmt.Errorf("%s is an OS result for %q but %s is for %q; a report must cover one OS, so scan one image (one platform) per report", where, clip(t), resultWhere, clip(resultFamily))
				}
			}
		}
		// Only language results are counted as skipped: config, secret and
		// license results carry no Vulnerabilities to speak of.
		isLang := res.Class == "lang-pkgs" || (res.Class == "" && !isOS)

		vulns := memberValue(raw, "Vulnerabilities")
		if isOS {
			// Room for them all at once: grown by append, a large
			// report's findings would be allocated five times over.
			if n := countElements(vulns); n > 0 && total+n <= maxFindings {
				rep.Findings = slices.Grow(rep.Findings, n)
			}
		}
		err := eachElement(vulns, func(j int, vraw []byte) error {
			vwhere := fmt.Sprintf("%s.Vulnerabilities[%d]", where, j)
			total++
			if total > maxFindings {
				return fmt.Errorf("%s: report has more than %d vulnerability entries, which no real image scan has; scan only OS packages (`trivy image --pkg-types os -f json`) or split the scan", vwhere, maxFindings)
			}
			if !isOS {
				if isLang {
					rep.SkippedLanguageFindings++
				}
				return nil
			}
			var v trivyVuln
			if err := json.Unmarshal(vraw, &v); err != nil {
				return schemaError(vwhere, err)
			}
			f, err := trivyFinding(vwhere, v)
			if err != nil {
				return err
			}
			rep.Findings = append(rep.Findings, f)
			return nil
		})
		if errors.Is(err, errNotArray) {
			return fmt.Errorf("%s.Vulnerabilities %v; %s", where, err, trivyRegenerate) // %v: the outer check must not match it again
		}
		return err
	})
	if errors.Is(err, errNotArray) {
		return nil, fmt.Errorf("Results %w; %s", err, trivyRegenerate)
	}
	if err != nil {
		return nil, err
	}

	if rep.Family == "" {
		rep.Family = resultFamily
	} else if resultFamily != "" && resultFamily != rep.Family {
		return nil, fmt.Errorf("Metadata.OS.Family is %q but %s is an OS result for %q; the report is inconsistent, so %s", clip(osFamilyRaw), resultWhere, clip(resultFamily), trivyRegenerate)
	}
	if rep.Family == "" && len(rep.Findings) > 0 {
		return nil, fmt.Errorf("report has OS package vulnerabilities but names no OS (Metadata.OS.Family and the os-pkgs Type are empty), so the package manager cannot be chosen; %s", trivyRegenerate)
	}
	return rep, nil
}

// isTrivyOSResult tells whether a result lists OS packages. Class exists
// since Trivy v0.20; for older results without it, the Type of an OS result
// is the OS family, whereas language results use ecosystem names.
func isTrivyOSResult(res trivyResult, osFamily string) bool {
	if res.Class != "" {
		return res.Class == "os-pkgs"
	}
	t := normaliseFamily(res.Type)
	if t == "" {
		return false
	}
	return t == normaliseFamily(osFamily) || knownFamilies[t]
}

// trivyFinding validates one OS vulnerability entry and converts it.
func trivyFinding(where string, v trivyVuln) (Finding, error) {
	if err := checkFields(where,
		[2]string{"VulnerabilityID", v.VulnerabilityID},
		[2]string{"PkgName", v.PkgName},
		[2]string{"InstalledVersion", v.InstalledVersion},
		[2]string{"FixedVersion", v.FixedVersion},
	); err != nil {
		return Finding{}, err
	}
	entry := fmt.Sprintf("%s (%s, %s)", where, clip(v.VulnerabilityID), clip(v.PkgName))
	if err := requireFields(entry, trivyRegenerate,
		[2]string{"PkgName", v.PkgName},
		[2]string{"InstalledVersion", v.InstalledVersion},
		[2]string{"VulnerabilityID", v.VulnerabilityID},
	); err != nil {
		return Finding{}, err
	}
	return Finding{
		Package:          v.PkgName,
		InstalledVersion: v.InstalledVersion,
		FixedVersion:     v.FixedVersion,
		VulnerabilityID:  v.VulnerabilityID,
		Entry:            entry,
	}, nil
}

// schemaError explains a decoding failure against Trivy's schema.
func schemaError(where string, err error) error {
	return decodeError(where, err, "Trivy", trivyRegenerate)
}
