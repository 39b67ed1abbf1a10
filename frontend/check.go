package frontend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/patchfile"
)

// checkRule is one rule of --call check (docs/check.md).
type checkRule struct {
	Name        string
	Description string
	// Info rules point something out; only the others fail a build that
	// says "# check=error=true".
	Info bool
}

// URL is the rule's section of docs/check.md.
func (r checkRule) URL() string {
	return "https://github.com/copa/frontend/blob/main/docs/check.md#" + strings.ToLower(r.Name)
}

// The rules.
var (
	ruleUnusedArg = checkRule{Name: "UnusedArg",
		Description: "An ARG is declared but no instruction uses it"}
	rulePatchByTag = checkRule{Name: "PatchByTag", Info: true,
		Description: "PATCH names the image by a tag, which can move: a digest names one image"}
	ruleUnresolvedWarn = checkRule{Name: "UnresolvedWarnWithReport",
		Description: "UNRESOLVED warn lets reported vulnerabilities stay unpatched without failing the build"}
	ruleReportWithoutFixes = checkRule{Name: "ReportWithoutFixes",
		Description: "A report has no finding with a fixed version, so it cannot change the image"}
	ruleReportOtherPlatform = checkRule{Name: "ReportForOtherPlatform",
		Description: "A report is of a platform the image does not have"}
	ruleEndOfLife = checkRule{Name: "ReleaseEndOfLife",
		Description: "A report scanned a release whose security support has ended"}
	ruleReportOtherOS = checkRule{Name: "ReportForOtherOS",
		Description: "A report is a scan of another OS family than the image's"}
	ruleReportNothingInstalled = checkRule{Name: "ReportNothingInstalled",
		Description: "None of the packages a report names is installed in the image"}
	ruleUnusedTooling = checkRule{Name: "UnusedTooling",
		Description: "TOOLING names a tooling image, but the image is patched with its own package manager"}
)

// checkRules lists every rule, for the docs' test.
var checkRules = []checkRule{ruleUnusedArg, rulePatchByTag, ruleUnresolvedWarn, ruleReportWithoutFixes, ruleReportOtherPlatform, ruleEndOfLife,
	ruleReportOtherOS, ruleReportNothingInstalled, ruleUnusedTooling}

// finding is one rule's finding on a Patchfile line.
type finding struct {
	rule     checkRule
	detail   string
	location []parser.Range
}

// checkPatchfile runs the rules that need only the Patchfile and its
// reports. The image is never pulled: the platform rule uses its config
// (src), the end-of-life rule the release the report names, against the
// per-release data; src may be nil.
func (b *builder) checkPatchfile(src *source, now time.Time) []finding {
	var out []finding
	pf := b.pf
	for _, d := range pf.Declared {
		if !pf.Used[d.Name] {
			out = append(out, finding{ruleUnusedArg, fmt.Sprintf("ARG %s is declared but not used", d.Name), d.Location})
		}
	}
	if named, err := reference.ParseNormalizedNamed(pf.Image.Value); err == nil {
		if _, digested := named.(reference.Digested); !digested {
			out = append(out, finding{rulePatchByTag, fmt.Sprintf("PATCH %s names a tag: the build patches whatever it points at then (PATCH %s@sha256:… names one image)", pf.Image.Value, reference.FamiliarName(named)), pf.Image.Location})
		}
	}
	if pf.Unresolved.Value == patchfile.PolicyWarn && len(pf.Reports) > 0 {
		out = append(out, finding{ruleUnresolvedWarn, "UNRESOLVED warn: a reported package whose fixed version no source offers is left as it is, and the build still succeeds (the summary lists it)", pf.Unresolved.Location})
	}
	for _, r := range b.reports {
		fixable := 0
		for _, f := range r.Findings {
			if len(f.FixedVersions()) > 0 {
				fixable++
			}
		}
		if fixable == 0 {
			out = append(out, finding{ruleReportWithoutFixes, fmt.Sprintf("REPORT %s has %d finding(s), none with a fixed version", r.Path, len(r.Findings)), r.Location})
		}
		if src != nil {
			if msg := reportPlatformMismatch(src, r); msg != "" {
				out = append(out, finding{ruleReportOtherPlatform, msg, r.Location})
			}
		}
		if rel, ok := b.reportRelease(r); ok && rel.EndOfLife(now) {
			out = append(out, finding{ruleEndOfLife, fmt.Sprintf("REPORT %s is a scan of %s, whose security support ended on %s: fixes may no longer be published", r.Path, rel, rel.EOL.Format("2006-01-02")), r.Location})
		}
	}
	return out
}

