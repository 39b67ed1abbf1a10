package frontend

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"golang.org/x/sync/errgroup"

	"github.com/copa/frontend/distros"
)

// The rules of --call check that need the image's files: what inspect
// reads (os-release, the method, the installed packages), read through
// imageView on each platform the build would patch. Nothing is installed
// or run. A build leaves these rules out, because it says each of them
// itself once it has read the image: it fails on a report of another OS,
// warns of reported packages the image lacks, and of a TOOLING it does not
// use.

// platformCheck is one platform the build would patch, as the image rules
// see it.
type platformCheck struct {
	platform ocispecs.Platform
	view     *imageView
	// reports index the builder's reports that apply to the platform.
	reports []int
}

// judgement is what the image rules found on one platform.
type judgement struct {
	// otherOS: reports (by index) whose OS family is not the image's
	// distro, with the image's os-release.
	otherOS map[int]distros.OSRelease
	// nothingInstalled: reports none of whose packages the image has.
	nothingInstalled map[int]bool
	// inPlace is the method that patches the image with its own package
	// manager when TOOLING is given; toolingUsed says a tooling method
	// patches it. Neither is set when no method patches the platform.
	inPlace     string
	toolingUsed bool
}

// checkImage runs the image rules on every platform the build would
// patch. Each platform's image is solved only when a rule first needs its
// files.
func (b *builder) checkImage(ctx context.Context, src *source) ([]finding, error) {
	jobs, err := b.platformJobs(src)
	if err != nil {
		return nil, err
	}
	loc := b.pf.Image.Location
	var checks []platformCheck
	for _, j := range jobs {
		if !j.patch {
			continue
		}
		p := j.sp.Platform
		base, err := b.baseFor(src, j.sp)
		if err != nil {
			return nil, atLine(errors.Wrapf(err, "PATCH %s (%s)", src.Name, platforms.Format(p)), loc)
		}
		open := func(ctx context.Context) (distros.FS, error) {
			ref, err := b.solve(ctx, base.State)
			if err != nil {
				return nil, atLine(withContext(err, "PATCH %s: reading the image's files for %s", base.Name, platforms.Format(p)), loc)
			}
			return newRefFS(ref), nil
		}
		c := platformCheck{platform: p, view: newImageView(b.reg, j.native, open)}
		for i, r := range b.reports {
			if r.appliesTo(p) {
				c.reports = append(c.reports, i)
			}
		}
		checks = append(checks, c)
	}
	return b.imageFindings(ctx, src.Name, checks)
}

// imageFindings judges the platforms concurrently and gives one finding
// per report and rule for all the platforms it holds on, naming them.
func (b *builder) imageFindings(ctx context.Context, image string, checks []platformCheck) ([]finding, error) {
	judged := make([]judgement, len(checks))
	eg, ectx := errgroup.WithContext(ctx)
	for i, c := range checks {
		eg.Go(func() error {
			var err error
			judged[i], err = b.judge(ectx, c)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	on := func(plats []string) string { return image + " on " + strings.Join(plats, ", ") }
	var out []finding
	for i, r := range b.reports {
		for _, g := range byPlatform(checks, func(k int) string {
			if osr, ok := judged[k].otherOS[i]; ok {
				return osr.String()
			}
			return ""
		}) {
			out = append(out, finding{ruleReportOtherOS, reportOfOtherOS(r, on(g.platforms), judged[g.first].otherOS[i]), r.Location})
		}
		for _, g := range byPlatform(checks, func(k int) string {
			if judged[k].nothingInstalled[i] {
				return "none"
			}
			return ""
		}) {
			names := reportedNames(r)
			out = append(out, finding{ruleReportNothingInstalled, fmt.Sprintf("REPORT %s names %d package(s) (%s), none of which %s has installed: it is likely a scan of another image", r.Path, len(names), listNames(names, 5), on(g.platforms)), r.Location})
		}
	}
	if b.pf.Tooling.Location != nil && !slices.ContainsFunc(judged, func(j judgement) bool { return j.toolingUsed }) {
		var by []string
		for _, g := range byPlatform(checks, func(k int) string { return judged[k].inPlace }) {
			by = append(by, "by "+g.key+" on "+strings.Join(g.platforms, ", "))
		}
		if len(by) > 0 {
			out = append(out, finding{ruleUnusedTooling, fmt.Sprintf("TOOLING %s is not used: %s is patched inside the image itself, %s; a tooling image patches only images without their package manager, or with PATCH --native", b.pf.Tooling.Value, image, strings.Join(by, " and ")), b.pf.Tooling.Location})
		}
	}
	return out, nil
}

// judge runs the image rules on one platform, reading only what they
// need. A platform no method patches is judged only as far as its files
// go (the build fails on it, or carries it, with its own message); a fault
// reading the image fails the check.
func (b *builder) judge(ctx context.Context, c platformCheck) (judgement, error) {
	j := judgement{otherOS: map[int]distros.OSRelease{}, nothingInstalled: map[int]bool{}}
	for _, i := range c.reports {
		r := b.reports[i]
		if r.Family != "" {
			osr, err := c.view.OS(ctx)
			if unknown, err := unjudgeable(err); err != nil {
				return j, err
			} else if unknown {
				continue
			}
			if !b.reg.FamilyMatches(r.Family, osr) {
				// Its packages are another distro's: that it names
				// none of the image's says nothing more.
				j.otherOS[i] = osr
				continue
			}
		}
		names := reportedNames(r)
		if len(names) == 0 {
			continue
		}
		installed, err := c.view.Installed(ctx)
		if unknown, err := unjudgeable(err); err != nil {
			return j, err
		} else if unknown {
			continue
		}
		j.nothingInstalled[i] = !slices.ContainsFunc(names, installed.Has)
	}
	if b.pf.Tooling.Location != nil {
		m, err := c.view.Method(ctx)
		if unknown, err := unjudgeable(err); err != nil {
			return j, err
		} else if !unknown {
			if _, ok := m.(distros.ToolingMethod); ok {
				j.toolingUsed = true
			} else {
				j.inPlace = m.Name()
			}
		}
	}
	return j, nil
}

// unjudgeable sorts what reading the image for a rule gave: an image no
// method patches leaves the rule nothing to judge (unknown), anything
// else but nil is a fault.
func unjudgeable(err error) (unknown bool, fault error) {
	var up *unpatchable
	if errors.As(err, &up) {
		return true, nil
	}
	return false, err
}

// reportedNames are the packages a report names, each once, in report
// order.
func reportedNames(r loadedReport) []string {
	var names []string
	for _, f := range r.Findings {
		if !slices.Contains(names, f.Package) {
			names = append(names, f.Package)
		}
	}
	return names
}

// platformGroup is the platforms a rule found the same of.
type platformGroup struct {
	key       string
	first     int // index in checks of the first platform
	platforms []string
}

// byPlatform groups the platforms (by index in checks) by what key says
// of each, leaving out those it says "" of, in the order of each group's
// first platform.
func byPlatform(checks []platformCheck, key func(int) string) []platformGroup {
	var out []platformGroup
	for k, c := range checks {
		v := key(k)
		if v == "" {
			continue
		}
		i := slices.IndexFunc(out, func(g platformGroup) bool { return g.key == v })
		if i < 0 {
			out = append(out, platformGroup{key: v, first: k})
			i = len(out) - 1
		}
		out[i].platforms = append(out[i].platforms, platforms.Format(c.platform))
	}
	return out
}
