package frontend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// source is the PATCH image as the registry has it: one image, or the
// platforms of an index, all pinned to the digest the reference resolved
// to when the build started.
type source struct {
	Name   string        // normalised reference, e.g. docker.io/library/nginx:1.21.6
	Digest digest.Digest // what the reference resolved to: the index, or the one manifest
	// Platforms are the images of the source, in the index's order when
	// the index could be read, else in probing order.
	Platforms []sourcePlatform
	// Index is the index as the registry serves it, when it could be
	// read (see readIndex): then Platforms is its complete list, else what
	// asking for each known platform found. Its annotations are kept on
	// the output.
	Index *ocispecs.Index
	// Multi: the source is an index, read or probed.
	Multi bool
	// Probed: the index could not be read, and Platforms are what
	// asking for each known platform found.
	Probed bool
	// Context is the named build context the image comes from, as the
	// build gave it, for messages; empty for the PATCH reference itself.
	Context string
	// layout is set when the image is read from the client's OCI layout
	// (an oci-layout:// context) rather than from a registry.
	layout *layoutStore
}

// origin is where one image of the source comes from: a registry or an
// OCI layout, by Name pinned to Digest, or another build's result.
type origin struct {
	// Name is the image's normalised name: its registry reference, else
	// the PATCH name. Labels and messages name the image by it.
	Name string
	// Digest pins the image; empty for another build's result, which
	// has none.
	Digest digest.Digest
	layout *layoutStore
	// built is another build's result (an input: context).
	built *llb.State
}

// layoutStore is an OCI layout directory that the client serves to the
// daemon in its session.
type layoutStore struct {
	SessionID, StoreID string
}

// pinned is the origin's name pinned to its digest.
func (o origin) pinned() (reference.Canonical, error) {
	named, err := reference.ParseNormalizedNamed(o.Name)
	if err != nil {
		return nil, err
	}
	return reference.WithDigest(reference.TrimNamed(named), o.Digest)
}

// originOf is where the image of sp comes from: its own origin, when a
// per-platform build context gave it, else the source's.
func (s *source) originOf(sp sourcePlatform) origin {
	if sp.from != nil {
		return *sp.from
	}
	return origin{Name: s.Name, Digest: s.Digest, layout: s.layout}
}

// sourcePlatform is one image of the source.
type sourcePlatform struct {
	Platform ocispecs.Platform
	// Config is the image config exactly as the registry serves it: it is
	// passed on byte for byte (carried platforms) or patched key by key,
	// so that fields this frontend does not know survive.
	Config []byte
	// Descriptor is the index's descriptor of the image, when the index
	// was read: its annotations are kept.
	Descriptor *ocispecs.Descriptor
	// from is set when the platform's image has an origin of its own: a
	// per-platform build context.
	from *origin
}

// multi says whether the output must be an index: the source is one, or
// the build asked for several platforms.
func (s *source) multi() bool {
	return s.Multi || len(s.Platforms) > 1
}

// find returns the source's image for p, matched as BuildKit matches
// platforms (linux/arm64 is linux/arm64/v8).
func (s *source) find(p ocispecs.Platform) (sourcePlatform, bool) {
	want := platforms.Format(platforms.Normalize(p))
	for _, sp := range s.Platforms {
		if platforms.Format(platforms.Normalize(sp.Platform)) == want {
			return sp, true
		}
	}
	return sourcePlatform{}, false
}

func (s *source) platformList() string {
	names := make([]string, len(s.Platforms))
	for i, sp := range s.Platforms {
		names[i] = platforms.Format(sp.Platform)
	}
	return strings.Join(names, ", ")
}

// probePlatforms are the platforms asked for one by one when the index
// itself cannot be read: every Linux platform that images are published
// for. An index entry outside this list is not seen (docs/multiplatform.md).
var probePlatforms = []string{
	"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5",
	"linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64", "linux/mips64le",
	"linux/mips64", "linux/loong64",
}

// attestationPlatform is the platform of BuildKit's attestation manifests
// in an index.
var attestationPlatform = ocispecs.Platform{OS: "unknown", Architecture: "unknown"}

// maxPlatforms bounds an index read from a registry.
const maxPlatforms = 64

