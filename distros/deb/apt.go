package deb

import (
	"context"
	_ "embed"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/llbgen"
)

var (
	//go:embed apt-patch.sh
	aptPatchScript []byte
	//go:embed debconf.conf
	debconfConf []byte
)

// Apt patches Debian and Ubuntu images that have apt and a shell: apt
// runs in the image.
type Apt struct{}

var _ distros.Method = Apt{}

// Name implements distros.Method.
func (Apt) Name() string { return "apt" }

// Format implements distros.Method.
func (Apt) Format() distros.PatchFormat { return Format{} }

// Detect implements distros.Method: a dpkg status file, apt-get and a
// shell.
func (Apt) Detect(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	l, err := DetectLayout(ctx, root)
	return l == LayoutApt, err
}

// Patch implements distros.Method: one apt run inside the image, with
// apt's lists and archives in cache mounts and logs on a tmpfs, so that
// only the installed packages and dpkg's own database reach the layer.
// With the helper, the same run gives the files the upgrade left unchanged
// their original metadata, so they stay out of the layer.
func (Apt) Patch(ctx context.Context, root distros.FS, req distros.PatchRequest) (*distros.Patch, error) {
	rel, err := ReleaseOf(req.OS)
	if err != nil {
		return nil, err
	}
	sources, err := readSources(ctx, root)
	if err != nil {
		return nil, err
	}
	mode := "report"
	if req.Plan.All {
		mode = "all"
	}
	var specs []string
	for _, u := range req.Plan.Updates {
		specs = append(specs, u.Name+"="+u.Fixed)
	}
	// The helper keeps unchanged files out of the layer (with the
	// original image) and holds the lock of the shared caches.
	withHelper := req.Helper != nil && req.KeepUnchanged
	var helperMount llb.RunOption
	if withHelper {
		helperMount = llbgen.MountHelper(*req.Helper, req.Image)
	}
	opts := aptStep{
		script:      "apt-patch.sh",
		scriptData:  aptPatchScript,
		files:       []llbgen.File{{Name: "debconf.conf", Data: debconfConf}},
		cachePrefix: "copa-apt",
		tool:        "apt",
		mounts:      distros.StepMounts{Helper: req.Helper != nil, Original: withHelper},
		helperMount: helperMount,
	}.options(req, rel, sources, mode, specs)
	return distros.RunInImage(req, opts), nil
}
