package frontend

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// prepare resolves what the patch step needs besides the image: the
// frontend's helper and, for a tooling method, the tooling image.
func (b *builder) prepare(ctx context.Context, in *inspection, base *baseImage, p ocispecs.Platform, plan *distros.Plan) (distros.PatchRequest, error) {
	req := distros.PatchRequest{
		Image:         base.State,
		OS:            in.OS,
		Release:       in.Release,
		Platform:      p,
		Plan:          plan,
		Installed:     in.Installed,
		Policy:        b.opts.policy,
		KeepUnchanged: b.opts.keepUnchanged,
		Constraints:   []llb.ConstraintsOpt{b.location(b.pf.Image.Location)},
		StepPrefix:    stepPrefix(p),
		Native:        in.Native,
		// The step dates what it writes by it, so the layer does not
		// depend on the exporter's rewrite-timestamp.
		SourceDateEpoch: b.opts.epoch,
		Proxy:           b.opts.proxy,
		Network:         b.opts.network,
	}
	var err error
	if req.Sources, err = b.sourcesFor(in.Format); err != nil {
		return req, err
	}
	tm, withTooling := in.Method.(distros.ToolingMethod)
	// Every method may run the helper (some always do, and say so when it
	// is missing); it is resolved once per build.
	if req.Helper, err = b.helperImage(ctx); err != nil {
		return req, err
	}
	if req.Helper == nil && req.KeepUnchanged && !withTooling {
		b.src.Warn(ctx, "the frontend was not started from an image (no \"source\" option), so it cannot run its helper: files that the patch left unchanged stay in the patch layer", warnOpts(nil))
	}
	if withTooling {
		req.Tooling, err = b.toolingImage(ctx, tm, in, p)
		return req, err
	}
	if b.pf.Tooling.Location != nil {
		b.src.Warn(ctx, fmt.Sprintf("TOOLING is not used: %s is patched by %s inside the image itself", base.Name, in.Method.Name()), warnOpts(b.pf.Tooling.Location))
	}
	return req, nil
}

// stepPrefix starts the names of a platform's steps, as the Dockerfile
// frontend's carry theirs.
func stepPrefix(p ocispecs.Platform) string {
	return "[copa " + platforms.Format(p) + "] "
}

// ran is the patch step's result: the patched filesystem and its notes.
type ran struct {
	Ref   client.Reference
	Notes *distros.Outcome
}

// ranInThisBuild reports whether a failed step's notes are this build's:
// it ended in a later second than the one the build began in (the step
// and the frontend read one host's clock, the notes in whole seconds).
// In doubt (the same second, no date, clocks apart) the step is taken to
// be cached, and runs again.
func (b *builder) ranInThisBuild(notes *distros.Outcome) bool {
	return !notes.FailedAt.IsZero() && !b.started.IsZero() && notes.FailedAt.After(b.started.Truncate(time.Second))
}

// run builds and solves the patch step, reads its notes and turns them
// into warnings.
func (b *builder) run(ctx context.Context, in *inspection, root distros.FS, req distros.PatchRequest) (*ran, error) {
	loc := b.pf.Image.Location
	name := b.pf.Image.Value
	patch, err := in.Method.Patch(ctx, root, req)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", name), loc)
	}
	notesRef, err := b.solve(ctx, patch.Notes)
	if err != nil {
		return nil, atLine(withContext(err, "PATCH %s: %s could not install the fixed packages", name, in.Method.Name()), loc)
	}
	notes, err := distros.ReadNotes(ctx, newRefFS(notesRef), in.Format.Versioning())
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", name), loc)
	}
	if len(notes.Failed) > 0 {
		if !req.IgnoreCache && !b.ranInThisBuild(notes) {
			// The step's result may be an earlier build's, cached: a
			// mirror back up, or a secret given this time (secrets are
			// never part of the cache key), would not be seen. It runs
			// once more, unless it says it failed during this build.
			req.IgnoreCache = true
			return b.run(ctx, in, root, req)
		}
		return nil, b.stepFailed(in.Method.Name(), notes)
	}
	whose := "the image"
	if req.Tooling != nil {
		whose = "the tooling image " + req.Tooling.Name
	}
	for _, s := range notes.AddedSources {
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s: the package sources of %s do not offer every fixed version; added the release's official %s for this patch (the image's own sources are unchanged)", name, whose, s), warnOpts(loc))
	}
	for _, w := range notes.Warnings() {
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s: %s", name, w), warnOpts(loc))
	}
	for _, u := range notes.Unresolved {
		b.src.Warn(ctx, fmt.Sprintf("%s stays unpatched: fixed version %s is not available (best on offer: %s)", u.Name, u.Want, firstOf(u.Best, "none")), warnOpts(b.pf.Unresolved.Location))
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
		return nil, atLine(withContext(err, "PATCH %s: assembling the patch layer", name), loc)
	}
	return &ran{Ref: ref, Notes: notes}, nil
}

