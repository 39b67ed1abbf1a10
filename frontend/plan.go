package frontend

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// planned is the plan of one platform and the warnings it gives, each at
// the Patchfile line it concerns.
type planned struct {
	Plan     *distros.Plan
	Warnings []lineWarning
}

// lineWarning is a build warning at a Patchfile location.
type lineWarning struct {
	Message  string
	Location []parser.Range
}

// makePlan decides what to update: the fixed versions of the reports that
// apply to this platform, or every available update when the Patchfile
// names no report at all (all is false). Every name and version is
// checked against the format's grammar first, so that a bad entry fails
// the build on its REPORT line before any step runs.
//
// extra are findings that do not come from a report (an earlier patch's,
// see earlierFindings); they are planned with the reports' but give no
// warnings.
func makePlan(reg *distros.Registry, in *inspection, reports []loadedReport, all bool, extra []distros.Finding) (*planned, error) {
	if all {
		return &planned{Plan: &distros.Plan{All: true}}, nil
	}
	v := in.Format.Versioning()
	var fs []distros.Finding
	for _, r := range reports {
		if r.Family != "" && !reg.FamilyMatches(r.Family, in.OS) {
			return nil, atLine(errors.New(reportOfOtherOS(r, "the image", in.OS)), r.Location)
		}
		for _, f := range r.Findings {
			df := distros.Finding{
				Package:         f.Package,
				FixedVersions:   f.FixedVersions(),
				VulnerabilityID: f.VulnerabilityID,
				Entry:           r.Path + " " + f.Entry,
			}
			if err := df.Validate(v); err != nil {
				return nil, atLine(err, r.Location)
			}
			fs = append(fs, df)
		}
	}
	p := &planned{Plan: distros.MakePlan(v, in.Installed, append(fs, extra...))}
	// One warning per report for the packages it names that the image
	// lacks (a report of another image, or of a fuller variant of it),
	// rather than one per package, at that report's line.
	for _, r := range reports {
		var names []string
		for _, f := range r.Findings {
			if !in.Installed.Has(f.Package) && !slices.Contains(names, f.Package) && fixable(f.FixedVersions()) {
				names = append(names, f.Package)
			}
		}
		if len(names) > 0 {
			p.Warnings = append(p.Warnings, lineWarning{
				Message:  fmt.Sprintf("REPORT %s: %d package(s) in the report are not installed in the image and were skipped: %s", r.Path, len(names), listNames(names, 10)),
				Location: r.Location,
			})
		}
	}
	return p, nil
}

// reportOfOtherOS is the message for a report whose OS family is not the
// distro of an image of release osr, shared by the build, which fails on
// it, and --call check; image names the image.
func reportOfOtherOS(r loadedReport, image string, osr distros.OSRelease) string {
	scanned := strings.TrimSpace(r.Family + " " + r.OSVersion)
	return fmt.Sprintf("REPORT %s is a scan of %s, but %s is %s: scan this image and report that", r.Path, scanned, image, osr)
}

func fixable(fixed []string) bool { return len(fixed) > 0 }

// listNames lists at most max names, then how many more there are.
func listNames(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
}
