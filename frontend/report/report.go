// Package report turns a vulnerability scanner's JSON report (Trivy or
// Grype) into a neutral list of OS-package findings, so that the patching
// code never depends on one scanner's schema: each scanner has its own
// reader, chosen from the report's content.
//
// Reports are untrusted input: every reader bounds the input size, the number
// of vulnerability entries and the length of each string it keeps, and names
// the offending entry when it rejects something.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSize bounds how many bytes of report are read (reports are untrusted
// input). 64 MiB is far above any real image scan (the largest real reports
// are a few MiB) while keeping the frontend's memory use predictable.
const MaxSize = 64 << 20

// maxFindings bounds the vulnerability entries (OS and language) of one
// report, because each decoded entry costs memory well beyond its bytes in
// the file: a 64 MiB report of tiny entries could otherwise use gigabytes.
const maxFindings = 100000

// maxFieldLen bounds every string the package keeps or prints. Real package
// names, versions and IDs are under 200 bytes; longer values mean a corrupt or
// hostile report, and would flood logs and build commands.
const maxFieldLen = 4096

// Report.Format values, so callers can branch on the scanner (e.g. in
// messages) without comparing against a literal.
const (
	// FormatTrivy is Trivy JSON, SchemaVersion 2 (`trivy image -f json`).
	FormatTrivy = "trivy"
	// FormatGrype is Grype JSON (`grype <image> -o json`).
	FormatGrype = "grype"
)

// Report is the scanner-neutral view of a report: just what is needed to
// choose a package manager and compute package upgrades.
type Report struct {
	// Format names the scanner whose schema was read (FormatTrivy,
	// FormatGrype), for messages that must tell the user which report was
	// misunderstood.
	Format string

	// Family is the OS family in Trivy's vocabulary, in lower case with
	// legacy names replaced by current ones ("opensuse.leap" →
	// "opensuse-leap"), so that reports from old and new scanner versions,
	// and from Grype (whose "rockylinux" becomes "rocky"), select the same
	// distro backend.
	// It is "" when the report found no OS, in which case there are no
	// findings either.
	Family string

	// OSVersion is the OS version exactly as the scanner detected it
	// (e.g. "12.5", "2 (Karoo)", "20240607"); its shape is distro-specific,
	// so interpreting it is left to the distro backend.
	OSVersion string

	// Arch is the image architecture from the report ("arm64",
	// "arm/v7"), used to check the report matches the platform being
	// patched. It is "" when the report does not say (SBOM and VM scans).
	Arch string

	// Findings lists OS-package vulnerabilities in report order, so that
	// error messages and VEX output follow the user's report. Entries are
	// not merged: the same package may appear once per vulnerability with
	// different fixed versions, and picking the highest needs the distro's
	// version ordering.
	Findings []Finding

	// SkippedLanguageFindings counts vulnerabilities in language-package
	// results, which this frontend does not patch; the build reports the
	// number so users are not misled into thinking the image is clean.
	SkippedLanguageFindings int
}

// Finding is one (package, vulnerability) pair of an OS package.
type Finding struct {
	// Package is the binary package name, the one the package manager
	// installs (e.g. "libssl1.1", not the source package "openssl").
	Package string

	// InstalledVersion is the version in the image, in the distro's own
	// format (RPM epochs included, e.g. "1:1.0.2k-16.el7").
	InstalledVersion string

	// FixedVersion is the scanner's raw fixed-version string: "" when the
	// scanner knows no fix (such findings cannot be patched), and possibly
	// a ", "-joined list from supplier detectors; see FixedVersions.
	FixedVersion string

	// VulnerabilityID is the scanner's ID (CVE-…, GHSA-…, ALAS-…,
	// SUSE-SU-…), kept for VEX output and messages.
	VulnerabilityID string

	// Entry locates the finding in the report for error messages, e.g.
	// "Results[0].Vulnerabilities[3] (CVE-2019-18224, libidn2-0)", so a
	// user can find the line that caused a failure.
	Entry string
}

