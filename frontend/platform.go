package frontend

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/summary"
)

// outcome is how one platform's patch ended.
type outcome int

const (
	// outcomePatched: the image has a patch layer.
	outcomePatched outcome = iota
	// outcomeUnchanged: there was nothing to patch; the image is returned
	// as it was.
	outcomeUnchanged
	// outcomeUnpatchable: no method can patch the image; Reason says why.
	outcomeUnpatchable
	// outcomeCarried: the platform was not asked for, or cannot be
	// patched and was not asked for by name; it is passed on as it was.
	outcomeCarried
)

// platformResult is one platform's outcome and what the outputs need of
// it.
type platformResult struct {
	Outcome  outcome
	Reason   error // with outcomeUnpatchable
	Platform ocispecs.Platform
	Base     *baseImage
	Ref      client.Reference
	// Config is the output's image config, as bytes: the original's
	// exactly, or the patched one (patchedConfig).
	Config  []byte
	Summary *summary.Summary
	// PackageURL names a package of the patched image for VEX.
	PackageURL func(name, version string) string
	// Descriptor is the source index's descriptor of the image.
	Descriptor *ocispecs.Descriptor
	// VEX, when set, is attached as it is instead of a new document: an
	// unchanged re-patch keeps the earlier patch's.
	VEX []byte
}

// patchPlatform patches the source's image for one platform in phases:
// inspect the image's files, plan from the reports, prepare the patch's
// inputs, run the patch, verify the result and assemble the image. With
// native set nothing of the image may run: the platform is patched by a
// tooling method on the build platform.
func (b *builder) patchPlatform(ctx context.Context, src *source, sp sourcePlatform, native bool) (*platformResult, error) {
	p := sp.Platform
	imgLoc := b.pf.Image.Location
	base, err := b.baseFor(src, sp)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s (%s)", src.Name, platforms.Format(p)), imgLoc)
	}
	earlier := b.earlierPatchOf(ctx, src, sp, base)
	res := &platformResult{Platform: p, Base: base, Config: base.RawConfig, Descriptor: sp.Descriptor}
	in, err := b.inspectBase(ctx, res, native)
	if err != nil || res.Outcome == outcomeUnpatchable {
		return res, err
	}
	reports := b.reportsFor(p)
	var extra []distros.Finding
	var patched distros.Packages // what the earlier patch left installed
	var asPatched platformResult // the PATCH image as it is
	if earlier != nil {
		// A patched image that needs nothing is returned as it is, down
		// to its manifest and its VEX document.
		pl, err := makePlan(b.reg, in, reports, len(b.reports) == 0, nil)
		if err != nil {
			return nil, err
		}
		if !pl.Plan.All && len(pl.Plan.Updates) == 0 {
			res.VEX = earlier.VEX
			res.PackageURL = packageURLs(in.Format, in.OS, in.Installed, p)
			return b.unchanged(ctx, res, b.summaryInput(src, res, in, reports, pl.Plan), "every reported fix is installed already (by an earlier copa/frontend patch)"), nil
		}
		// Otherwise the patch starts again from the original, and keeps
		// what the earlier one installed.
		patched = in.Installed
		asPatched = *res
		res.Base, res.Config, res.Descriptor = earlier.Original, earlier.Original.RawConfig, nil
		base = earlier.Original
		if in, err = b.inspectBase(ctx, res, native); err != nil || res.Outcome == outcomeUnpatchable {
			return res, err
		}
		if extra, err = earlierFindings(in.Format, in.Installed, patched, earlier.VEX); err != nil {
			return nil, atLine(errors.Wrapf(err, "PATCH %s (%s)", src.Name, platforms.Format(p)), imgLoc)
		}
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s (%s) was patched by copa/frontend: patching its original %s@%s instead, keeping what the earlier patch upgraded and fixed (%d package version(s) and VEX statement(s) planned again), so the image keeps one patch layer",
			src.Name, platforms.Format(p), base.Name, base.Digest, len(extra)), warnOpts(imgLoc))
	}
	res.PackageURL = packageURLs(in.Format, in.OS, in.Installed, p)
	b.warnRelease(ctx, in)

	pl, err := makePlan(b.reg, in, reports, len(b.reports) == 0, extra)
	if err != nil {
		return nil, err
	}
	for _, w := range pl.Warnings {
		b.src.Warn(ctx, w.Message, warnOpts(w.Location))
	}
	sumIn := b.summaryInput(src, res, in, reports, pl.Plan)
	if len(b.reports) > 0 && len(reports) == 0 {
		return b.unchanged(ctx, res, sumIn, "no REPORT applies to it (bind one with REPORT --platform="+platforms.Format(p)+")"), nil
	}
	if !pl.Plan.All && len(pl.Plan.Updates) == 0 {
		return b.unchanged(ctx, res, sumIn, "nothing to patch"), nil
	}

	req, err := b.prepare(ctx, in, base, p, pl.Plan)
	if err != nil {
		return nil, err
	}
	r, err := b.run(ctx, in, in.Root, req)
	if err != nil {
		return nil, err
	}
	sumIn.Unresolved = r.Notes.Unresolved
	want := pl.Plan.Updates
	if pl.Plan.All {
		want = r.Notes.Upgrades
	}
	want = distros.Without(want, r.Notes.Unresolved)
	if len(want) == 0 {
		what := "every package is up to date"
		if !pl.Plan.All {
			what = "no fixed version could be installed"
		}
		return b.unchanged(ctx, res, sumIn, what), nil
	}

	after, err := verify(ctx, in.Format, newRefFS(r.Ref), want)
	if err != nil {
		return nil, atLine(withContext(err, "PATCH %s", base.Name), imgLoc)
	}
	sumIn.After = after.Versions(in.Format.Versioning())
	if earlier != nil && maps.Equal(sumIn.After, patched.Versions(in.Format.Versioning())) {
		// An upgrade of everything that installs what the earlier patch
		// did has nothing new: the patched image is the answer.
		*res = asPatched
		res.VEX = earlier.VEX
		res.PackageURL = packageURLs(in.Format, in.OS, patched, p)
		return b.unchanged(ctx, res, sumIn, "every package is up to date"), nil
	}
	// The package manager reports an upgrade-all's new versions only; the
	// summary shows each next to the version it replaced.
	before := in.Installed.Versions(in.Format.Versioning()) // one pass, not one per upgrade
	for _, u := range r.Notes.Upgrades {
		u.Installed = before[u.Name]
		sumIn.Upgrades = append(sumIn.Upgrades, u)
	}
	res.Outcome, res.Ref = outcomePatched, r.Ref
	ranOn := ""
	if req.Native {
		ranOn = platforms.Format(platforms.Normalize(b.buildPlatform()))
	}
	res.Config, err = patchedConfig(base, describePatch(in.Method.Name(), req.Tooling, ranOn, want, pl.Plan.All), b.opts.created)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", base.Name), imgLoc)
	}
	res.Summary = summary.New(sumIn)
	res.PackageURL = packageURLs(in.Format, in.OS, after, p)
	return res, nil
}