// resolveSource resolves the PATCH image: the reference, or the named
// build context of its name that replaces it (namedcontext.go).
func (b *builder) resolveSource(ctx context.Context) (*source, error) {
	loc := b.pf.Image.Location
	named, err := reference.ParseNormalizedNamed(b.pf.Image.Value)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", b.pf.Image.Value), loc)
	}
	named = reference.TagNameOnly(named)
	ctxs, err := findPatchContexts(b.bc.BuildOpts().Opts, b.pf.Image.Value)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", b.pf.Image.Value), loc)
	}
	if len(ctxs) > 0 {
		return b.resolveContexts(ctx, named, ctxs)
	}
	return b.resolveImage(ctx, origin{Name: named.String()}, "PATCH "+named.String())
}

// resolveImage finds the images that o holds, where what names it in
// errors. The gateway API has no call that returns an index, so:
//
//  1. the reference is resolved for the first platform it has, which
//     pins the tag to a digest (an OCI layout's is pinned already);
//  2. an index that holds attestation manifests (platform unknown/unknown,
//     which only OCI indexes carry) is read whole, with its annotations,
//     through the source resolver's attestation chain. That call must
//     not be made for other media types: BuildKit v0.34 dereferences a
//     nil chain for a Docker manifest list or a single manifest and the
//     daemon crashes. The chain is a registry's only: an OCI layout's
//     index is probed;
//  3. any other source is probed for each known platform.
func (b *builder) resolveImage(ctx context.Context, o origin, what string) (*source, error) {
	loc := b.pf.Image.Location
	src := &source{Name: o.Name, layout: o.layout}
	ref := o.Name
	if o.layout != nil {
		pinned, err := o.pinned()
		if err != nil {
			return nil, atLine(errors.Wrap(err, what), loc)
		}
		ref = pinned.String()
	}

	first := b.firstProbes()
	var firstErr error
	for _, p := range first {
		sp, dgst, err := b.resolvePlatform(ctx, src.layout, ref, p, "[copa] resolve "+src.describe())
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if !platformMismatch(err) {
				break // the image is missing or refused: other platforms will not help
			}
			continue
		}
		src.Digest = dgst
		src.Platforms = append(src.Platforms, *sp)
		break
	}
	if src.Digest == "" {
		return nil, atLine(withContext(firstErr, "%s: resolving the image", what), loc)
	}
	o.Digest = src.Digest
	pinned, err := o.pinned()
	if err != nil {
		return nil, err
	}

	idx, single, err := b.readIndex(ctx, src, pinned.String(), src.Platforms[0])
	switch {
	case err != nil:
		return nil, atLine(withContext(err, "%s: reading the image index", what), loc)
	case single:
		return src, nil
	case idx != nil:
		if err := src.fromIndex(idx); err != nil {
			return nil, atLine(errors.Wrap(err, what), loc)
		}
		for i := range src.Platforms {
			if src.Platforms[i].Config != nil {
				continue
			}
			p := src.Platforms[i].Platform
			sp, _, err := b.resolvePlatform(ctx, src.layout, pinned.String(), p, "[copa] resolve "+src.describe()+" for "+platforms.Format(p))
			if err != nil {
				return nil, atLine(withContext(err, "%s: resolving %s", what, platforms.Format(p)), loc)
			}
			src.Platforms[i].Config = sp.Config
		}
		return src, nil
	}

	// An index that cannot be read is asked for each known platform.
	for _, ps := range probePlatforms {
		p := platforms.MustParse(ps)
		if _, ok := src.find(p); ok {
			continue
		}
		sp, _, err := b.resolvePlatform(ctx, src.layout, pinned.String(), p, "[copa] probe "+src.describe()+": has "+ps+"?")
		if err != nil {
			continue
		}
		if _, dup := src.find(sp.Platform); !dup {
			src.Platforms = append(src.Platforms, *sp)
		}
	}
	// In the order of probePlatforms, as indexes list them, not in the
	// order the build happened to resolve them.
	slices.SortStableFunc(src.Platforms, func(a, b sourcePlatform) int {
		return probeRank(a.Platform) - probeRank(b.Platform)
	})
	src.Multi, src.Probed = true, true
	return src, nil
}

// display names the source in errors: with the build context that gave
// it, since the PATCH line names another image.
func (s *source) display() string {
	if s.Context == "" {
		return s.Name
	}
	return s.Name + " (build context " + s.Context + ")"
}

