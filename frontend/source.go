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

// resolveSource resolves the PATCH reference and finds the images it
// holds. The gateway API has no call that returns an index, so:
//
//  1. the reference is resolved for the first platform it has, which
//     pins the tag to a digest;
//  2. an index that holds attestation manifests (platform unknown/unknown,
//     which only OCI indexes carry) is read whole, with its annotations,
//     through the source resolver's attestation chain. That call must
//     not be made for other media types: BuildKit v0.34 dereferences a
//     nil chain for a Docker manifest list or a single manifest and the
//     daemon crashes;
//  3. any other source is probed for each known platform.
func (b *builder) resolveSource(ctx context.Context) (*source, error) {
	loc := b.pf.Image.Location
	named, err := reference.ParseNormalizedNamed(b.pf.Image.Value)
	if err != nil {
		return nil, atLine(errors.Wrapf(err, "PATCH %s", b.pf.Image.Value), loc)
	}
	named = reference.TagNameOnly(named)
	src := &source{Name: named.String()}

	first := b.firstProbes()
	var firstErr error
	for _, p := range first {
		sp, dgst, err := b.resolvePlatform(ctx, src.Name, p, "[copa] resolve "+src.Name)
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
		return nil, atLine(withContext(firstErr, "PATCH %s: resolving the image", src.Name), loc)
	}
	pinned, err := reference.WithDigest(reference.TrimNamed(named), src.Digest)
	if err != nil {
		return nil, err
	}

	idx, single, err := b.readIndex(ctx, src.Name, pinned.String(), src.Platforms[0])
	switch {
	case err != nil:
		return nil, atLine(withContext(err, "PATCH %s: reading the image index", src.Name), loc)
	case single:
		return src, nil
	case idx != nil:
		if err := src.fromIndex(idx); err != nil {
			return nil, atLine(errors.Wrapf(err, "PATCH %s", src.Name), loc)
		}
		for i := range src.Platforms {
			if src.Platforms[i].Config != nil {
				continue
			}
			p := src.Platforms[i].Platform
			sp, _, err := b.resolvePlatform(ctx, pinned.String(), p, "[copa] resolve "+src.Name+" for "+platforms.Format(p))
			if err != nil {
				return nil, atLine(withContext(err, "PATCH %s: resolving %s", src.Name, platforms.Format(p)), loc)
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
		sp, _, err := b.resolvePlatform(ctx, pinned.String(), p, "[copa] probe "+src.Name+": has "+ps+"?")
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
	src.Multi = true
	return src, nil
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
func (b *builder) resolvePlatform(ctx context.Context, ref string, p ocispecs.Platform, logName string) (*sourcePlatform, digest.Digest, error) {
	_, dgst, dt, err := b.c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{
		LogName:  logName,
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String()},
	})
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
// readIndex returns neither.
func (b *builder) readIndex(ctx context.Context, name, ref string, first sourcePlatform) (_ *ocispecs.Index, single bool, _ error) {
	att := attestationPlatform
	_, _, dt, err := b.c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{
		LogName:  "[copa] look for attestation manifests in " + name + " (an error naming " + ocispecs.MediaTypeEmptyJSON + " means there are)",
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &att, ResolveMode: b.bc.ImageResolveMode.String()},
	})
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
