package distros

import (
	"context"
	"time"

	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// FS reads an image's files without running anything of the image.
type FS interface {
	// ReadFile returns a file's content; a missing file is an error, and
	// so is one larger than limit bytes.
	ReadFile(ctx context.Context, path string, limit int64) ([]byte, error)
	// ReadDir lists the names in dir; a missing dir lists nothing.
	ReadDir(ctx context.Context, dir string) ([]string, error)
	// Exists reports whether path exists (without following a final symlink).
	Exists(ctx context.Context, path string) (bool, error)
}

// Policy says what happens to a package whose fixed version cannot be
// installed.
type Policy string

// The two policies: fail the build (the default), or leave the package as
// it is and say so in a warning.
const (
	PolicyFail Policy = "fail"
	PolicyWarn Policy = "warn"
)

// Method is one way of patching images of a format: a package manager in
// the image (apt), or a tooling image that works on the image's files. It
// only detects the images it patches and builds the patch; the format
// reads the packages and knows the release.
type Method interface {
	// Name is how users know the method in messages and history, e.g.
	// "apt".
	Name() string
	// Format is the package format the method installs.
	Format() PatchFormat
	// Detect reports whether the method patches this image, judged by its
	// files (package database, package manager, shell); nothing of the
	// image runs. osr is of a distro the format serves.
	Detect(ctx context.Context, root FS, osr OSRelease) (bool, error)
	// Patch builds the LLB that installs the plan on top of the image.
	Patch(ctx context.Context, root FS, req PatchRequest) (*Patch, error)
}

// ToolingMethod is a Method for images that cannot run a package manager
// themselves (no shell, no package manager): a separate tooling image of
// the same release fetches and unpacks the packages into the image. The
// default tooling image is a per-release fact (Release.Tooling).
type ToolingMethod interface {
	Method
	// CheckTooling reads a tooling image's files and says why it cannot
	// patch images of release osr, if it cannot.
	CheckTooling(ctx context.Context, tooling FS, toolingOS, osr OSRelease) error
	// DetectNative reports whether the method can patch the image even
	// where the image could run its own package manager: a patch that
	// must not run anything of the image (a platform the builder cannot
	// run, or PATCH --native) takes the tooling method for every image it
	// can read.
	DetectNative(ctx context.Context, root FS, osr OSRelease) (bool, error)
}

// PatchRequest is what a Method needs to build a patch step.
type PatchRequest struct {
	Image    llb.State
	OS       OSRelease
	Release  Release
	Platform ocispecs.Platform
	Plan     *Plan
	// Installed is what the image has before the patch.
	Installed Packages
	Policy    Policy
	// Helper is the frontend's own image, whose binary runs the steps
	// that must not depend on the image's tools; nil when it is not known,
	// and then those steps are left out.
	Helper *llb.State
	// KeepUnchanged asks the step to keep the files an upgrade left
	// unchanged out of the layer, with the helper.
	KeepUnchanged bool
	// Tooling is the image that does the work for a ToolingMethod.
	Tooling *Tooling
	// Native is set when the tooling image runs on the build platform,
	// not on Platform: it must fetch packages of Platform's architecture,
	// and nothing of Platform is ever run.
	Native bool
	// SourceDateEpoch is the build's SOURCE_DATE_EPOCH, nil when it has
	// none: the step passes it on as EnvSourceDateEpoch.
	SourceDateEpoch *time.Time
	// Proxy is the build's proxy settings (the predefined HTTP_PROXY, ...
	// build args), nil when it has none. Every step that reaches the
	// network runs with it (llb.WithProxy), which keeps it out of the
	// cache key and the image.
	Proxy *llb.ProxyEnv
	// Sources replaces or adds to the image's package sources for the
	// patch (SOURCES); nil when the Patchfile has none. The format has
	// checked it (PatchFormat.CheckSources).
	Sources *Sources
	// IgnoreCache runs the patch step again even when BuildKit has its
	// result: the frontend asks for it when a cached step reported a
	// failure, which a fixed mirror or a secret (never part of the cache
	// key) may have cured since.
	IgnoreCache bool
	// Constraints tag the steps (source location).
	Constraints []llb.ConstraintsOpt
	// StepPrefix starts every step name, so that the progress output says
	// which platform a step is for: "[copa linux/arm64] ".
	StepPrefix string
}

// Patch is the LLB of one patch.
type Patch struct {
	// Root is the image's filesystem after the patch: the output of the
	// one exec that changed it (its root, or the image mounted into a
	// tooling image), which BuildKit exports as the image's own layers
	// plus one layer of what the exec changed.
	Root llb.State
	// Notes is the directory the step wrote its notes to (see
	// ReadNotes).
	Notes llb.State
}

// Tooling is a resolved tooling image.
type Tooling struct {
	// Name is the reference the user wrote or the default, for messages.
	Name  string
	State llb.State
	// FS reads the tooling image's files (its package sources, for
	// example).
	FS FS
}
