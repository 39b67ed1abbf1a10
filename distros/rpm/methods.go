package rpm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/rpm/rpmdb"
)

// shellPath is what a patch step and rpm's install scripts run.
const shellPath = "/bin/sh"

// InImage patches rpm images with their own package manager (dnf, yum,
// microdnf, tdnf or zypper), run in the image: with the repository
// configuration, release and keys the image has.
type InImage struct {
	Manager Manager
}

var _ distros.Method = InImage{}

// Name implements distros.Method.
func (m InImage) Name() string { return m.Manager.Name }

// Format implements distros.Method.
func (InImage) Format() distros.PatchFormat { return Format{} }

// Detect implements distros.Method: an rpm database, a shell, and this
// manager and no manager listed before it.
func (m InImage) Detect(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	db, err := rpmdb.Locate(ctx, root)
	if err != nil || db == nil || db.Backend == rpmdb.BackendManifest {
		return false, err
	}
	if ok, err := root.Exists(ctx, shellPath); err != nil || !ok {
		return false, err
	}
	got, _, err := managerIn(ctx, root, false)
	return err == nil && got.Name == m.Manager.Name, err
}

// Patch implements distros.Method: one run of the manager in the image,
// with its cache in a cache mount and its logs, history and other state
// on tmpfs mounts, so that only the installed packages and rpm's database
// reach the layer.
func (m InImage) Patch(ctx context.Context, root distros.FS, req distros.PatchRequest) (*distros.Patch, error) {
	rel, err := ReleaseOf(req.OS)
	if err != nil {
		return nil, err
	}
	bin, err := m.Manager.binary(ctx, root)
	if err != nil {
		return nil, err
	}
	state, err := existing(ctx, root, stateDirs)
	if err != nil {
		return nil, err
	}
	opts, err := step{manager: m.Manager, binary: bin, rel: rel, state: state, tool: m.Manager.Name}.options(req)
	if err != nil {
		return nil, err
	}
	return distros.RunInImage(req, opts), nil
}

// Tooling patches rpm images that cannot run a package manager
// themselves (ubi-micro, images whose dnf was removed, images without a
// shell): a tooling image of the same release runs its dnf, tdnf or
// zypper with the image as its install root, using the image's own
// repository configuration and database. The image's install scripts run
// only where it has a shell.
type Tooling struct{}

var _ distros.ToolingMethod = Tooling{}

// Name implements distros.Method.
func (Tooling) Name() string { return "rpm" }

// Format implements distros.Method.
func (Tooling) Format() distros.PatchFormat { return Format{} }

// Detect implements distros.Method: an rpm database, and no shell or no
// package manager to run. An image with only Azure Linux's manifest is
// refused here, saying why.
func (Tooling) Detect(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	db, err := rpmdb.Locate(ctx, root)
	if err != nil || db == nil {
		return false, err
	}
	if db.Backend == rpmdb.BackendManifest {
		return false, errManifestOnly
	}
	sh, err := root.Exists(ctx, shellPath)
	if err != nil {
		return false, err
	}
	m, _, err := managerIn(ctx, root, false)
	return !sh || m.Name == "", err
}

// errManifestOnly says why an Azure Linux or CBL-Mariner distroless image
// is not patched: without rpm's database, no package manager can upgrade
// it, and writing a database from the manifest's lines would invent the
// headers rpm checks (docs/rpm.md).
var errManifestOnly = errors.New("the image lists its packages only in " + rpmdb.ManifestDir + "/" + rpmdb.ManifestFile +
	" (an Azure Linux or CBL-Mariner distroless image) and has no rpm database: copa/frontend does not patch such images yet (docs/rpm.md)")

// DetectNative implements distros.ToolingMethod: every image with an rpm
// database, because nothing of the image runs.
func (Tooling) DetectNative(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	db, err := rpmdb.Locate(ctx, root)
	if err == nil && db != nil && db.Backend == rpmdb.BackendManifest {
		return false, errManifestOnly
	}
	return err == nil && db != nil, err
}

// CheckTooling implements distros.ToolingMethod. Packages of another
// release would be installed against libraries they were not built for,
// so the distro and $releasever must match.
func (Tooling) CheckTooling(ctx context.Context, tooling distros.FS, toolingOS, osr distros.OSRelease) error {
	want, err := ReleaseOf(osr)
	if err != nil {
		return err
	}
	got, err := ReleaseOf(toolingOS)
	if err != nil {
		return fmt.Errorf("the tooling image is %s, not an rpm distro: %w", toolingOS, err)
	}
	if got.Distro != want.Distro || got.ReleaseVer != want.ReleaseVer {
		return fmt.Errorf("the tooling image is %s but the image is %s: use a tooling image of the same release", got, want)
	}
	if ok, err := tooling.Exists(ctx, shellPath); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("the tooling image has no %s", shellPath)
	}
	m, _, err := managerIn(ctx, tooling, true)
	if err != nil {
		return err
	}
	if m.Name == "" {
		var names []string
		for _, m := range Managers {
			if m.Installroot {
				names = append(names, m.Name)
			}
		}
		return fmt.Errorf("the tooling image has no package manager that can patch another root (%s)", strings.Join(names, ", "))
	}
	return nil
}

// Patch implements distros.Method: one run in the tooling image with the
// image mounted at distros.TargetDir.
func (Tooling) Patch(ctx context.Context, root distros.FS, req distros.PatchRequest) (*distros.Patch, error) {
	if req.Tooling == nil {
		return nil, errors.New("no tooling image to patch with")
	}
	rel, err := ReleaseOf(req.OS)
	if err != nil {
		return nil, err
	}
	m, bin, err := managerIn(ctx, req.Tooling.FS, true)
	if err != nil {
		return nil, err
	}
	if m.Name == "" {
		return nil, fmt.Errorf("the tooling image %s has no package manager that can patch another root", req.Tooling.Name)
	}
	if req.Native && m.Name != DNF.Name {
		return nil, fmt.Errorf("a native patch (of a platform the builder cannot run) fetches the platform's packages with dnf --forcearch, and the tooling image %s has %s", req.Tooling.Name, m.Name)
	}
	db, err := rpmdb.Locate(ctx, root)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("the image has no rpm database")
	}
	sh, err := root.Exists(ctx, shellPath)
	if err != nil {
		return nil, err
	}
	state, err := existing(ctx, root, stateDirs)
	if err != nil {
		return nil, err
	}
	tool := distros.ToolingStepTool(m.Name, req)
	s := step{manager: m, binary: bin, rel: rel, state: state, tooling: true, dbPath: db.Dir, scripts: sh && !req.Native, tool: tool}
	opts, err := s.options(req)
	if err != nil {
		return nil, err
	}
	return distros.RunInTooling(req, opts), nil
}

// existing returns the dirs that root has.
func existing(ctx context.Context, root distros.FS, dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		ok, err := root.Exists(ctx, d)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}
