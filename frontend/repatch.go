package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	govex "github.com/openvex/go-vex/pkg/vex"
	packageurl "github.com/package-url/packageurl-go"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// A re-patch: the PATCH image is one this frontend patched. Its patch
// layer is replaced rather than stacked on: the new patch starts from the
// original image, pinned by the digest in the patched image's label, and
// takes over everything the earlier patch installed.

// maxEarlierVEX bounds the earlier VEX document read back from a registry.
const maxEarlierVEX = 16 << 20

// earlierPatch is what an earlier patch by this frontend left.
type earlierPatch struct {
	// Patched is the PATCH image, and Original the image it was patched
	// from.
	Patched, Original *baseImage
	// VEX is the earlier patch's OpenVEX document for this platform, as
	// the registry holds it; nil when it could not be read.
	VEX []byte
}

// patchedBy reports the original of an image this frontend patched: its
// labels name it, and its last history entry is the patch layer's. Both
// must hold, so that an image built FROM a patched one, which inherits the
// labels but adds history, is not mistaken for a patch.
func patchedBy(base *baseImage) (reference.Canonical, bool) {
	if !madeByPatch(base) {
		return nil, false
	}
	l := base.Config.Config.Labels
	named, err := reference.ParseNormalizedNamed(l[LabelBaseName])
	if err != nil {
		return nil, false
	}
	d, err := digest.Parse(l[LabelBaseDigest])
	if err != nil {
		return nil, false
	}
	c, err := reference.WithDigest(reference.TrimNamed(named), d)
	if err != nil {
		return nil, false
	}
	return c, true
}

// madeByPatch tells an image whose last layer is this frontend's patch,
// whether or not its labels name an original.
func madeByPatch(base *baseImage) bool {
	h := base.Config.History
	return base.Config.Config.Labels[LabelPatched] == "true" && len(h) > 0 && h[len(h)-1].Comment == HistoryComment
}

// earlierPatchOf returns the earlier patch when base is a patched image
// whose original can still be pulled. When it cannot (deleted from the
// registry, say), the build warns and patches on top of the patched image:
// the layers then stack, but nothing fails.
func (b *builder) earlierPatchOf(ctx context.Context, src *source, sp sourcePlatform, base *baseImage) *earlierPatch {
	p := sp.Platform
	orig, ok := patchedBy(base)
	if !ok {
		if madeByPatch(base) {
			// A patch of a bake target's image names no digest: the
			// original was a local build.
			l := base.Config.Config.Labels
			b.src.Warn(ctx, fmt.Sprintf("PATCH %s (%s) was patched by copa/frontend, but its labels name no original to pull (%s=%q, %s=%q): patching on top of the patched image, so this patch's layer stacks on the earlier one",
				src.Name, platforms.Format(p), LabelBaseName, l[LabelBaseName], LabelBaseDigest, l[LabelBaseDigest]), warnOpts(b.pf.Image.Location))
		}
		return nil
	}
	_, _, dt, err := b.c.ResolveImageConfig(ctx, orig.String(), sourceresolver.Opt{
		LogName:  stepPrefix(p) + "resolve the original " + orig.String(),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String()},
	})
	var ob *baseImage
	if err == nil {
		// The original keeps its name as the label gives it (with its
		// tag), pinned to the label's digest.
		ob, err = b.baseFor(&source{Name: base.Config.Config.Labels[LabelBaseName], Digest: orig.Digest()}, sourcePlatform{Platform: p, Config: dt})
	}
	if err != nil {
		b.src.Warn(ctx, fmt.Sprintf("PATCH %s (%s) was patched by copa/frontend from %s, which cannot be pulled (%v): patching on top of the patched image, so this patch's layer stacks on the earlier one",
			src.Name, platforms.Format(p), orig, firstLine(err)), warnOpts(b.pf.Image.Location))
		return nil
	}
	e := &earlierPatch{Patched: base, Original: ob}
	if src.Index != nil {
		e.VEX, err = b.earlierVEX(ctx, src, p)
		if err != nil {
			b.src.Warn(ctx, fmt.Sprintf("PATCH %s (%s): the earlier patch's VEX document cannot be read (%v): the new one states only what this patch's reports name", src.Name, platforms.Format(p), firstLine(err)), warnOpts(b.pf.Image.Location))
		}
	}
	return e
}

