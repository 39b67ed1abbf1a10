package frontend

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/frontend/patchfile"
	"github.com/copa/frontend/frontend/summary"
)

// families are the package-manager families the frontend can patch, in the
// order they are tried.
var families = []distros.Family{deb.Apt{}, deb.Tooling{}}

// osReleasePaths are where os-release(5) says to look, in order.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// patched is one platform's patched image and what the patch did.
type patched struct {
	Platform ocispecs.Platform
	Ref      client.Reference
	Config   dockerspec.DockerOCIImage
	Base     *baseImage
	Epoch    *time.Time
	Created  time.Time
	Summary  *summary.Summary
}

// patchPlatform patches the image for one target platform (nil: the
// daemon's default).
func (b *builder) patchPlatform(ctx context.Context, tp *ocispecs.Platform) (*patched, error) {
	p := platforms.Normalize(platforms.DefaultSpec())
	if tp != nil {
		p = platforms.Normalize(*tp)
	}
	imgLoc := b.pf.Image.Location

	base, err := b.resolveBase(ctx, p)
	if err != nil {
		return nil, err
	}
	baseRef, err := b.solve(ctx, base.State)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s: pulling the image", base.Name), imgLoc)
	}
	root := newRefFS(baseRef)

	osr, err := readOSRelease(ctx, root)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", base.Name), imgLoc)
	}
	fam, err := pickFamily(ctx, root, osr)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", base.Name), imgLoc)
	}
	installed, err := fam.Installed(ctx, root)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", base.Name), imgLoc)
	}

	reports, err := b.reportsFor(p)
	if err != nil {
		return nil, err
	}
	plan, err := b.plan(fam, osr, installed, reports)
	if err != nil {
		return nil, err
	}
	b.warnSkipped(ctx, plan)

	created, epoch, err := b.buildTime()
	if err != nil {
		return nil, err
	}
	sumIn := summary.Input{
		Image:      base.Name,
		BaseDigest: base.Digest.String(),
		Platform:   platforms.Format(p),
		OS:         summary.OS{ID: osr.ID, Version: osr.VersionID, Manager: fam.Name()},
		Reports:    reportPaths(reports),
		Plan:       plan,
		After:      installed,
		Versioning: fam.Versioning(),
	}
	if !plan.All && len(plan.Updates) == 0 {
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s: nothing to patch for %s; the image is returned unchanged", base.Name, platforms.Format(p)), warnOpts(imgLoc))
		return &patched{Platform: p, Ref: baseRef, Config: base.Config, Base: base, Epoch: epoch, Created: created, Summary: summary.New(sumIn)}, nil
	}

	policy := distros.PolicyFail
	if b.pf.Unresolved.Value == patchfile.PolicyWarn {
		policy = distros.PolicyWarn
	}
	req := distros.PatchRequest{
		Image:       base.State,
		OS:          osr,
		Platform:    p,
		Plan:        plan,
		Policy:      policy,
		Constraints: []llb.ConstraintsOpt{b.location(imgLoc)},
	}
	if req.KeepUnchanged, err = b.keepUnchanged(); err != nil {
		return nil, err
	}
	tf, withTooling := fam.(distros.ToolingFamily)
	if req.KeepUnchanged || withTooling {
		if req.Helper, err = b.helperImage(ctx); err != nil {
			return nil, err
		}
		if req.Helper == nil && !withTooling {
			b.src.Warn(ctx, "the frontend was not started from an image (no \"source\" option), so it cannot run its helper: files that the patch left unchanged stay in the patch layer", warnOpts(nil))
		}
	}
	toolingName := ""
	if withTooling {
		if req.Tooling, err = b.toolingImage(ctx, tf, osr, p); err != nil {
			return nil, err
		}
		toolingName = req.Tooling.Name
	} else if b.pf.Tooling.Location != nil {
		b.src.Warn(ctx, fmt.Sprintf("TOOLING is not used: %s has apt and a shell, so apt runs in the image itself", base.Name), warnOpts(b.pf.Tooling.Location))
	}
	patch, err := fam.Patch(ctx, root, req)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", base.Name), imgLoc)
	}
	notesRef, err := b.solve(ctx, patch.Notes)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s: %s could not install the fixed packages", base.Name, fam.Name()), imgLoc)
	}
	outcome, err := patch.ReadOutcome(ctx, newRefFS(notesRef))
	if err != nil {
		return nil, err
	}
	for _, s := range outcome.AddedSources {
		whose := "the image's " + fam.Name()
		if withTooling {
			whose = "the tooling image's apt"
		}
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s: %s sources do not offer every fixed version; added the release's %s suite for this patch (the image's own sources are unchanged)", base.Name, whose, s), warnOpts(imgLoc))
	}
	for _, w := range outcome.Warnings {
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s: %s", base.Name, w), warnOpts(imgLoc))
	}
	want := plan.Updates
	if plan.All {
		want = outcome.Upgrades
	}
	want = withoutUnresolved(want, outcome.Unresolved)
	for _, u := range outcome.Unresolved {
		best := u.Best
		if best == "" {
			best = "none"
		}
		b.src.Warn(ctx, fmt.Sprintf("%s stays unpatched: fixed version %s is not available (best on offer: %s)", u.Name, u.Want, best), warnOpts(b.pf.Unresolved.Location))
	}

	// The step's output is exported as it is: BuildKit writes the image's
	// own layers, reused as they are, plus one layer of what the step
	// changed. llb.Merge(image, llb.Diff(image, step)) would export the
	// same layers, but on BuildKit v0.34.2 a later build on the same
	// daemon that pulls the patched image was at times handed a snapshot
	// holding only the patch's files as its root: most likely the Diff's,
	// linked by chain ID (cache.Manager.GetByBlob reuses the snapshot of
	// any record with the pulled image's chain ID). Four of six builds on
	// top of a freshly patched Debian 11 image then failed with "exec
	// /bin/sh: no such file"; without the Diff none did
	// (TestPatchedImagesVerify runs the patched images on the same daemon).
	ref, err := b.solve(ctx, patch.Root)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s: assembling the patch layer", base.Name), imgLoc)
	}
	after, err := fam.Installed(ctx, newRefFS(ref))
	if err != nil {
		return nil, atLine(errors.Wrap(err, "reading the patched image's package database"), imgLoc)
	}
	if short := distros.Verify(fam.Versioning(), after, want); len(short) > 0 {
		lines := make([]string, len(short))
		for i, s := range short {
			lines[i] = "  " + s.String()
		}
		return nil, atLine(errors.Errorf("PATCH %s: %d package(s) are still below their fixed version after the patch:\n%s", base.Name, len(short), strings.Join(lines, "\n")), imgLoc)
	}

	names := make([]string, len(want))
	for i, u := range want {
		names[i] = u.Name
	}
	sumIn.After = after
	// The package manager reports an upgrade-all's new versions only; the
	// summary shows each next to the version it replaced.
	for _, u := range outcome.Upgrades {
		u.Installed = installed[u.Name]
		sumIn.Upgrades = append(sumIn.Upgrades, u)
	}
	sumIn.Unresolved = outcome.Unresolved
	return &patched{
		Platform: p,
		Ref:      ref,
		Config:   patchedConfig(base, describePatch(fam.Name(), toolingName, names, false), created),
		Base:     base,
		Epoch:    epoch,
		Created:  created,
		Summary:  summary.New(sumIn),
	}, nil
}