// stepFailed is the error of a step that stopped short, from its notes:
// fixed versions it could not reach, on the UNRESOLVED line when the
// Patchfile has one, naming each package, the version it needed, the best
// on offer and the sources read; or what else failed, on the PATCH line.
func (b *builder) stepFailed(method string, notes *distros.Outcome) error {
	name, loc := b.pf.Image.Value, b.pf.Image.Location
	var msgs []string
	for _, f := range notes.Failed {
		if f.Kind != distros.FailUnresolved {
			msgs = append(msgs, f.Error())
			continue
		}
		pkgs := make([]string, len(notes.Unresolved))
		for i, u := range notes.Unresolved {
			pkgs[i] = fmt.Sprintf("%s %s (best on offer: %s)", u.Name, u.Want, firstOf(u.Best, "none"))
		}
		tried := "the image's"
		if len(notes.SourcesTried) > 0 {
			tried = strings.Join(notes.SourcesTried, ", ")
		}
		err := errors.Errorf("PATCH %s: %d fixed version(s) are not available from the package sources read (%s): %s; UNRESOLVED warn lets the build go on without them",
			name, len(pkgs), tried, strings.Join(pkgs, ", "))
		if b.pf.Unresolved.Location != nil {
			return atLine(err, b.pf.Unresolved.Location)
		}
		return atLine(err, loc)
	}
	return atLine(errors.Errorf("PATCH %s: %s could not patch the image: %s", name, method, strings.Join(msgs, "; ")), loc)
}

// verify reads the patched image's package database and fails, listing
// each package, if any is below the version it had to reach. It returns
// what the patched image has installed.
func verify(ctx context.Context, f distros.PatchFormat, patched distros.FS, want []distros.Update) (distros.Packages, error) {
	after, err := f.Installed(ctx, patched)
	if err != nil {
		return nil, errors.Wrap(err, "reading the patched image's package database")
	}
	if short := distros.Verify(f.Versioning(), after, want); len(short) > 0 {
		lines := make([]string, len(short))
		for i, s := range short {
			lines[i] = "  " + s.String()
		}
		return nil, errors.Errorf("%d package(s) are still below their fixed version after the patch:\n%s", len(short), strings.Join(lines, "\n"))
	}
	return after, nil
}

// describePatch is the history entry of the patch layer. native names
// the build platform a native patch ran on.
func describePatch(method string, tooling *distros.Tooling, native string, updated []distros.Update, all bool) string {
	switch {
	case tooling != nil && native != "":
		method += " (native on " + native + ", tooling image " + tooling.Name + ")"
	case tooling != nil:
		method += " (tooling image " + tooling.Name + ")"
	}
	names := make([]string, len(updated))
	for i, u := range updated {
		names[i] = u.Name
	}
	if all {
		return fmt.Sprintf("copa/frontend: %s upgrade of every package with an update: %s", method, strings.Join(names, " "))
	}
	return fmt.Sprintf("copa/frontend: %s update of %s", method, strings.Join(names, " "))
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
