package deb

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
)

//go:embed tooling-patch.sh
var toolingPatchScript []byte

// Tooling patches Debian and Ubuntu images that cannot run apt themselves:
// distroless images (a status.d database, no shell, no dpkg) and images
// whose apt or shell was removed. A tooling image of the same release
// downloads and unpacks the fixed packages; the frontend's helper copies
// their files into the image and updates the image's own database. Nothing
// of the image runs, so maintainer scripts do not run either.
type Tooling struct{}

var _ distros.ToolingMethod = Tooling{}

// Name implements distros.Method.
func (Tooling) Name() string { return "dpkg" }

// Format implements distros.Method.
func (Tooling) Format() distros.PatchFormat { return Format{} }

// Detect implements distros.Method: a dpkg database but no apt-get or no
// shell.
func (Tooling) Detect(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	l, err := DetectLayout(ctx, root)
	return l == LayoutStatus || l == LayoutStatusD, err
}

// DetectNative implements distros.ToolingMethod: every image with a dpkg
// database, apt images included, because nothing of the image runs.
func (Tooling) DetectNative(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	l, err := DetectLayout(ctx, root)
	return l != LayoutNone, err
}

// CheckTooling implements distros.ToolingMethod. Packages of another
// release would be unpacked against libraries they were not built for, so
// the releases must match exactly.
func (Tooling) CheckTooling(ctx context.Context, tooling distros.FS, toolingOS, osr distros.OSRelease) error {
	want, err := ReleaseOf(osr)
	if err != nil {
		return err
	}
	got, err := ReleaseOf(toolingOS)
	if err != nil {
		return fmt.Errorf("the tooling image is %s, not Debian or Ubuntu: %w", toolingOS, err)
	}
	if got.Distro != want.Distro || got.Codename != want.Codename {
		return fmt.Errorf("the tooling image is %s %s but the image is %s %s: use a tooling image of the same release", got.Distro, orUnknown(got.Codename), want.Distro, orUnknown(want.Codename))
	}
	var missing []string
	for _, p := range []string{shellPath, aptGetPath, "/usr/bin/apt-cache", "/usr/bin/dpkg-deb"} {
		ok, err := tooling.Exists(ctx, p)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the tooling image lacks %s: it needs a shell, apt and dpkg-deb", strings.Join(missing, ", "))
	}
	return nil
}

// Patch implements distros.Method: one run in the tooling image, with the
// image mounted at distros.TargetDir, apt's lists in a cache mount and everything
// else on a tmpfs, so that only the updated files and database entries
// reach the layer.
func (Tooling) Patch(ctx context.Context, root distros.FS, req distros.PatchRequest) (*distros.Patch, error) {
	if req.Tooling == nil {
		return nil, errors.New("no tooling image to patch with")
	}
	if req.Helper == nil {
		return nil, errors.New("images without apt or a shell are patched by the frontend's helper binary, which needs the frontend to run from its image (# syntax=, BUILDKIT_SYNTAX or --opt source=)")
	}
	rel, err := ReleaseOf(req.OS)
	if err != nil {
		return nil, err
	}
	sources, err := readSources(ctx, req.Tooling.FS)
	if err != nil {
		return nil, fmt.Errorf("reading the tooling image's apt sources: %w", err)
	}

	mode := "report"
	specs := make([]string, 0, len(req.Plan.Updates))
	for _, u := range req.Plan.Updates {
		specs = append(specs, u.Name+"="+u.Fixed)
	}
	if req.Plan.All {
		// An upgrade-all has no fixed versions: the script updates every
		// installed package that has a newer version than this one.
		mode = "all"
		for n, v := range req.Installed.Versions(Versioning{}) {
			specs = append(specs, n+"="+v)
		}
		slices.Sort(specs)
	}
	opts := aptStep{
		script:      "tooling-patch.sh",
		scriptData:  toolingPatchScript,
		cachePrefix: "copa-tooling-apt",
		tool:        distros.ToolingStepTool("dpkg", req),
		mounts:      distros.StepMounts{Helper: true, Target: true},
	}
	var more []llb.RunOption
	if req.Native {
		// apt in a tooling image of the build platform reads the lists of
		// the image's architecture and downloads its packages; dpkg-deb
		// and the helper only unpack and copy files, whatever their
		// architecture.
		more = append(more, llb.AddEnv(distros.EnvTargetArch, Arch(req.Platform.Architecture, req.Platform.Variant)))
	}
	return distros.RunInTooling(req, opts.options(req, rel, sources, mode, specs, more...)), nil
}