// inspectBase pulls res.Base and inspects it; an image no method can
// patch leaves res unpatchable.
func (b *builder) inspectBase(ctx context.Context, res *platformResult, native bool) (*inspection, error) {
	base, p, imgLoc := res.Base, res.Platform, b.pf.Image.Location
	ref, err := b.solve(ctx, base.State)
	if err != nil {
		return nil, atLine(withContext(err, "PATCH %s: pulling the image for %s", base.Name, platforms.Format(p)), imgLoc)
	}
	res.Ref = ref
	in, err := inspect(ctx, b.reg, newRefFS(ref), native)
	var up *unpatchable
	if errors.As(err, &up) {
		res.Outcome, res.Reason = outcomeUnpatchable, atLine(fmt.Errorf("PATCH %s (%s): %w", base.Name, platforms.Format(p), up.reason), imgLoc)
		return nil, nil
	} else if err != nil {
		return nil, atLine(withContext(err, "PATCH %s (%s)", base.Name, platforms.Format(p)), imgLoc)
	}
	in.Native = native
	return in, nil
}

func (b *builder) summaryInput(src *source, res *platformResult, in *inspection, reports []loadedReport, plan *distros.Plan) summary.Input {
	return summary.Input{
		Image:      src.Name,
		BaseDigest: res.Base.Digest.String(),
		Platform:   platforms.Format(res.Platform),
		OS:         summary.OS{ID: in.OS.ID, Version: in.OS.VersionID, Manager: in.Method.Name()},
		Reports:    reportPaths(reports),
		Plan:       plan,
		After:      in.Installed.Versions(in.Format.Versioning()),
		Versioning: in.Format.Versioning(),
	}
}

// unchanged is the result of a platform with nothing to patch: the
// original image, its config and no patch label.
func (b *builder) unchanged(ctx context.Context, res *platformResult, sumIn summary.Input, why string) *platformResult {
	b.src.Warn(ctx, fmt.Sprintf("PATCH %s: %s for %s; the image is returned unchanged", res.Base.Name, why, platforms.Format(res.Platform)), warnOpts(b.pf.Image.Location))
	res.Outcome = outcomeUnchanged
	res.Summary = summary.New(sumIn)
	return res
}

// warnRelease warns when the image's release no longer gets security
// updates: its archive publishes no more fixes.
func (b *builder) warnRelease(ctx context.Context, in *inspection) {
	if !in.Release.EndOfLife(time.Now()) {
		return
	}
	b.src.Warn(ctx, fmt.Sprintf("PATCH %s: %s reached the end of its security support on %s; its archive publishes no more fixes, so the patch installs only what its sources still offer",
		b.pf.Image.Value, in.Release, in.Release.EOL.Format("2006-01-02")), warnOpts(b.pf.Image.Location))
}

// packageURLs names the packages of an image for VEX, with the format's
// package URLs and each package's own architecture.
func packageURLs(f distros.Format, osr distros.OSRelease, installed distros.Packages, p ocispecs.Platform) func(name, version string) string {
	t := distros.PURLTarget{OS: osr, Platform: p}
	// Each name's Arch (its records' architecture when they agree, else
	// ""), in one pass: Arch scans every record, and the VEX document asks
	// for a package URL per statement's package.
	arch := map[string]string{}
	for _, p := range installed {
		if a, seen := arch[p.Name]; !seen {
			arch[p.Name] = p.Arch
		} else if a != p.Arch {
			arch[p.Name] = ""
		}
	}
	return func(name, version string) string {
		return f.PackageURL(t, distros.Package{Name: name, Version: version, Arch: arch[name]})
	}
}

func reportPaths(reports []loadedReport) []string {
	var out []string
	for _, r := range reports {
		out = append(out, r.Path)
	}
	return out
}
