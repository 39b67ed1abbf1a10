package frontend

import (
	"context"
	"encoding/json"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// Labels the patched image carries, so that tools can tell a patched image
// and find what it was patched from.
const (
	LabelPatched    = "copa.patched"
	LabelBaseName   = ocispecs.AnnotationBaseImageName
	LabelBaseDigest = ocispecs.AnnotationBaseImageDigest
)

// baseImage is the image a Patchfile names, resolved for one platform.
type baseImage struct {
	Name   string        // normalised reference, e.g. docker.io/library/nginx:1.21.6
	Digest digest.Digest // what the reference resolved to
	Config dockerspec.DockerOCIImage
	State  llb.State // pinned to Digest
}

// resolveBase resolves the PATCH reference for platform p. The state is
// pinned to the digest that was resolved, so that config and layers come
// from the same image even if the tag moves during the build.
func (b *builder) resolveBase(ctx context.Context, p ocispecs.Platform) (*baseImage, error) {
	loc := b.pf.Image.Location
	named, err := reference.ParseNormalizedNamed(b.pf.Image.Value)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", b.pf.Image.Value), loc)
	}
	named = reference.TagNameOnly(named)
	_, dgst, dt, err := b.c.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
		LogName: stepPrefix(p) + "resolve " + named.String(),
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    &p,
			ResolveMode: b.bc.ImageResolveMode.String(),
		},
	})
	if err != nil {
		return nil, atLine(withContext(err, "PATCH %s: resolving the image", named), loc)
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(dt, &cfg); err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s: reading the image config", named), loc)
	}
	pinned := named.String()
	if dgst != "" {
		c, err := reference.WithDigest(reference.TrimNamed(named), dgst)
		if err != nil {
			return nil, err
		}
		pinned = c.String()
	}
	st := llb.Image(pinned, llb.Platform(p), b.location(loc), llb.WithCustomName(stepPrefix(p)+named.String()))
	return &baseImage{Name: named.String(), Digest: dgst, Config: cfg, State: st}, nil
}

// patchedConfig is the base config with one history entry for the patch
// layer and the patch labels; everything else is kept as it was, because
// users run patched images exactly as they ran the originals.
func patchedConfig(base *baseImage, createdBy string, created time.Time) dockerspec.DockerOCIImage {
	img := base.Config
	img.Config.Labels = copyLabels(img.Config.Labels)
	img.Config.Labels[LabelPatched] = "true"
	img.Config.Labels[LabelBaseName] = base.Name
	if base.Digest != "" {
		img.Config.Labels[LabelBaseDigest] = base.Digest.String()
	}
	img.History = append(append([]ocispecs.History(nil), img.History...), ocispecs.History{
		Created:   &created,
		CreatedBy: createdBy,
		Comment:   "copa/frontend",
	})
	img.Created = &created
	return img
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}
