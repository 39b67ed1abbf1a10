package frontend

import (
	"fmt"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// PATCH through named build contexts: as a Dockerfile's FROM, the PATCH
// image is replaced by a build context of its name
// (--build-context nginx:1.21.6=oci-layout://./nginx, or a bake
// target's result). The frontend reads the contexts' options itself
// rather than loading them through dockerui's NamedContext: that gives
// the image config parsed (and without "created"), where the patch must
// keep the config byte for byte, and it resolves a docker-image context
// for one platform, where PATCH reads the whole index.

// Frontend options by which buildx and bake pass named contexts
// (dockerui reads the same).
const (
	contextOptPrefix       = "context:"
	inputMetadataOptPrefix = "input-metadata:"
)

// contextKind is the source of a named context that PATCH can take.
type contextKind string

const (
	// contextImage: docker-image://<reference>, another image to patch
	// instead, from a registry.
	contextImage contextKind = "docker-image"
	// contextLayout: oci-layout://<store>@<digest>, an OCI layout
	// directory on the client; buildx passes the directory as a
	// session store and pins the tag it names to a digest.
	contextLayout contextKind = "oci-layout"
	// contextInput: input:<name>, the result of another build, which is
	// how bake passes a target: context.
	contextInput contextKind = "input"
)

// patchContext is a named build context that replaces the PATCH image.
type patchContext struct {
	// Name is the context's name as the build gave it: the PATCH image
	// as dockerui spells it (nginx:1.21.6, app), with "::os/arch" for a
	// per-platform context.
	Name string
	// Platform is set for a per-platform context: bake passes one for
	// each platform of a multi-platform target.
	Platform *ocispecs.Platform
	Kind     contextKind
	// Ref is what follows the source: the image reference, the layout's
	// store@digest, or the input's name.
	Ref string
}

func (pc patchContext) String() string {
	sep := ":"
	if pc.Kind != contextInput {
		sep = "://"
	}
	return pc.Name + "=" + string(pc.Kind) + sep + pc.Ref
}

// contextName is the name a build context must have to replace image, as
// dockerui gives it for a Dockerfile's FROM: the familiar reference
// without ":latest" (nginx, nginx:1.21.6, ghcr.io/org/app:v1).
func contextName(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(reference.FamiliarString(named), ":latest"), nil
}

// findPatchContexts returns the named contexts that replace image: the
// context of its name, or one per platform (NAME::os/arch), sorted by
// name, so that a build reads them in one order.
func findPatchContexts(opts map[string]string, image string) ([]patchContext, error) {
	name, err := contextName(image)
	if err != nil {
		return nil, err
	}
	var out []patchContext
	plain, hasPlain := opts[contextOptPrefix+name]
	for k, v := range opts {
		pname, ok := strings.CutPrefix(k, contextOptPrefix+name+"::")
		if !ok {
			continue
		}
		p, err := platforms.Parse(pname)
		if err != nil {
			return nil, errors.Wrapf(err, "the build context %s::%s names no platform", name, pname)
		}
		p = platforms.Normalize(p)
		pc, err := parseContext(name+"::"+pname, v)
		if err != nil {
			return nil, err
		}
		pc.Platform = &p
		out = append(out, pc)
	}
	if len(out) > 0 {
		if hasPlain {
			// A Dockerfile would take NAME for the platforms that have no
			// NAME::os/arch; which platforms the image has would then
			// depend on the platforms asked for. bake never sets both.
			return nil, errors.Errorf("the build contexts %s and %s are both given: give %s alone for the whole image, or one %s::<os/arch> per platform", name, out[0].Name, name, name)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	if !hasPlain {
		return nil, nil
	}
	pc, err := parseContext(name, plain)
	if err != nil {
		return nil, err
	}
	return []patchContext{pc}, nil
}

// parseContext reads the value of a named context, and refuses the
// sources that are not images, saying what to give instead.
func parseContext(name, value string) (patchContext, error) {
	src, rest, ok := strings.Cut(value, ":")
	if !ok {
		return patchContext{}, errors.Errorf("the build context %s has no source (%q): %s", name, value, contextAdvice(name))
	}
	pc := patchContext{Name: name, Kind: contextKind(src)}
	switch pc.Kind {
	case contextImage:
		pc.Ref = strings.TrimPrefix(rest, "//")
		if _, err := reference.ParseNormalizedNamed(pc.Ref); err != nil {
			return patchContext{}, errors.Wrapf(err, "the build context %s names the image %q", name, pc.Ref)
		}
	case contextLayout:
		pc.Ref = strings.TrimPrefix(rest, "//")
		if _, _, err := parseLayoutRef(pc.Ref); err != nil {
			return patchContext{}, errors.Wrapf(err, "the build context %s", name)
		}
	case contextInput:
		if rest == "" {
			return patchContext{}, errors.Errorf("the build context %s names no input", name)
		}
		pc.Ref = rest
	case "local":
		return patchContext{}, errors.Errorf("the build context %s is a local directory, not an image: %s", name, contextAdvice(name))
	case "git", "http", "https":
		return patchContext{}, errors.Errorf("the build context %s is a Git repository or a URL (%s), not an image: %s", name, value, contextAdvice(name))
	default:
		if strings.HasPrefix(src, "git@") {
			return patchContext{}, errors.Errorf("the build context %s is a Git repository (%s), not an image: %s", name, value, contextAdvice(name))
		}
		return patchContext{}, errors.Errorf("the build context %s has the source %q, which PATCH does not take: %s", name, src, contextAdvice(name))
	}
	return pc, nil
}

// contextAdvice says which build contexts PATCH takes.
func contextAdvice(name string) string {
	name, _, _ = strings.Cut(name, "::")
	return fmt.Sprintf("PATCH takes an image: --build-context %s=docker-image://<reference>, an OCI layout directory with --build-context %s=oci-layout://<dir>[:<tag>], or in bake a target's image with contexts = { \"%s\" = \"target:<target>\" }", name, name, name)
}

// contextsPin says whether contexts replace an image with images the
// build pins: an OCI layout (buildx pins its tag to a digest), another
// build's result, or a docker-image:// reference with a digest. None at
// all pin nothing.
func contextsPin(ctxs []patchContext) bool {
	for _, pc := range ctxs {
		if pc.Kind != contextImage {
			continue
		}
		named, err := reference.ParseNormalizedNamed(pc.Ref)
		if err != nil {
			return false
		}
		if _, digested := named.(reference.Digested); !digested {
			return false
		}
	}
	return len(ctxs) > 0
}

// parseLayoutRef reads an oci-layout context's reference, which buildx
// writes as <store>[:<tag>]@<digest>: the session's store of the layout
// directory, pinned.
func parseLayoutRef(ref string) (store string, dgst reference.Digested, err error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return "", nil, errors.Wrapf(err, "invalid oci-layout reference %q", ref)
	}
	named, ok := r.(reference.Named)
	if !ok {
		return "", nil, errors.Errorf("the oci-layout reference %q names no store", ref)
	}
	d, ok := r.(reference.Digested)
	if !ok {
		return "", nil, errors.Errorf("the oci-layout reference %q has no digest (buildx pins the layout's tag to one)", ref)
	}
	return named.Name(), d, nil
}
