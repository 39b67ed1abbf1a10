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

// helperImage returns the frontend's own image, pinned to its digest, for
// steps that run the frontend binary as a helper. It is resolved once per
// build. Without a source option (a frontend run in process, as in tests
// that do not set one) it returns nil and the build warns that those steps
// are left out.
func (b *builder) helperImage(ctx context.Context) (*llb.State, error) {
	b.helperOnce.Do(func() {
		if v, ok := b.bc.BuildArgs[ArgKeepUnchanged]; ok {
			keep, err := strconv.ParseBool(v)
			if err != nil {
				b.helperErr = errors.Errorf("build arg %s=%q: want true or false", ArgKeepUnchanged, v)
				return
			}
			if !keep {
				return
			}
		}
		src := b.bc.BuildOpts().Opts[keySource]
		if src == "" {
			b.src.Warn(ctx, "the frontend was not started from an image (no \"source\" option), so it cannot run its helper: files that the patch left unchanged stay in the patch layer", warnOpts(nil))
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