// earlierVEX reads the OpenVEX attestation of platform p of the source,
// which must be an OCI index with attestations (see readIndex).
func (b *builder) earlierVEX(ctx context.Context, src *source, p ocispecs.Platform) ([]byte, error) {
	named, err := reference.ParseNormalizedNamed(src.Name)
	if err != nil {
		return nil, err
	}
	pinned, err := reference.WithDigest(reference.TrimNamed(named), src.Digest)
	if err != nil {
		return nil, err
	}
	res, err := b.c.ResolveSourceMetadata(ctx, &pb.SourceOp{Identifier: "docker-image://" + pinned.String()}, sourceresolver.Opt{
		LogName: stepPrefix(p) + "read the earlier patch's VEX attestation",
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform: &p, ResolveMode: b.bc.ImageResolveMode.String(), NoConfig: true,
			AttestationChain: true, ResolveAttestations: []string{PredicateTypeOpenVEX},
		},
	})
	if err != nil {
		return nil, err
	}
	if res.Image == nil || res.Image.AttestationChain == nil {
		return nil, nil
	}
	for _, blob := range res.Image.AttestationChain.Blobs {
		if blob.Descriptor.Annotations["in-toto.io/predicate-type"] != PredicateTypeOpenVEX {
			continue
		}
		if len(blob.Data) > maxEarlierVEX {
			return nil, errors.Errorf("the attestation is larger than %d bytes", maxEarlierVEX)
		}
		if digest.FromBytes(blob.Data) != blob.Descriptor.Digest {
			return nil, errors.New("the attestation does not match its digest")
		}
		var st struct {
			PredicateType string          `json:"predicateType"`
			Predicate     json.RawMessage `json:"predicate"`
		}
		if err := json.Unmarshal(blob.Data, &st); err != nil {
			return nil, errors.Wrap(err, "parsing the in-toto statement")
		}
		return st.Predicate, nil
	}
	return nil, nil
}

// earlierFindings are what the earlier patch must not lose, as findings
// for the new plan: every package it upgraded, at least to the version the
// patched image has (read from both package databases), and every
// vulnerability its VEX document states fixed, at the version it named.
// They come from the image and its registry, so they are validated like a
// report's.
func earlierFindings(f distros.PatchFormat, original, patched distros.Packages, vexDoc []byte) ([]distros.Finding, error) {
	v := f.Versioning()
	var out []distros.Finding
	pv := patched.Versions(v)
	ov := original.Versions(v)
	for _, name := range sortedNames(pv) {
		was, ok := ov[name]
		if ok && v.Compare(pv[name], was) <= 0 {
			continue
		}
		if !ok {
			continue // added by the earlier patch as a dependency: the new patch adds what it needs
		}
		out = append(out, distros.Finding{Package: name, FixedVersions: []string{pv[name]}, Entry: "earlier patch: " + name})
	}
	if len(vexDoc) > 0 {
		var doc govex.VEX
		if err := json.Unmarshal(vexDoc, &doc); err != nil {
			return nil, errors.Wrap(err, "the earlier patch's VEX document")
		}
		for _, st := range doc.Statements {
			if st.Status != govex.StatusFixed {
				continue
			}
			for _, prod := range st.Products {
				for _, sc := range prod.Subcomponents {
					pu, err := packageurl.FromString(sc.ID)
					if err != nil || pu.Version == "" {
						continue
					}
					if _, installed := ov[pu.Name]; !installed {
						continue
					}
					out = append(out, distros.Finding{Package: pu.Name, FixedVersions: []string{pu.Version}, VulnerabilityID: string(st.Vulnerability.Name), Entry: "earlier patch's VEX: " + string(st.Vulnerability.Name)})
				}
			}
		}
	}
	for _, fd := range out {
		if err := fd.Validate(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sortedNames(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// firstLine keeps a warning to one line: BuildKit errors can carry
// several.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
