package frontend

import (
	"encoding/json"
	"time"

	"github.com/moby/buildkit/client/llb"
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
	// RawConfig is the config as the registry serves it, which the
	// output keeps byte for byte where nothing changes.
	RawConfig []byte
	State     llb.State // pinned to Digest
}

// baseFor is the source's image for one platform, pinned to the digest
// the reference resolved to, so that config and layers come from the same
// image even if the tag moves during the build.
func (b *builder) baseFor(src *source, sp sourcePlatform) (*baseImage, error) {
	o := src.originOf(sp)
	cfg, err := sp.parsedConfig()
	if err != nil {
		return nil, err
	}
	st, err := b.originState(o, sp.Platform)
	if err != nil {
		return nil, err
	}
	return &baseImage{Name: o.Name, Digest: o.Digest, Config: cfg, RawConfig: sp.Config, State: st}, nil
}

// originState is the filesystem of o's image for p.
func (b *builder) originState(o origin, p ocispecs.Platform) (llb.State, error) {
	if o.built != nil {
		// Another build's result is what it is; the platform only
		// tells the steps built on it where they run.
		return o.built.Platform(p), nil
	}
	pinned, err := o.pinned()
	if err != nil {
		return llb.State{}, err
	}
	loc, name := b.location(b.pf.Image.Location), llb.WithCustomName(stepPrefix(p)+o.Name)
	if o.layout != nil {
		return llb.OCILayout(pinned.String(), llb.OCIStore(o.layout.SessionID, o.layout.StoreID), llb.Platform(p), loc,
			llb.WithCustomName(stepPrefix(p)+o.Name+" (OCI layout)")), nil
	}
	return llb.Image(pinned.String(), llb.Platform(p), loc, name), nil
}

// patchedConfig is the base config with one history entry for the patch
// layer and the patch labels. Everything else is kept as it was, because
// users run patched images exactly as they ran the originals: the config
// is changed key by key, so that fields this frontend does not know
// survive too.
func patchedConfig(base *baseImage, createdBy string, created time.Time) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(base.RawConfig, &m); err != nil {
		return nil, errors.Wrap(err, "reading the image config")
	}
	inner := map[string]json.RawMessage{}
	if c, ok := m["config"]; ok && string(c) != "null" {
		if err := json.Unmarshal(c, &inner); err != nil {
			return nil, errors.Wrap(err, "reading the image config's config")
		}
	}
	labels := copyLabels(base.Config.Config.Labels)
	labels[LabelPatched] = "true"
	labels[LabelBaseName] = base.Name
	if base.Digest != "" {
		labels[LabelBaseDigest] = base.Digest.String()
	} else {
		// Another build's result has no digest; one inherited from its
		// own base would pair that image's digest with this name.
		delete(labels, LabelBaseDigest)
	}
	history := append(append([]ocispecs.History(nil), base.Config.History...), ocispecs.History{
		Created:   &created,
		CreatedBy: createdBy,
		Comment:   HistoryComment,
	})
	for k, v := range map[string]any{"Labels": labels} {
		dt, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		inner[k] = dt
	}
	for k, v := range map[string]any{"history": history, "created": created} {
		dt, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		m[k] = dt
	}
	dt, err := json.Marshal(inner)
	if err != nil {
		return nil, err
	}
	m["config"] = dt
	return json.Marshal(m)
}

// HistoryComment is the comment of the patch layer's history entry: with
// the labels, it tells a patched image (see repatch.go).
const HistoryComment = "copa/frontend"

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}
