package frontend

import (
	"context"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// toolingImage resolves the image that patches an image which cannot run
// its own package manager: the Patchfile's TOOLING, else the family's
// default for the release. A named build context of the same name
// (--build-context debian:bookworm=docker-image://mirror/debian:bookworm)
// replaces it, as it would replace a Dockerfile's FROM, so private mirrors
// need no Patchfile change. The tooling image is checked before use: it
// must be of the image's release and have what the patch step runs.
//
// A native patch takes the tooling image of the build platform: it runs
// there and fetches the packages of the image's platform p.
func (b *builder) toolingImage(ctx context.Context, tm distros.ToolingMethod, in *inspection, p ocispecs.Platform) (*distros.Tooling, error) {
	tp := p
	if in.Native {
		tp = platforms.Normalize(b.buildPlatform())
	}
	name, loc, what := b.pf.Tooling.Value, b.pf.Tooling.Location, "TOOLING"
	if loc == nil {
		if in.Release.Tooling == "" {
			return nil, atLine(errors.Errorf("PATCH %s: %s has no default tooling image (its os-release names no release it is known by): name one with TOOLING <image> in the Patchfile", b.pf.Image.Value, in.OS), b.pf.Image.Location)
		}
		name, loc, what = in.Release.Tooling, b.pf.Image.Location, "PATCH "+b.pf.Image.Value+": tooling image"
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "%s %s", what, name), loc)
	}
	named = reference.TagNameOnly(named)
	display := reference.FamiliarString(named)

	var st llb.State
	nc, err := b.bc.NamedContext(named.String(), dockerui.ContextOpt{Platform: &tp, ResolveMode: b.bc.ImageResolveMode.String()})
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "%s %s: build context", what, display), loc)
	}
	if nc != nil {
		ctxSt, _, err := nc.Load(ctx)
		if err != nil {
			return nil, atLine(withContext(err, "%s %s: loading the build context that replaces it", what, display), loc)
		}
		if ctxSt != nil {
			st = *ctxSt
			display += " (from build context)"
		}
	}
	if st.Output() == nil {
		_, dgst, _, err := b.c.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
			LogName:  stepPrefix(p) + "resolve tooling " + named.String(),
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &tp, ResolveMode: b.bc.ImageResolveMode.String()},
		})
		if err != nil {
			return nil, atLine(withContext(err, "%s %s: resolving the image (name another with TOOLING, or replace it with --build-context %s=docker-image://<mirror>)", what, display, display), loc)
		}
		pinned, err := reference.WithDigest(reference.TrimNamed(named), dgst)
		if err != nil {
			return nil, err
		}
		st = llb.Image(pinned.String(), llb.Platform(tp), b.location(loc), llb.WithCustomName(stepPrefix(p)+"tooling "+display))
	}

	ref, err := b.solve(ctx, st)
	if err != nil {
		return nil, atLine(withContext(err, "%s %s: pulling the image", what, display), loc)
	}
	fs := newRefFS(ref)
	tos, err := readOSRelease(ctx, fs)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "%s %s", what, display), loc)
	}
	if err := tm.CheckTooling(ctx, fs, tos, in.OS); err != nil {
		return nil, atLine(errors.Wrapf(err, "%s %s", what, display), loc)
	}
	return &distros.Tooling{Name: display, State: st, FS: fs}, nil
}
