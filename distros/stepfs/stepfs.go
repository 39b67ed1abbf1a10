// Package stepfs holds what the helper commands of every format share:
// they run inside patch steps, on the image's files, from the frontend
// binary (never in the frontend process).
package stepfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// CleanPath turns a path from a package database into one relative to the
// image root, refusing anything that leaves it.
func CleanPath(p string) (string, bool) {
	p = path.Clean(strings.TrimPrefix(strings.TrimSpace(p), "/"))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// KeepMeta gives target's copy of p the base copy's owner, mode and times
// when both are regular files of one size (and, with compare, the same
// content). It returns the file's size, or -1 when it left the file alone.
func KeepMeta(base, target *os.Root, p string, compare bool) (int64, error) {
	bi, err := base.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	} else if err != nil {
		return -1, err
	}
	ti, err := target.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	} else if err != nil {
		return -1, err
	}
	if !bi.Mode().IsRegular() || !ti.Mode().IsRegular() || bi.Size() != ti.Size() {
		return -1, nil
	}
	if compare {
		same, err := SameContent(base, p, target, p)
		if err != nil || !same {
			return -1, err
		}
	}
	bs, ok := bi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, nil
	}
	// Owner first: chown clears setuid and setgid bits, chmod sets them back.
	if err := target.Lchown(p, int(bs.Uid), int(bs.Gid)); err != nil {
		return -1, err
	}
	const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if err := target.Chmod(p, bi.Mode()&modeBits); err != nil {
		return -1, err
	}
	atime := timespec(bs.Atim)
	if err := target.Chtimes(p, atime, bi.ModTime()); err != nil {
		return -1, err
	}
	return ti.Size(), nil
}

func timespec(ts syscall.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec) }

// SameContent compares two files chunk by chunk; callers check the sizes
// first, which is cheaper than opening the files.
func SameContent(ra *os.Root, a string, rb *os.Root, b string) (bool, error) {
	fa, err := ra.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := rb.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, errA := io.ReadFull(fa, ba)
		nb, errB := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		if endA || endB {
			return endA && endB, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, errB
		}
	}
}
