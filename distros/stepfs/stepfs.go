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

// Meta is what KeepMeta gives a file back: its owner, mode and times, and
// the size that tells whether the file can be the same.
type Meta struct {
	Mode         fs.FileMode
	UID, GID     uint32
	Size         int64
	Atime, Mtime time.Time
}

// MetaOf returns the Meta of a regular file's FileInfo (from Lstat).
func MetaOf(fi fs.FileInfo) (Meta, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return Meta{}, false
	}
	return Meta{Mode: fi.Mode(), UID: st.Uid, GID: st.Gid, Size: fi.Size(), Atime: timespec(st.Atim), Mtime: fi.ModTime()}, true
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
	m, ok := MetaOf(bi)
	if !ok {
		return -1, nil
	}
	if compare {
		ti, err := target.Lstat(p)
		if err != nil || !ti.Mode().IsRegular() || ti.Size() != m.Size {
			return -1, ignoreMissing(err)
		}
		same, err := SameContent(base, p, target, p)
		if err != nil || !same {
			return -1, err
		}
	}
	return KeepMetaAs(m, target, p)
}

// KeepMetaAs gives target's copy of p the metadata m, recorded of the base
// copy before the patch, when it is a regular file of m's size: the caller
// knows the content is the same. It returns the file's size, or -1 when it
// left the file alone.
func KeepMetaAs(m Meta, target *os.Root, p string) (int64, error) {
	ti, err := target.Lstat(p)
	if err != nil {
		return -1, ignoreMissing(err)
	}
	if !m.Mode.IsRegular() || !ti.Mode().IsRegular() || ti.Size() != m.Size {
		return -1, nil
	}
	// Owner first: chown clears setuid and setgid bits, chmod sets them back.
	if err := target.Lchown(p, int(m.UID), int(m.GID)); err != nil {
		return -1, err
	}
	const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if err := target.Chmod(p, m.Mode&modeBits); err != nil {
		return -1, err
	}
	if err := target.Chtimes(p, m.Atime, m.Mtime); err != nil {
		return -1, err
	}
	return ti.Size(), nil
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
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
