package frontend

import (
	"context"

	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// osReleasePaths are where os-release(5) says to look, in order.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// maxOSRelease bounds os-release, a file of a few hundred bytes.
const maxOSRelease = 64 << 10

// inspection is what the frontend learns of an image from its files,
// without running anything of it: the release, the method that patches
// it, and what it has installed.
type inspection struct {
	OS        distros.OSRelease
	Method    distros.Method
	Format    distros.PatchFormat
	Release   distros.Release
	Installed distros.Packages
	// Native: the image is patched on the build platform (see
	// patchPlatform).
	Native bool
	// Root reads the image's files; the patch reads through it too, so
	// what inspect read is not fetched again.
	Root distros.FS
}

// unpatchable is an image no registered method can patch, and why.
type unpatchable struct{ reason error }

func (u *unpatchable) Error() string { return u.reason.Error() }
func (u *unpatchable) Unwrap() error { return u.reason }

// inspect reads the image's release and package database and picks the
// method that patches it. An image that no method patches is an
// *unpatchable error; other errors are faults reading the image.
func inspect(ctx context.Context, reg *distros.Registry, root distros.FS, native bool) (*inspection, error) {
	osr, err := readOSRelease(ctx, root)
	if err != nil {
		return nil, err
	}
	if osr.ID == "" {
		return nil, &unpatchable{errors.New("the image's os-release names no distribution (no ID)")}
	}
	m, err := reg.Detect(ctx, root, osr, native)
	if err != nil {
		return nil, &unpatchable{err}
	}
	f := m.Format()
	rel, err := f.Release(osr)
	if err != nil {
		return nil, &unpatchable{err}
	}
	installed, err := f.Installed(ctx, root)
	if err != nil {
		return nil, errors.Wrapf(err, "reading the %s package database", f.Name())
	}
	return &inspection{OS: osr, Method: m, Format: f, Release: rel, Installed: installed, Root: root}, nil
}

func readOSRelease(ctx context.Context, root distros.FS) (distros.OSRelease, error) {
	for _, p := range osReleasePaths {
		ok, err := root.Exists(ctx, p)
		if err != nil {
			return distros.OSRelease{}, err
		}
		if !ok {
			continue
		}
		dt, err := root.ReadFile(ctx, p, maxOSRelease)
		if err != nil {
			return distros.OSRelease{}, errors.Wrapf(err, "reading %s", p)
		}
		return distros.ParseOSRelease(dt), nil
	}
	return distros.OSRelease{}, &unpatchable{errors.New("the image has no /etc/os-release or /usr/lib/os-release, so its distribution is unknown")}
}