// describe names the source in the progress.
func (s *source) describe() string {
	if s.layout != nil {
		return s.Name + " from the OCI layout of the build context"
	}
	return s.Name
}

func probeRank(p ocispecs.Platform) int {
	i := slices.Index(probePlatforms, platforms.Format(platforms.Normalize(p)))
	if i < 0 {
		return len(probePlatforms)
	}
	return i
}

// platformMismatch tells an image that lacks a platform from one that
// cannot be resolved at all. containerd says "no match for platform"; the
// check of resolvePlatform says "no image for".
func platformMismatch(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no match for platform") || strings.Contains(msg, "no image for ")
}

// firstProbes are the platforms the reference is first resolved for: the
// ones the build asked for, else the build platform, then every known
// one, so that an index without the build platform still resolves.
func (b *builder) firstProbes() []ocispecs.Platform {
	var out []ocispecs.Platform
	add := func(p ocispecs.Platform) {
		p = platforms.Normalize(p)
		if !slices.ContainsFunc(out, func(q ocispecs.Platform) bool { return platforms.Format(q) == platforms.Format(p) }) {
			out = append(out, p)
		}
	}
	for _, p := range b.bc.TargetPlatforms {
		add(p)
	}
	for _, p := range b.bc.BuildPlatforms {
		add(p)
	}
	add(platforms.DefaultSpec())
	for _, ps := range probePlatforms {
		add(platforms.MustParse(ps))
	}
	return out
}

// resolvePlatform resolves ref for p and checks that the image is of p:
// platform matching would otherwise hand out a compatible platform
// (linux/386 for linux/amd64, arm/v6 for arm/v7).
func (b *builder) resolvePlatform(ctx context.Context, layout *layoutStore, ref string, p ocispecs.Platform, logName string) (*sourcePlatform, digest.Digest, error) {
	dgst, dt, err := b.resolveConfig(ctx, layout, ref, p, logName)
	if err != nil {
		return nil, "", err
	}
	var cfg ocispecs.Image
	if err := json.Unmarshal(dt, &cfg); err != nil {
		return nil, "", errors.Wrap(err, "reading the image config")
	}
	got := platforms.Normalize(ocispecs.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
	want := platforms.Normalize(p)
	if got.OS != want.OS || got.Architecture != want.Architecture || (cfg.Variant != "" && got.Variant != want.Variant) {
		return nil, "", errors.Errorf("no image for %s (the closest is %s)", platforms.Format(want), platforms.Format(got))
	}
	if err := validPlatform(got); err != nil {
		return nil, "", err
	}
	return &sourcePlatform{Platform: want, Config: dt}, dgst, nil
}

// resolveConfig resolves ref for p in a registry, or in the client's OCI
// layout: the digest ref resolved to and the config as it is stored.
func (b *builder) resolveConfig(ctx context.Context, layout *layoutStore, ref string, p ocispecs.Platform, logName string) (digest.Digest, []byte, error) {
	opt := sourceresolver.Opt{LogName: logName}
	if layout != nil {
		opt.OCILayoutOpt = &sourceresolver.ResolveOCILayoutOpt{
			Platform: &p,
			Store:    sourceresolver.ResolveImageConfigOptStore{SessionID: layout.SessionID, StoreID: layout.StoreID},
		}
	} else {
		opt.ImageOpt = &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String()}
	}
	_, dgst, dt, err := b.c.ResolveImageConfig(ctx, ref, opt)
	return dgst, dt, err
}

