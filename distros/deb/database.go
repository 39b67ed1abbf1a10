package deb

import (
	"context"
	"fmt"
	"path"

	"github.com/copa/frontend/distros"
)

// Layout is how an image keeps its dpkg database, and whether the image
// can run apt itself.
type Layout int

// The layouts the frontend patches.
const (
	// LayoutNone: no dpkg database at all.
	LayoutNone Layout = iota
	// LayoutApt: a dpkg status file, apt-get and a shell; apt runs in the
	// image.
	LayoutApt
	// LayoutStatus: a dpkg status file but no apt-get or no shell (apt
	// removed, or a shell-less image built with dpkg); a tooling image
	// does the work.
	LayoutStatus
	// LayoutStatusD: the distroless database, one file per package in
	// status.d; a tooling image does the work.
	LayoutStatusD
)

func (l Layout) String() string {
	return [...]string{"no dpkg database", "dpkg status with apt", "dpkg status without apt or shell", "distroless status.d"}[l]
}

// What LayoutApt needs to find in the image. /bin/sh runs the patch
// script, apt-get the patch.
const (
	shellPath  = "/bin/sh"
	aptGetPath = "/usr/bin/apt-get"
)

// Bounds on the status.d database, which comes from the image.
const (
	maxStatusDFiles = 10000
	maxDatabaseSize = 64 << 20
)

// DetectLayout reads the image's files to tell how it keeps its dpkg
// database (ChooseLayout, the rule the install step follows too) and
// whether apt can run in it.
func DetectLayout(ctx context.Context, root distros.FS) (Layout, error) {
	db, err := detectDBLayout(ctx, root)
	switch {
	case err != nil || db == DBNone:
		return LayoutNone, err
	case db == DBStatusD:
		return LayoutStatusD, nil
	}
	for _, p := range []string{shellPath, aptGetPath} {
		ok, err := root.Exists(ctx, p)
		if err != nil {
			return LayoutNone, err
		}
		if !ok {
			return LayoutStatus, nil
		}
	}
	return LayoutApt, nil
}

// detectDBLayout applies ChooseLayout to the image's files; status.d is
// listed only when status is missing or empty.
func detectDBLayout(ctx context.Context, root distros.FS) (DBLayout, error) {
	nonEmpty, err := root.Exists(ctx, StatusPath)
	if err != nil {
		return DBNone, err
	}
	if nonEmpty {
		dt, err := root.ReadFile(ctx, StatusPath, maxDatabaseSize)
		if err != nil {
			return DBNone, err
		}
		nonEmpty = StatusNonEmpty(dt)
	}
	n := 0
	if !nonEmpty {
		files, err := statusDFiles(ctx, root)
		if err != nil {
			return DBNone, err
		}
		n = len(files)
	}
	return ChooseLayout(nonEmpty, n), nil
}

// statusDFiles lists the database files of status.d (IsStatusDFile).
func statusDFiles(ctx context.Context, root distros.FS) ([]string, error) {
	names, err := root.ReadDir(ctx, StatusDir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, n := range names {
		if IsStatusDFile(n) {
			files = append(files, path.Join(StatusDir, n))
		}
	}
	if len(files) > maxStatusDFiles {
		return nil, fmt.Errorf("%s has %d files; the limit is %d", StatusDir, len(files), maxStatusDFiles)
	}
	return files, nil
}

// readInstalled reads the installed-package records of either database
// layout: one per installed stanza, several per name for a multi-arch
// package.
func readInstalled(ctx context.Context, root distros.FS, l DBLayout) (distros.Packages, error) {
	switch l {
	case DBStatus:
		dt, err := root.ReadFile(ctx, StatusPath, maxDatabaseSize)
		if err != nil {
			return nil, fmt.Errorf("reading the dpkg database %s: %w", StatusPath, err)
		}
		return ParseInstalled(dt)
	case DBStatusD:
		files, err := statusDFiles(ctx, root)
		if err != nil {
			return nil, err
		}
		var all distros.Packages
		total := 0
		for _, f := range files {
			dt, err := root.ReadFile(ctx, f, maxDatabaseSize)
			if err != nil {
				return nil, fmt.Errorf("reading the dpkg database: %w", err)
			}
			if total += len(dt); total > maxDatabaseSize {
				return nil, fmt.Errorf("%s holds more than %d MiB; the limit protects the build", StatusDir, maxDatabaseSize>>20)
			}
			pkgs, err := ParseInstalledD(dt)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			all = append(all, pkgs...)
		}
		return all, nil
	}
	return nil, fmt.Errorf("the image has no dpkg database (%s or %s)", StatusPath, StatusDir)
}

// ReadInstalled reads the installed packages of an image from whichever
// database it keeps, status or status.d: one record per installed stanza,
// sorted (distros.Packages.Sorted).
func ReadInstalled(ctx context.Context, root distros.FS) (distros.Packages, error) {
	l, err := detectDBLayout(ctx, root)
	if err != nil {
		return nil, err
	}
	ps, err := readInstalled(ctx, root, l)
	if err != nil {
		return nil, err
	}
	return ps.Sorted(), nil
}

// InstalledVersions reads the installed package versions of an image from
// whichever database it keeps: ReadInstalled, by name, with the version
// that decides (distros.Packages.Versions).
func InstalledVersions(ctx context.Context, root distros.FS) (map[string]string, error) {
	ps, err := ReadInstalled(ctx, root)
	if err != nil {
		return nil, err
	}
	return ps.Versions(Versioning{}), nil
}