// FixedVersions splits FixedVersion into its entries, because supplier
// detectors (seal, rootio, rapidfort) join several fixed versions with ", ".
// The list keeps the report's order; choosing among the entries needs the
// distro's version ordering and is the distro backend's job. It returns nil
// when the scanner knows no fix.
func (f Finding) FixedVersions() []string {
	var out []string
	for _, v := range strings.Split(f.FixedVersion, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ReadFile reads a report from r and parses it. It stops reading after
// MaxSize+1 bytes so an oversized or endless input cannot exhaust memory.
func ReadFile(r io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading vulnerability report: %w", err)
	}
	if len(data) > MaxSize {
		return nil, errTooLarge()
	}
	return Parse(data)
}

// Parse detects the scanner format from the content (never from a file name,
// which users choose freely) and reads the report.
func Parse(data []byte) (*Report, error) {
	if len(data) > MaxSize {
		return nil, errTooLarge()
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM, added by some Windows editors
	format, err := detect(data)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatTrivy:
		return parseTrivy(data)
	case FormatGrype:
		return parseGrype(data)
	default:
		// detect only returns formats handled above.
		return nil, fmt.Errorf("internal error: no reader for report format %q", format)
	}
}

func errTooLarge() error {
	return errors.New("report is larger than 64 MiB; scan only OS packages to shrink it (`trivy image --pkg-types os -f json`)")
}

// present records that a JSON key was set to something other than null,
// without decoding (or copying) its value.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

// keySet records that a JSON key was there at all, even as null (so that a
// Grype report with "matches": null is still recognised), without decoding
// its value.
type keySet bool

func (k *keySet) UnmarshalJSON([]byte) error {
	*k = true
	return nil
}

// probe holds only the top-level keys that tell the formats apart. Values
// are raw or presence-only, so that a type mismatch in a field the detector
// does not care about cannot hide the real format.
type probe struct {
	// Trivy
	SchemaVersion json.RawMessage `json:"SchemaVersion"`
	ArtifactName  present         `json:"ArtifactName"`
	ArtifactType  present         `json:"ArtifactType"`
	Metadata      present         `json:"Metadata"`
	Results       present         `json:"Results"`
	// Grype
	Matches    keySet          `json:"matches"`
	Descriptor json.RawMessage `json:"descriptor"`
	// Other well-known documents, only to give a better hint.
	BOMFormat   json.RawMessage `json:"bomFormat"`
	SPDXVersion present         `json:"spdxVersion"`
	Schema      json.RawMessage `json:"$schema"`
	Runs        present         `json:"runs"`
	Context     json.RawMessage `json:"@context"`
}

const expectReport = "expected Trivy JSON, SchemaVersion 2, as written by `trivy image -f json -o report.json <image>`, or Grype JSON from `grype <image> -o json --file report.json`"

// legacyTrivy reports whether a JSON array is a Trivy report of before
// v0.20: a list of results, each with a Target and, for OS packages, a
// Type and Vulnerabilities. Only the first element is decoded.
func legacyTrivy(array []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(array))
	if _, err := dec.Token(); err != nil || !dec.More() {
		return false
	}
	var first map[string]json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return false
	}
	_, target := first["Target"]
	_, vulns := first["Vulnerabilities"]
	_, typ := first["Type"]
	return target && (vulns || typ)
}

// detect returns the report format, or an error that tells the user what to
// produce instead.
func detect(data []byte) (string, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("report is empty (%s)", expectReport)
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return "", errors.New("report is UTF-16 encoded (PowerShell's `>` does this); write it as UTF-8 with `trivy image -f json -o report.json <image>`")
	}
	switch trimmed[0] {
	case '[', '{':
	default:
		return "", fmt.Errorf("not a recognised scanner report: it is not JSON (%s; table and template output cannot be read)", expectReport)
	}
	if trimmed[0] == '[' {
		if !json.Valid(data) {
			return "", syntaxError(data)
		}
		if legacyTrivy(trimmed) {
			return "", errors.New("Trivy report from before v0.20 (SchemaVersion 1) is not supported; rescan with Trivy ≥ 0.20 (`trivy image -f json`)")
		}
		return "", fmt.Errorf("not a recognised scanner report: a JSON array, whose first element is not a Trivy result (%s)", expectReport)
	}

	// Unmarshal checks the syntax of the whole document before decoding, so
	// this one pass also guarantees later decoding can fail only on types.
	var p probe
	if err := json.Unmarshal(data, &p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return "", syntaxError(data)
		}
		// Probe fields accept any JSON value, so this is not expected.
		return "", fmt.Errorf("not a recognised scanner report (%s): %w", expectReport, err)
	}

	if p.Matches && jsonStringField(p.Descriptor, "name") == "grype" {
		return FormatGrype, nil
	}

	trivyKeys := bool(p.ArtifactName || p.ArtifactType || p.Metadata || p.Results)
	if len(p.SchemaVersion) > 0 && trivyKeys {
		v, err := strconv.Atoi(string(p.SchemaVersion))
		switch {
		case err != nil:
			return "", fmt.Errorf("not a recognised scanner report: SchemaVersion is %s, not a number (%s)", clip(string(p.SchemaVersion)), expectReport)
		case v == 2:
			return FormatTrivy, nil
		default:
			return "", fmt.Errorf("Trivy report SchemaVersion %d is not supported; only SchemaVersion 2 (Trivy ≥ 0.20) can be read, so rescan with a Trivy release that writes it", v)
		}
	}

	hint := ""
	switch {
	case jsonString(p.BOMFormat) == "CycloneDX":
		hint = "; this is a CycloneDX document, scan it with Trivy first (`trivy sbom -f json`)"
	case bool(p.SPDXVersion):
		hint = "; this is an SPDX document, scan it with Trivy first (`trivy sbom -f json`)"
	case bool(p.Runs) && strings.Contains(strings.ToLower(jsonString(p.Schema)), "sarif"):
		hint = "; this is SARIF output, use `-f json` instead"
	case strings.Contains(jsonString(p.Context), "openvex"):
		hint = "; this is an OpenVEX document, not a scan report"
	}
	return "", fmt.Errorf("not a recognised scanner report (%s)%s", expectReport, hint)
}

