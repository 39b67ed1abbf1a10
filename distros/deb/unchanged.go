package deb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// Kept counts the files KeepUnchanged gave back their original metadata.
type Kept struct {
	Packages int
	Files    int
	Bytes    int64
}

// KeepUnchanged makes the files of upgraded packages whose content did not
// change look exactly like the base image's copies: same owner, mode and
// mtime. dpkg rewrites every file of a package it upgrades and gives each
// the new package's mtime, so without this BuildKit's differ puts files
// into the patch layer that every node already has.
//
// base and target are the image's root before and after the upgrade. A file
// is touched only when dpkg's md5sums list it with the same digest in the
// old and the new package and both copies are regular files of the same
// size; BuildKit still compares the content itself before leaving a file
// out, so a wrong md5sums entry costs layer bytes, never correctness.
// Paths come from the image and are confined to it by os.Root.
func KeepUnchanged(base, target *os.Root) (Kept, error) {
	var k Kept
	before, err := statusOf(base)
	if err != nil {
		return k, fmt.Errorf("base image: %w", err)
	}
	after, err := statusOf(target)
	if err != nil {
		return k, fmt.Errorf("patched image: %w", err)
	}
	for name, np := range after {
		op, ok := before[name]
		if !ok || op.Version == np.Version {
			continue
		}
		oldSums, err := md5sumsOf(base, op)
		if err != nil {
			return k, err
		}
		newSums, err := md5sumsOf(target, np)
		if err != nil {
			return k, err
		}
		k.Packages++
		for p, sum := range newSums {
			if oldSums[p] != sum {
				continue
			}
			n, err := keepMeta(base, target, p)
			if err != nil {
				return k, fmt.Errorf("%s: /%s: %w", name, p, err)
			}
			if n >= 0 {
				k.Files++
				k.Bytes += n
			}
		}
	}
	return k, nil
}

func statusOf(r *os.Root) (map[string]Package, error) {
	dt, err := r.ReadFile(strings.TrimPrefix(StatusPath, "/"))
	if err != nil {
		return nil, err
	}
	return ParseStatus(dt)
}

// md5sumsOf reads a package's "<md5>  <path>" list; packages that are
// Multi-Arch: same keep it under "<name>:<arch>".
func md5sumsOf(r *os.Root, p Package) (map[string]string, error) {
	var dt []byte
	var err error
	for _, n := range []string{p.Name + ":" + p.Arch, p.Name} {
		dt, err = r.ReadFile("var/lib/dpkg/info/" + n + ".md5sums")
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // packages without files have no md5sums
	}
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 32 {
			continue
		}
		file = path.Clean(strings.TrimPrefix(file, "/"))
		if file == "." || file == ".." || strings.HasPrefix(file, "../") {
			continue
		}
		sums[file] = sum
	}
	return sums, sc.Err()
}

// keepMeta gives target's copy of p the base copy's owner, mode and times
// when both are regular files of one size. It returns the file's size, or
// -1 when it left the file alone.
func keepMeta(base, target *os.Root, p string) (int64, error) {
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
