package apk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/copa/frontend/distros"
)

// shellPath is what the patch step and apk's install scripts run.
const shellPath = "/bin/sh"

// apkBinaries are where images keep apk, in the order they are looked
// for: Alpine's apk-tools installs /sbin/apk; the others are for
// distros and images that put it elsewhere (a /usr-merged root).
var apkBinaries = []string{"/sbin/apk", "/usr/sbin/apk", "/usr/bin/apk", "/bin/apk"}

// apkIn returns the first of apkBinaries that root has, "" for none.
func apkIn(ctx context.Context, root distros.FS) (string, error) {
	for _, b := range apkBinaries {
		ok, err := root.Exists(ctx, b)
		if err != nil {
			return "", err
		}
		if ok {
			return b, nil
		}
	}
	return "", nil
}

// hasDatabase reports whether root has apk's installed database.
func hasDatabase(ctx context.Context, root distros.FS) (bool, error) {
	return root.Exists(ctx, InstalledPath)
}

// InImage patches apk images that have apk and a shell (Alpine, and
// Wolfi or Chainguard images with apk-tools): apk runs in the image, with
// the repositories, keys and architecture the image has, and the
// packages' install scripts run as apk runs them.
type InImage struct{}

var _ distros.Method = InImage{}

// Name implements distros.Method.
func (InImage) Name() string { return "apk" }

// Format implements distros.Method.
func (InImage) Format() distros.PatchFormat { return Format{} }

// Detect implements distros.Method: apk's database, apk and a shell.
func (InImage) Detect(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	if ok, err := hasDatabase(ctx, root); err != nil || !ok {
		return false, err
	}
	if ok, err := root.Exists(ctx, shellPath); err != nil || !ok {
		return false, err
	}
	bin, err := apkIn(ctx, root)
	return bin != "", err
}

// Patch implements distros.Method: one run of the image's apk, with its
// cache in a cache mount on the step's /tmp, so that only the installed
// packages and apk's database reach the layer.
func (InImage) Patch(ctx context.Context, root distros.FS, req distros.PatchRequest) (*distros.Patch, error) {
	rel, err := ReleaseOf(req.OS)
	if err != nil {
		return nil, err
	}
	bin, err := apkIn(ctx, root)
	if err != nil {
		return nil, err
	}
	if bin == "" {
		return nil, errors.New("the image has no apk (looked for " + strings.Join(apkBinaries, ", ") + ")")
	}
	opts, err := step{binary: bin, rel: rel, scripts: true, tool: "apk"}.options(req)
	if err != nil {
		return nil, err
	}
	return distros.RunInImage(req, opts), nil
}

// Tooling patches apk images that cannot run apk themselves: Wolfi and
// Chainguard images without apk-tools or a shell (distroless), and Alpine
// images whose apk was removed. A tooling image's apk installs into the
// image mounted at distros.TargetDir (apk --root), with the image's own
// repositories, keys, architecture and database; nothing of the image
// runs but its install scripts, and those only where it has a shell.
type Tooling struct{}

var _ distros.ToolingMethod = Tooling{}

// Name implements distros.Method: apk, as for InImage, since apk does
// the work; messages and the image's history add the tooling image.
func (Tooling) Name() string { return "apk" }

// Format implements distros.Method.
func (Tooling) Format() distros.PatchFormat { return Format{} }

// Detect implements distros.Method: apk's database, and no shell or no
// apk to run.
func (Tooling) Detect(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	if ok, err := hasDatabase(ctx, root); err != nil || !ok {
		return false, err
	}
	sh, err := root.Exists(ctx, shellPath)
	if err != nil {
		return false, err
	}
	bin, err := apkIn(ctx, root)
	return !sh || bin == "", err
}

// DetectNative implements distros.ToolingMethod: every image with apk's
// database, because nothing of the image runs.
func (Tooling) DetectNative(ctx context.Context, root distros.FS, _ distros.OSRelease) (bool, error) {
	return hasDatabase(ctx, root)
}

// CheckTooling implements distros.ToolingMethod. The tooling image must
// be of an apk distro and have a shell and apk. Its release need not be
// the image's: apk --root reads the image's repositories, keys and
// architecture, so only the tool comes from the tooling image.
func (Tooling) CheckTooling(ctx context.Context, tooling distros.FS, toolingOS, osr distros.OSRelease) error {
	if _, ok := distros.DistroOf(Format{}, toolingOS); !ok {
		return fmt.Errorf("the tooling image is %s, not an apk distro: use an image with apk, e.g. %s", toolingOS, defaultTooling(osr))
	}
	var missing []string
	if ok, err := tooling.Exists(ctx, shellPath); err != nil {
		return err
	} else if !ok {
		missing = append(missing, shellPath)
	}
	bin, err := apkIn(ctx, tooling)
	if err != nil {
		return err
	}
	if bin == "" {
		missing = append(missing, "apk ("+strings.Join(apkBinaries, ", ")+")")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the tooling image lacks %s: it needs a shell and apk, e.g. %s", strings.Join(missing, " and "), defaultTooling(osr))
	}
	return nil
}

func defaultTooling(osr distros.OSRelease) string {
	if r, err := ReleaseOf(osr); err == nil && r.Tooling != "" {
		return r.Tooling
	}
	return fmt.Sprintf(alpineTooling, "latest")
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
	bin, err := apkIn(ctx, req.Tooling.FS)
	if err != nil {
		return nil, err
	}
	if bin == "" {
		return nil, fmt.Errorf("the tooling image %s has no apk", req.Tooling.Name)
	}
	sh, err := root.Exists(ctx, shellPath)
	if err != nil {
		return nil, err
	}
	tool := distros.ToolingStepTool("apk", req)
	// A native patch runs nothing of the image: its scripts are of an
	// architecture the builder cannot run.
	s := step{binary: bin, rel: rel, tooling: true, scripts: sh && !req.Native, tool: tool}
	opts, err := s.options(req)
	if err != nil {
		return nil, err
	}
	return distros.RunInTooling(req, opts), nil
}