// readIndex finds out what ref is, with one question: the image for
// platform unknown/unknown. A single manifest answers for any platform
// with its own config (single is true). An index with attestation
// manifests answers with one of them: BuildKit's older ones have a config
// of that platform, newer ones the OCI empty config, which the resolver
// refuses by its media type. Such an index is an OCI index, and only then
// is it read whole, through the source resolver's attestation chain: for
// a Docker manifest list or a single manifest, BuildKit v0.34 dereferences
// a nil chain there and the daemon crashes. Any other index (a Docker
// manifest list, an OCI index without attestations) has no match, and
// readIndex returns neither. Of an OCI layout only single is told: the
// attestation chain is read from registries only.
func (b *builder) readIndex(ctx context.Context, src *source, ref string, first sourcePlatform) (_ *ocispecs.Index, single bool, _ error) {
	name := src.describe()
	_, dt, err := b.resolveConfig(ctx, src.layout, ref, attestationPlatform,
		"[copa] look for attestation manifests in "+name+" (an error naming "+ocispecs.MediaTypeEmptyJSON+" means there are)")
	att := attestationPlatform
	switch {
	case err == nil && bytes.Equal(dt, first.Config):
		return nil, true, nil
	case err == nil:
		var cfg ocispecs.Image
		if json.Unmarshal(dt, &cfg) != nil || cfg.OS != att.OS || cfg.Architecture != att.Architecture {
			return nil, false, nil
		}
	case !strings.Contains(err.Error(), ocispecs.MediaTypeEmptyJSON):
		return nil, false, nil
	}
	if src.layout != nil {
		return nil, false, nil
	}
	caps := b.c.BuildOpts().Caps
	if caps.Supports(gwpb.CapSourceMetaResolverImageAttestations) != nil {
		return nil, false, nil
	}
	p := first.Platform
	res, err := b.c.ResolveSourceMetadata(ctx, &pb.SourceOp{Identifier: "docker-image://" + ref}, sourceresolver.Opt{
		LogName:  "[copa] read the index of " + name,
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String(), AttestationChain: true, NoConfig: true},
	})
	if err != nil {
		return nil, false, err
	}
	if res.Image == nil || res.Image.AttestationChain == nil {
		return nil, false, nil
	}
	ac := res.Image.AttestationChain
	blob, ok := ac.Blobs[ac.Root]
	if !ok {
		return nil, false, nil
	}
	if digest.FromBytes(blob.Data) != ac.Root {
		return nil, false, errors.Errorf("the index the registry served does not match its digest %s", ac.Root)
	}
	var idx ocispecs.Index
	if err := json.Unmarshal(blob.Data, &idx); err != nil {
		return nil, false, errors.Wrap(err, "parsing the image index")
	}
	return &idx, false, nil
}

// fromIndex takes the source's platforms from its index: every image
// manifest with a platform, in index order; attestation manifests are
// left out (the exporter writes the output's own).
func (s *source) fromIndex(idx *ocispecs.Index) error {
	byFormat := map[string]sourcePlatform{}
	for _, sp := range s.Platforms {
		byFormat[platforms.Format(sp.Platform)] = sp
	}
	var out []sourcePlatform
	for i := range idx.Manifests {
		d := idx.Manifests[i]
		if d.Platform == nil || d.Platform.OS == attestationPlatform.OS || d.Annotations["vnd.docker.reference.type"] != "" {
			continue
		}
		switch d.MediaType {
		case ocispecs.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
		default:
			continue
		}
		p := platforms.Normalize(*d.Platform)
		if err := validPlatform(p); err != nil {
			return err
		}
		if slices.ContainsFunc(out, func(o sourcePlatform) bool { return platforms.Format(o.Platform) == platforms.Format(p) }) {
			continue // a second image of one platform is never the one pulled
		}
		sp := byFormat[platforms.Format(p)]
		sp.Platform, sp.Descriptor = p, &d
		out = append(out, sp)
		if len(out) > maxPlatforms {
			return errors.Errorf("the index has more than %d platforms", maxPlatforms)
		}
	}
	if len(out) == 0 {
		return errors.New("the index lists no image with a platform")
	}
	s.Platforms, s.Index, s.Multi = out, idx, true
	return nil
}

// rePlatformWord is what the fields of a platform may hold: they reach
// step names, cache IDs and the package manager's architecture option.
var rePlatformWord = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

func validPlatform(p ocispecs.Platform) error {
	for _, f := range []string{p.OS, p.Architecture} {
		if !rePlatformWord.MatchString(f) {
			return fmt.Errorf("the image's platform %q is not a valid os/arch", platforms.Format(p))
		}
	}
	if p.Variant != "" && !rePlatformWord.MatchString(p.Variant) {
		return fmt.Errorf("the image's platform variant %q is not valid", p.Variant)
	}
	return nil
}

// parsedConfig is the config as the per-platform phases read it.
func (sp sourcePlatform) parsedConfig() (dockerspec.DockerOCIImage, error) {
	var cfg dockerspec.DockerOCIImage
	err := json.Unmarshal(sp.Config, &cfg)
	return cfg, errors.Wrap(err, "reading the image config")
}
