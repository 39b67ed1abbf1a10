package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// resolveContexts resolves the PATCH image from the named build contexts
// that replace it (findPatchContexts):
//
//   - docker-image://<reference> is resolved as PATCH <reference> would
//     be, index, attestations, re-patching and all;
//   - oci-layout:// is resolved in the client's layout, pinned to the
//     digest buildx gave it, as one image or an index probed per platform;
//   - input: is another build's result (a bake target): its filesystem
//     and the config its build returned, byte for byte;
//   - one context per platform (bake's for a multi-platform target) gives
//     an index of those platforms, each from its own context.
func (b *builder) resolveContexts(ctx context.Context, named reference.Named, ctxs []patchContext) (*source, error) {
	loc := b.pf.Image.Location
	if len(ctxs) == 1 && ctxs[0].Platform == nil {
		pc := ctxs[0]
		what := "PATCH " + b.pf.Image.Value + " (build context " + pc.String() + ")"
		var src *source
		var err error
		switch pc.Kind {
		case contextImage:
			ref, perr := reference.ParseNormalizedNamed(pc.Ref)
			if perr != nil {
				return nil, atLine(errors.Wrap(perr, what), loc)
			}
			src, err = b.resolveImage(ctx, origin{Name: reference.TagNameOnly(ref).String()}, what)
		case contextLayout:
			var o origin
			if o, err = b.layoutOrigin(named, pc); err != nil {
				return nil, atLine(errors.Wrap(err, what), loc)
			}
			src, err = b.resolveImage(ctx, o, what)
		case contextInput:
			var sp *sourcePlatform
			if sp, err = b.inputPlatform(ctx, named, pc); err != nil {
				return nil, atLine(withContext(err, "%s", what), loc)
			}
			src = &source{Name: sp.from.Name, Platforms: []sourcePlatform{*sp}}
		}
		if err != nil {
			return nil, err
		}
		src.Context = pc.String()
		return src, nil
	}

	// One context per platform: an index of their images, in the order
	// indexes list platforms.
	src := &source{Name: named.String(), Multi: true, Context: ctxs[0].Name + "::…"}
	for _, pc := range ctxs {
		what := "PATCH " + b.pf.Image.Value + " (build context " + pc.String() + ")"
		sp, err := b.contextPlatform(ctx, named, pc)
		if err != nil {
			return nil, atLine(withContext(err, "%s", what), loc)
		}
		if _, dup := src.find(sp.Platform); dup {
			return nil, atLine(errors.Errorf("%s: another build context gives %s too", what, platforms.Format(sp.Platform)), loc)
		}
		src.Platforms = append(src.Platforms, *sp)
		if len(src.Platforms) > maxPlatforms {
			return nil, atLine(errors.Errorf("PATCH %s: more than %d per-platform build contexts", b.pf.Image.Value, maxPlatforms), loc)
		}
	}
	slices.SortStableFunc(src.Platforms, func(a, b sourcePlatform) int {
		return probeRank(a.Platform) - probeRank(b.Platform)
	})
	return src, nil
}

// contextPlatform resolves a per-platform context for its platform.
func (b *builder) contextPlatform(ctx context.Context, named reference.Named, pc patchContext) (*sourcePlatform, error) {
	p := *pc.Platform
	if err := validPlatform(p); err != nil {
		return nil, err
	}
	var o origin
	switch pc.Kind {
	case contextInput:
		return b.inputPlatform(ctx, named, pc)
	case contextImage:
		ref, err := reference.ParseNormalizedNamed(pc.Ref)
		if err != nil {
			return nil, err
		}
		o.Name = reference.TagNameOnly(ref).String()
	case contextLayout:
		var err error
		if o, err = b.layoutOrigin(named, pc); err != nil {
			return nil, err
		}
	}
	ref := o.Name
	if o.Digest != "" {
		pinned, err := o.pinned()
		if err != nil {
			return nil, err
		}
		ref = pinned.String()
	}
	sp, dgst, err := b.resolvePlatform(ctx, o.layout, ref, p, "[copa] resolve "+pc.String())
	if err != nil {
		return nil, err
	}
	o.Digest = dgst
	sp.from = &o
	return sp, nil
}

// layoutOrigin is the image of an oci-layout context: the PATCH name
// (a layout has no registry name), pinned to the layout's digest, in the
// client's store that buildx named.
func (b *builder) layoutOrigin(named reference.Named, pc patchContext) (origin, error) {
	store, dgst, err := parseLayoutRef(pc.Ref)
	if err != nil {
		return origin{}, err
	}
	return origin{
		Name:   named.String(),
		Digest: dgst.Digest(),
		layout: &layoutStore{SessionID: b.bc.BuildOpts().SessionID, StoreID: store},
	}, nil
}

// inputPlatform is another build's result, passed as an input: its
// filesystem and the image config its build returned. Without a config
// it is no image, and PATCH cannot tell what it would keep.
func (b *builder) inputPlatform(ctx context.Context, named reference.Named, pc patchContext) (*sourcePlatform, error) {
	inputs, err := b.c.Inputs(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := inputs[pc.Ref]
	if !ok {
		return nil, errors.Errorf("the build has no input %q", pc.Ref)
	}
	var md map[string][]byte
	if v, ok := b.bc.BuildOpts().Opts[inputMetadataOptPrefix+pc.Ref]; ok {
		if err := json.Unmarshal([]byte(v), &md); err != nil {
			return nil, errors.Wrap(err, "reading the input's metadata")
		}
	}
	config := md[exptypes.ExporterImageConfigKey]
	if len(config) == 0 {
		return nil, errors.New("the build that made it returned no image config, so it is no image to patch: build it with a frontend that returns one (the Dockerfile frontend does)")
	}
	var cfg ocispecs.Image
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, errors.Wrap(err, "reading the image config")
	}
	p := platforms.Normalize(ocispecs.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
	if cfg.OS == "" || cfg.Architecture == "" {
		return nil, errors.New("the image config names no os and architecture")
	}
	if pc.Platform != nil && platforms.Format(p) != platforms.Format(*pc.Platform) {
		return nil, fmt.Errorf("the image is of %s, not of the context's platform %s", platforms.Format(p), platforms.Format(*pc.Platform))
	}
	if err := validPlatform(p); err != nil {
		return nil, err
	}
	return &sourcePlatform{Platform: p, Config: config, from: &origin{Name: named.String(), built: &st}}, nil
}
