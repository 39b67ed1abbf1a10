package stepfs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/copa/frontend/distros"
)

// ClampTimes gives everything under dir on dir's filesystem that was
// modified after since, and later than epoch, epoch as its mtime (and
// atime): files, directories and symlinks alike. That is what a step
// changed, dated by SOURCE_DATE_EPOCH, so that equal patches give equal
// layers; files the package manager dated by their package keep those
// dates when they are earlier. Other mounts (the step's /tmp, caches,
// /proc) are left alone. It returns how many entries it changed.
func ClampTimes(dir string, since, epoch time.Time) (int, error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return 0, err
	}
	dev := st.Sys().(*syscall.Stat_t).Dev
	ts := unix.NsecToTimespec(epoch.UnixNano())
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		s, ok := info.Sys().(*syscall.Stat_t)
		if !ok || s.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		m := info.ModTime()
		if !m.After(since) || !m.After(epoch) {
			return nil
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// ClampStep dates what the step changed under root by the build's
// SOURCE_DATE_EPOCH, when it sets one (ClampTimes); the step's start is
// the mtime of $COPA_WORK/started, which step-lib.sh writes.
func ClampStep(root string) error {
	e := os.Getenv(distros.EnvSourceDateEpoch)
	if e == "" {
		return nil
	}
	secs, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", distros.EnvSourceDateEpoch, e, err)
	}
	st, err := os.Stat(filepath.Join(os.Getenv(distros.EnvWork), "started"))
	if err != nil {
		return err
	}
	_, err = ClampTimes(root, st.ModTime(), time.Unix(secs, 0))
	return err
}
