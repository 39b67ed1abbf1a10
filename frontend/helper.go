package frontend

import (
	"context"
	"strconv"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/pkg/errors"
)

// keySource is the option in which BuildKit names the frontend image it
// started (set by `# syntax=`, BUILDKIT_SYNTAX or `--opt source=`).
const keySource = "source"

// ArgKeepUnchanged is the build arg that, set to "false", leaves out the
// helper step that keeps unchanged files out of the patch layer: for
// measuring what it saves, or for images where it must not run.
const ArgKeepUnchanged = "BUILDKIT_COPA_KEEP_UNCHANGED"

// keepUnchanged reports whether apt patches run the helper that keeps
// unchanged files out of the layer (the default).
func (b *builder) keepUnchanged() (bool, error) {
	v, ok := b.bc.BuildArgs[ArgKeepUnchanged]
	if !ok {
		return true, nil
	}
	keep, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.Errorf("build arg %s=%q: want true or false", ArgKeepUnchanged, v)
	}
	return keep, nil
}

// helperImage returns the frontend's own image, pinned to its digest, for
// steps that run the frontend binary as a helper. It is resolved once per
// build. Without a source option (a frontend run in process, as in tests
// that do not set one) it returns nil.
func (b *builder) helperImage(ctx context.Context) (*llb.State, error) {
	b.helperOnce.Do(func() {
		src := b.bc.BuildOpts().Opts[keySource]
		if src == "" {
			return
		}
		named, err := reference.ParseNormalizedNamed(src)
		if err != nil {
			b.helperErr = errors.Wrapf(err, "frontend image %q", src)
			return
		}
		named = reference.TagNameOnly(named)
		p := b.bc.BuildPlatforms[0]
		_, dgst, _, err := b.c.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
			LogName:  "[copa] resolve helper " + named.String(),
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p},
		})
		if err != nil {
			b.helperErr = errors.Wrapf(err, "resolving the frontend image %s for its helper", named)
			return
		}
		pinned, err := reference.WithDigest(reference.TrimNamed(named), dgst)
		if err != nil {
			b.helperErr = err
			return
		}
		st := llb.Image(pinned.String(), llb.Platform(p), llb.WithCustomName("[copa] helper "+named.String()))
		b.helper = &st
	})
	return b.helper, b.helperErr
}
