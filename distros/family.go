package distros

import (
	"context"

	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// FS reads an image's files without running anything of the image.
type FS interface {
	// ReadFile returns a file's content; a missing file is an error.
	ReadFile(ctx context.Context, path string) ([]byte, error)
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

// Family is one package-manager family: it reads what an image has
// installed and builds the step that installs a plan.
type Family interface {
	// Name is how users know the family, e.g. "apt".
	Name() string
	// Versioning is the family's version order and name grammar.
	Versioning() Versioning
	// Detect reports whether the family patches this image, judged by its
	// release and its files (package database, package manager, shell);
	// nothing of the image runs.
	Detect(ctx context.Context, root FS, osr OSRelease) (bool, error)
	// Installed reads installed package versions from the image's files.
	Installed(ctx context.Context, root FS) (map[string]string, error)
	// Patch builds the LLB that installs plan on top of the image.
	Patch(ctx context.Context, root FS, req PatchRequest) (*Patch, error)
}

// PatchRequest is what a Family needs to build a patch step.
type PatchRequest struct {
	Image    llb.State
	OS       OSRelease
	Platform ocispecs.Platform
	Plan     *Plan
	Policy   Policy
	// Helper is the frontend's own image, whose binary runs the steps
	// that must not depend on the image's tools; nil when it is not known,
	// and then those steps are left out.
	Helper *llb.State
	// KeepUnchanged asks the step to keep the files an upgrade left
	// unchanged out of the layer, with the helper (apt images).
	KeepUnchanged bool
	// Tooling is the image that does the work for a ToolingFamily.
	Tooling *Tooling
	// Constraints tag the steps (source location, progress names).
	Constraints []llb.ConstraintsOpt
}

// Patch is the LLB of one patch and how to read what it found.
type Patch struct {
	// Root is the image's filesystem after the patch: the output of the
	// one exec that changed it (its root, or the image mounted into a
	// tooling image), which BuildKit exports as the image's own layers
	// plus one layer of what the exec changed.
	Root llb.State
	// Notes is a directory the step wrote its findings to.
	Notes llb.State
	// ReadOutcome interprets Notes once the step has run.
	ReadOutcome func(ctx context.Context, notes FS) (*Outcome, error)
}

// Outcome is what the package manager reported from inside the step.
type Outcome struct {
	// AddedSources names package sources the step had to add to the
	// image's own to reach the fixed versions.
	AddedSources []string
	// Unresolved lists packages left below their fixed version (only
	// with PolicyWarn; with PolicyFail the step fails instead).
	Unresolved []Unresolved
	// Upgrades is what an upgrade-all installed: the versions to verify.
	Upgrades []Update
	// Warnings are things the user should know about the patch that do
	// not fail it (for example maintainer scripts that did not run).
	Warnings []string
}

// ToolingFamily is a Family for images that cannot run a package manager
// themselves (no shell, no package manager): a separate tooling image of
// the same release fetches and unpacks the packages into the image.
type ToolingFamily interface {
	Family
	// DefaultTooling names the tooling image for the image's release.
	DefaultTooling(osr OSRelease) (string, error)
	// CheckTooling reads a tooling image's files and says why it cannot
	// patch images of release osr, if it cannot.
	CheckTooling(ctx context.Context, tooling FS, toolingOS, osr OSRelease) error
}

// Tooling is a resolved tooling image.
type Tooling struct {
	// Name is the reference the user wrote or the default, for messages.
	Name  string
	State llb.State
	// FS reads the tooling image's files (its apt sources, for example).
	FS FS
}

// Unresolved is a package whose fixed version no configured source offers.
type Unresolved struct {
	Name string
	Want string
	Best string // the newest version on offer; "" when none is
}