func reportPaths(reports []loadedReport) []string {
	var out []string
	for _, r := range reports {
		out = append(out, r.Path)
	}
	return out
}

func readOSRelease(ctx context.Context, root distros.FS) (distros.OSRelease, error) {
	for _, p := range osReleasePaths {
		ok, err := root.Exists(ctx, p)
		if err != nil {
			return distros.OSRelease{}, err
		}
		if !ok {
			continue
		}
		dt, err := root.ReadFile(ctx, p)
		if err != nil {
			return distros.OSRelease{}, err
		}
		return distros.ParseOSRelease(dt), nil
	}
	return distros.OSRelease{}, errors.New("the image has no /etc/os-release or /usr/lib/os-release, so its distribution is unknown")
}

// pickFamily returns the first family that detects the image as its own.
func pickFamily(ctx context.Context, root distros.FS, osr distros.OSRelease) (distros.Family, error) {
	for _, f := range families {
		ok, err := f.Detect(ctx, root, osr)
		if err != nil {
			return nil, errors.Wrapf(err, "reading the %s package database", f.Name())
		}
		if ok {
			return f, nil
		}
	}
	if _, err := deb.ReleaseOf(osr); err == nil {
		return nil, errors.Errorf("the image is %s but has no dpkg database (%s or %s/): there is nothing to patch it against", osr, deb.StatusPath, deb.StatusDir)
	}
	return nil, errors.Errorf("the image is %s; copa/frontend patches Debian and Ubuntu images (dpkg) so far", osr)
}

// plan decides what to update: the fixed versions of the reports that apply
// to this platform, or every available update when the Patchfile names no
// report at all.
func (b *builder) plan(fam distros.Family, osr distros.OSRelease, installed map[string]string, reports []loadedReport) (*distros.Plan, error) {
	if len(b.reports) == 0 {
		return &distros.Plan{All: true}, nil
	}
	fs, err := findings(reports, osr, fam.Versioning())
	if err != nil {
		return nil, err
	}
	return distros.MakePlan(fam.Versioning(), installed, fs)
}

// warnSkipped says, in one warning, which reported packages the image
// does not have: a report of another image, or of a fuller variant of it,
// would otherwise bury the build output in one warning per package.
func (b *builder) warnSkipped(ctx context.Context, plan *distros.Plan) {
	var names []string
	for _, s := range plan.Skipped {
		if s.Reason == distros.SkipNotInstalled {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	list := strings.Join(names, ", ")
	if len(names) > 10 {
		list = strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	b.src.Warn(ctx, fmt.Sprintf("%d package(s) in the report are not installed in the image and were skipped: %s", len(names), list), warnOpts(b.reports[0].Location))
}

func withoutUnresolved(want []distros.Update, unresolved []distros.Unresolved) []distros.Update {
	if len(unresolved) == 0 {
		return want
	}
	skip := map[string]bool{}
	for _, u := range unresolved {
		skip[u.Name] = true
	}
	var out []distros.Update
	for _, u := range want {
		if !skip[u.Name] {
			out = append(out, u)
		}
	}
	return out
}
