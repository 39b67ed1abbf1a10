package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/result"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"golang.org/x/sync/errgroup"
)

// job is what the build does with one platform of the source.
type job struct {
	sp sourcePlatform
	// patch: patch the platform; otherwise it is carried over as it is.
	patch bool
	// listed: the build named the platform (--platform), so it must be
	// patched or the build fails.
	listed bool
	// native: patch on the build platform, running nothing of the image.
	native bool
	// cannotRun: the builder cannot run the platform, which is why it is
	// native.
	cannotRun bool
}

// choosePlatforms decides, for every platform of the source, whether it
// is patched (platformJobs), and warns of each platform that is patched
// natively because the builder cannot run it.
func (b *builder) choosePlatforms(ctx context.Context, src *source) ([]job, error) {
	jobs, err := b.platformJobs(src)
	if err != nil {
		return nil, err
	}
	build := platforms.Format(platforms.Normalize(b.buildPlatform()))
	for _, j := range jobs {
		if j.cannotRun {
			p := platforms.Format(j.sp.Platform)
			b.src.Warn(ctx, fmt.Sprintf("PATCH %s: the builder cannot run %s (no emulator), so it is patched natively on %s: a tooling image fetches %s packages and nothing of the image runs, maintainer scripts included",
				src.Name, p, build, p), warnOpts(b.pf.Image.Location))
		}
	}
	return jobs, nil
}

