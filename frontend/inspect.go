package frontend

import (
	"context"
	"sync"

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
	return newImageView(reg, native, func(context.Context) (distros.FS, error) { return root, nil }).inspect(ctx)
}

// imageView reads what inspect learns of one platform's image, each part
// at most once and only when first asked, in inspect's order and with its
// bounds. The build asks for everything; --call check asks only for what
// its rules need, so that a Patchfile whose rules need none of the image's
// files does not even solve the image.
type imageView struct {
	reg    *distros.Registry
	native bool
	open   func(context.Context) (distros.FS, error)

	root      lazy[distros.FS]
	osr       lazy[distros.OSRelease]
	method    lazy[distros.Method]
	installed lazy[distros.Packages]
}

// newImageView reads the image that open returns, on first use. native
// is inspect's: only tooling methods are asked.
func newImageView(reg *distros.Registry, native bool, open func(context.Context) (distros.FS, error)) *imageView {
	return &imageView{reg: reg, native: native, open: open}
}

// Root is the image's filesystem.
func (v *imageView) Root(ctx context.Context) (distros.FS, error) {
	return v.root.get(func() (distros.FS, error) { return v.open(ctx) })
}

// OS is the image's os-release. One that is missing or names no
// distribution is *unpatchable.
func (v *imageView) OS(ctx context.Context) (distros.OSRelease, error) {
	return v.osr.get(func() (distros.OSRelease, error) {
		root, err := v.Root(ctx)
		if err != nil {
			return distros.OSRelease{}, err
		}
		osr, err := readOSRelease(ctx, root)
		if err == nil && osr.ID == "" {
			err = &unpatchable{errors.New("the image's os-release names no distribution (no ID)")}
		}
		return osr, err
	})
}

// Method is the method that patches the image; none is *unpatchable.
func (v *imageView) Method(ctx context.Context) (distros.Method, error) {
	return v.method.get(func() (distros.Method, error) {
		osr, err := v.OS(ctx)
		if err != nil {
			return nil, err
		}
		root, err := v.Root(ctx)
		if err != nil {
			return nil, err
		}
		m, err := v.reg.Detect(ctx, root, osr, v.native)
		if err != nil {
			return nil, &unpatchable{err}
		}
		return m, nil
	})
}

// Installed is what the image has installed, read by the format of its
// method.
func (v *imageView) Installed(ctx context.Context) (distros.Packages, error) {
	return v.installed.get(func() (distros.Packages, error) {
		m, err := v.Method(ctx)
		if err != nil {
			return nil, err
		}
		root, err := v.Root(ctx)
		if err != nil {
			return nil, err
		}
		f := m.Format()
		ps, err := f.Installed(ctx, root)
		return ps, errors.Wrapf(err, "reading the %s package database", f.Name())
	})
}

func (v *imageView) inspect(ctx context.Context) (*inspection, error) {
	osr, err := v.OS(ctx)
	if err != nil {
		return nil, err
	}
	m, err := v.Method(ctx)
	if err != nil {
		return nil, err
	}
	f := m.Format()
	rel, err := f.Release(osr)
	if err != nil {
		return nil, &unpatchable{err}
	}
	installed, err := v.Installed(ctx)
	if err != nil {
		return nil, err
	}
	root, err := v.Root(ctx)
	if err != nil {
		return nil, err
	}
	return &inspection{OS: osr, Method: m, Format: f, Release: rel, Installed: installed, Root: root}, nil
}

// lazy is a value computed once, when first asked for, with its error.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(f func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = f() })
	return l.v, l.err
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