// reportPlatformMismatch says why a report cannot apply to any platform
// of the image, "" when it can.
func reportPlatformMismatch(src *source, r loadedReport) string {
	if r.Platform != "" {
		return boundToMissing(src, r)
	}
	if r.Arch == "" {
		return ""
	}
	for _, sp := range src.Platforms {
		if sameArch(r.Arch, sp.Platform) {
			return ""
		}
	}
	return fmt.Sprintf("REPORT %s is a scan of linux/%s, but %s has %s", r.Path, r.Arch, src.Name, src.platformList())
}

// reportRelease is the release a report says it scanned, from the
// per-release data of its family's format.
func (b *builder) reportRelease(r loadedReport) (distros.Release, bool) {
	f, d, ok := b.reg.ForFamily(r.Family)
	if !ok {
		return distros.Release{}, false
	}
	pf, ok := f.(distros.PatchFormat)
	if !ok {
		return distros.Release{}, false
	}
	version, _, _ := strings.Cut(r.OSVersion, " ") // "2 (Karoo)"
	rel, err := pf.Release(distros.OSRelease{ID: d.ID, VersionID: version})
	return rel, err == nil
}

// checkHandler answers --call check: the rules' findings, in the shape
// of the Dockerfile frontend's checks. It reads the reports and resolves
// the image's config; only when a rule needs them does it read the image's
// files (checkImage). It installs and runs nothing.
func checkHandler(c client.Client, bc *dockerui.Client, src *dockerui.Source, reg *distros.Registry) func(context.Context) (*lint.LintResults, error) {
	return func(ctx context.Context) (*lint.LintResults, error) {
		res := &lint.LintResults{}
		idx := res.AddSource(src.SourceMap)
		b, err := newBuilder(c, bc, src, reg)
		if err == nil {
			err = b.loadContextFiles(ctx)
		}
		var img *source
		if err == nil {
			img, err = b.resolveSource(ctx)
		}
		var findings []finding
		if err == nil {
			findings = b.checkPatchfile(img, time.Now())
			var more []finding
			more, err = b.checkImage(ctx, img)
			findings = append(findings, more...)
		}
		if err != nil {
			var el *parser.LocationError
			be := &lint.BuildError{Message: err.Error()}
			if errors.As(err, &el) && len(el.Locations) > 0 {
				if l := location(el.Locations[0]); l != nil {
					be.Location.Ranges = l.Ranges
				}
			}
			res.Error = be
			return res, nil
		}
		for _, f := range findings {
			res.AddWarning(f.rule.Name, f.rule.Description, f.rule.URL(), f.detail, idx, f.location)
		}
		return res, nil
	}
}

// checkConfig is the Patchfile's "# check=" directive, as the Dockerfile
// frontend reads it (skip=Rule1,Rule2; error=true).
func checkConfig(data []byte) (*linter.Config, error) {
	_, v, _, ok := parser.ParseDirective("check", data)
	if !ok {
		return &linter.Config{}, nil
	}
	return linter.ParseLintOptions(v)
}

// runChecks reports the rules' findings as build warnings; with
// "# check=error=true" a finding of a rule that is not Info fails the
// build. A build leaves out the Info rules and those it says itself: a
// report of another platform fails it with its own error, a release past
// its end of life gets its own warning from the image's os-release, and
// the rules that read the image's files (check_image.go) are not run at
// all, since the build reads the image anyway and says each itself.
func (b *builder) runChecks(ctx context.Context) error {
	cfg, err := checkConfig(b.src.Data)
	if err != nil {
		return errors.Wrap(err, "# check=")
	}
	var failing []string
	for _, f := range b.checkPatchfile(nil, time.Now()) {
		if f.rule.Info || f.rule == ruleEndOfLife || cfg.SkipAll || slices.Contains(cfg.SkipRules, f.rule.Name) {
			continue
		}
		b.src.Warn(ctx, f.rule.Name+": "+f.detail, warnOpts(f.location))
		if !f.rule.Info {
			failing = append(failing, f.rule.Name+": "+f.detail)
		}
	}
	if cfg.ReturnAsError && len(failing) > 0 {
		return errors.Errorf("# check=error=true: %d check(s) failed:\n  %s", len(failing), strings.Join(failing, "\n  "))
	}
	return nil
}