// platformJobs decides, for every platform of the source, whether it is
// patched: all of them without --platform, only those listed with it. A
// listed platform the source lacks fails the build. It says nothing, so
// that --call check can ask too.
func (b *builder) platformJobs(src *source) ([]job, error) {
	loc := b.pf.Image.Location
	listed := b.bc.TargetPlatforms
	for _, p := range listed {
		if _, ok := src.find(p); !ok {
			var probed string
			switch {
			case src.Probed && src.layout != nil:
				probed = " (an OCI layout's index shows only the Linux platforms asked for one by one; see docs/multiplatform.md)"
			case src.Probed:
				probed = " (an index without attestation manifests shows only the Linux platforms asked for one by one; see docs/multiplatform.md)"
			}
			return nil, atLine(errors.Errorf("PATCH %s has no image for %s (--platform): it has %s%s", src.display(), platforms.Format(platforms.Normalize(p)), src.platformList(), probed), loc)
		}
	}
	canRun := b.runnable()
	var jobs []job
	for _, sp := range src.Platforms {
		j := job{sp: sp, patch: len(listed) == 0}
		if slices.ContainsFunc(listed, func(p ocispecs.Platform) bool {
			return platforms.Format(platforms.Normalize(p)) == platforms.Format(sp.Platform)
		}) {
			j.patch, j.listed = true, true
		}
		if j.patch {
			j.cannotRun = !canRun.Match(sp.Platform)
			j.native = b.pf.Native || j.cannotRun
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// runnable matches the platforms the builder's worker can run, natively
// or under emulation.
func (b *builder) runnable() platforms.Matcher {
	var ps []ocispecs.Platform
	for _, w := range b.c.BuildOpts().Workers {
		ps = append(ps, w.Platforms...)
	}
	if len(ps) == 0 {
		ps = b.bc.BuildPlatforms
	}
	return platforms.Any(ps...)
}

func (b *builder) buildPlatform() ocispecs.Platform {
	if len(b.bc.BuildPlatforms) > 0 {
		return b.bc.BuildPlatforms[0]
	}
	return platforms.DefaultSpec()
}

// runJob patches or carries one platform. An unpatchable platform of an
// index that the build did not name is carried over with a warning; a
// named one, or the only image, fails the build.
func (b *builder) runJob(ctx context.Context, src *source, j job) (*platformResult, error) {
	if !j.patch {
		return b.carry(ctx, src, j.sp)
	}
	r, err := b.patchPlatform(ctx, src, j.sp, j.native)
	if err != nil || r.Outcome != outcomeUnpatchable {
		return r, err
	}
	if j.listed || !src.multi() {
		return nil, r.Reason
	}
	b.src.Warn(ctx, fmt.Sprintf("%s; %s is carried over unpatched", r.Reason, platforms.Format(j.sp.Platform)), warnOpts(b.pf.Image.Location))
	r.Outcome = outcomeCarried
	return r, nil
}

// carry passes one platform of the source on as it is: its layers and
// its config, byte for byte.
func (b *builder) carry(ctx context.Context, src *source, sp sourcePlatform) (*platformResult, error) {
	base, err := b.baseFor(src, sp)
	if err != nil {
		return nil, err
	}
	ref, err := b.solve(ctx, base.State)
	if err != nil {
		return nil, atLine(withContext(err, "PATCH %s: resolving %s to carry it over", src.display(), platforms.Format(sp.Platform)), b.pf.Image.Location)
	}
	return &platformResult{Outcome: outcomeCarried, Platform: sp.Platform, Base: base, Ref: ref, Config: base.RawConfig, Descriptor: sp.Descriptor}, nil
}

// assemble turns the platforms' results into the build's result for the
// target: the image (an index when the source is one), or each patched
// platform's summary or VEX document.
func (b *builder) assemble(ctx context.Context, target string, src *source, results []*platformResult) (*client.Result, error) {
	patched := 0
	var unpatchable []string
	for _, r := range results {
		switch {
		case r.Summary != nil:
			patched++
		case r.Reason != nil:
			unpatchable = append(unpatchable, platforms.Format(r.Platform))
		}
	}
	if patched == 0 && len(unpatchable) > 0 {
		return nil, atLine(errors.Errorf("PATCH %s: no platform of the image can be patched (%s; see the warnings)", src.display(), strings.Join(unpatchable, ", ")), b.pf.Image.Location)
	}

	res := client.NewResult()
	multi := src.multi() || len(results) > 1
	var exp exptypes.Platforms
	for _, r := range results {
		if target != TargetImage && r.Summary == nil {
			continue // carried platforms have no summary
		}
		ref, vexRef, config, err := b.output(ctx, target, r)
		if err != nil {
			return nil, err
		}
		p := exptypes.Platform{ID: platforms.FormatAll(platforms.Normalize(r.Platform)), Platform: platforms.Normalize(r.Platform)}
		exp.Platforms = append(exp.Platforms, p)
		configKey, baseKey := exptypes.ExporterImageConfigKey, exptypes.ExporterImageBaseConfigKey
		if multi {
			res.AddRef(p.ID, ref)
			configKey, baseKey = configKey+"/"+p.ID, baseKey+"/"+p.ID
		} else {
			res.SetRef(ref)
		}
		if target != TargetImage {
			continue
		}
		// The base config tells the exporter which history entries and
		// layers are the original's, whose timestamps SOURCE_DATE_EPOCH
		// and rewrite-timestamp must leave alone.
		res.AddMeta(configKey, config)
		res.AddMeta(baseKey, r.Base.RawConfig)
		if r.Outcome != outcomePatched && r.Descriptor != nil {
			for k, v := range r.Descriptor.Annotations {
				res.AddMeta(exptypes.AnnotationManifestDescriptorKey(&p.Platform, k), []byte(v))
			}
		}
		if vexRef != nil {
			attachVEX(res, p, vexRef)
		}
	}
	if len(exp.Platforms) == 0 {
		return nil, atLine(errors.Errorf("PATCH %s: no platform was patched, so there is no %s to write", src.Name, target), b.pf.Image.Location)
	}
	if target == TargetImage && src.Index != nil {
		for k, v := range src.Index.Annotations {
			res.AddMeta(exptypes.AnnotationIndexKey(k), []byte(v))
		}
	}
	dt, err := json.Marshal(exp)
	if err != nil {
		return nil, err
	}
	res.AddMeta(exptypes.ExporterPlatformsKey, dt)
	return res, nil
}

// output is one platform's ref and config for the target, and its VEX
// document's ref (nil without statements) for the image target. It shows
// the patch summary in the build progress.
func (b *builder) output(ctx context.Context, target string, r *platformResult) (ref, vexRef client.Reference, config []byte, err error) {
	if r.Summary == nil {
		return r.Ref, nil, r.Config, nil
	}
	in, statements, err := b.outputInput(r)
	if err != nil {
		return nil, nil, nil, err
	}
	if target == TargetImage {
		// The summary's step and the VEX document's read the same input
		// and nothing of each other: solved side by side, a build waits for
		// one container start instead of two.
		eg, ectx := errgroup.WithContext(ctx)
		eg.Go(func() error { return b.showSummary(ectx, r, in) })
		if statements > 0 {
			eg.Go(func() error {
				var err error
				vexRef, err = b.vexDocument(ectx, r, in, statements)
				return err
			})
		}
		if err := eg.Wait(); err != nil {
			return nil, nil, nil, err
		}
		return r.Ref, vexRef, r.Config, nil
	}
	if err := b.showSummary(ctx, r, in); err != nil {
		return nil, nil, nil, err
	}
	switch target {
	case TargetVEX:
		ref, err = b.vexDocument(ctx, r, in, statements)
		return ref, nil, nil, err
	}
	sum, err := json.MarshalIndent(r.Summary, "", "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	ref, err = b.solve(ctx, llb.Scratch().File(llb.Mkfile("/"+SummaryFile, 0o644, sum), llb.WithCustomName(stepPrefix(r.Platform)+"write "+SummaryFile)))
	return ref, nil, nil, err
}

// attachVEX adds a patched platform's VEX document to the image as an
// in-toto attestation. The document must come from a solved ref: content
// functions are refused across the gateway.
func attachVEX(res *client.Result, p exptypes.Platform, ref client.Reference) {
	res.AddAttestation(p.ID, client.Attestation{
		Kind:   gwpb.AttestationKind_InToto,
		Ref:    ref,
		Path:   "/" + VEXFile,
		InToto: result.InTotoAttestation{PredicateType: PredicateTypeOpenVEX},
	})
}