// syntaxError explains where invalid JSON breaks, because a cut-short file
// (an interrupted copy or upload) is the usual cause.
func syntaxError(data []byte) error {
	// Unmarshal validates the whole input before decoding, so on invalid
	// input it returns the *SyntaxError with its offset.
	var v struct{}
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("report is not valid JSON (%v at byte %d of %d); if the file was cut short, write it again with `trivy image -f json -o report.json <image>`", se, se.Offset, len(data))
	}
	return errors.New("report is not valid JSON; if the file was cut short, write it again with `trivy image -f json -o report.json <image>`")
}

// jsonString returns raw as a string if it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonStringField returns raw[key] if raw is an object whose key is a string.
func jsonStringField(raw json.RawMessage, key string) string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return jsonString(m[key])
}

// checkField rejects strings that no real report contains: longer than
// maxFieldLen, invalid UTF-8, or with control characters (which no package
// name, version or ID allows, and which would garble logs and commands).
func checkField(where, name, value string) error {
	if len(value) > maxFieldLen {
		return fmt.Errorf("%s: %s is %d bytes, over the %d-byte limit; the report is corrupt or was not written by a scanner, so regenerate it", where, name, len(value), maxFieldLen)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%s: %s is not valid UTF-8; the report is corrupt, so regenerate it", where, name)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s: %s %s contains control characters; the report is corrupt, so regenerate it", where, name, clip(value))
		}
	}
	return nil
}

// clip makes an untrusted string safe to embed in a message: short, and with
// anything unprintable escaped.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			q := strconv.QuoteToGraphic(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// legacyFamilies maps OS family names written by Trivy before v0.58.0 to the
// current ones, so both report generations select the same distro backend.
var legacyFamilies = map[string]string{
	"suse linux enterprise server": "sles",
	"suse linux enterprise micro":  "slem",
	"opensuse.leap":                "opensuse-leap",
	"opensuse.tumbleweed":          "opensuse-tumbleweed",
}

// knownFamilies are the OS families Trivy can report (after normalisation).
// They identify OS results in old reports that carry no Class.
var knownFamilies = map[string]bool{
	"alma": true, "alpine": true, "amazon": true, "azurelinux": true,
	"bottlerocket": true, "cbl-mariner": true, "centos": true, "centos-stream": true,
	"chainguard": true, "coreos": true, "debian": true, "echo": true,
	"fedora": true, "minimos": true, "opensuse": true, "opensuse-leap": true,
	"opensuse-tumbleweed": true, "oracle": true, "photon": true, "redhat": true,
	"rocky": true, "sles": true, "slem": true, "ubuntu": true, "wolfi": true,
	"activestate": true,
}

// normaliseFamily maps a scanner's OS family name to the name Report.Family
// uses: lower case, legacy SUSE names replaced by current ones. Unknown names
// pass through (lower-cased) so the distro layer, not the parser, decides
// what is supported. "none" (Trivy's "no OS detected") becomes "".
func normaliseFamily(name string) string {
	f := strings.ToLower(strings.TrimSpace(name))
	if cur, ok := legacyFamilies[f]; ok {
		return cur
	}
	if f == "none" {
		return ""
	}
	return f
}

// skipValue lets the decoder step over a value without allocating (or
// copying) it; the readers use it for the arrays they walk in place.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// decodeError explains a decoding failure against a scanner's schema
// (scanner names it, regenerate says how to write the report again); the
// syntax was checked before, so these are wrong value types.
func decodeError(where string, err error, scanner, regenerate string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if where != "" && field != "" {
			field = where + "." + field
		} else if where != "" {
			field = where
		}
		if field == "" {
			field = "report"
		}
		return fmt.Errorf("%s should be a JSON %s, not %s; the report does not follow %s's JSON schema, so %s", field, jsonKind(te.Type.Kind().String()), te.Value, scanner, regenerate)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = errors.New("unexpected end of JSON input")
	}
	if where == "" {
		where = "report"
	}
	return fmt.Errorf("%s: %w; the report does not follow %s's JSON schema, so %s", where, err, scanner, regenerate)
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}

// checkFields runs checkField on name/value pairs in order.
func checkFields(where string, fields ...[2]string) error {
	for _, f := range fields {
		if err := checkField(where, f[0], f[1]); err != nil {
			return err
		}
	}
	return nil
}

// requireFields rejects a finding whose name/value pairs are empty: without
// them the package cannot be patched.
func requireFields(entry, regenerate string, fields ...[2]string) error {
	for _, f := range fields {
		if f[1] == "" {
			return fmt.Errorf("%s: %s is missing, so the package cannot be patched; the report is incomplete, %s", entry, f[0], regenerate)
		}
	}
	return nil
}
