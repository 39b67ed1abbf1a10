package debstep

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/copa/frontend/distros/stepfs"
)

// installer copies packages' files from staging into target.
type installer struct {
	staging, target *os.Root
	// created are the directories Install made, whose times are set last:
	// creating their entries changed them.
	created []createdDir
}

type createdDir struct {
	path  string
	mtime time.Time
}

// files copies one package's files and returns its .list (absolute paths)
// and the md5 of each of its conffiles.
func (in *installer) files(p *staged, d *InstalledPackage) ([]string, map[string]string, error) {
	conffiles := map[string]bool{}
	for _, c := range p.conffiles {
		conffiles[c] = true
	}
	recorded := map[string]string{}
	for _, c := range p.old.conffiles {
		recorded[c.path] = c.md5
	}
	var list []string
	sums := map[string]string{}
	err := fs.WalkDir(in.staging.FS(), p.dir, func(sp string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if sp == p.dir {
			return nil
		}
		rel := strings.TrimPrefix(sp, p.dir+"/")
		if rel == "DEBIAN" {
			return fs.SkipDir
		}
		if err := stagingPath(rel); err != nil {
			return err
		}
		fi, err := in.staging.Lstat(sp)
		if err != nil {
			return err
		}
		abs := "/" + rel
		list = append(list, abs)
		switch {
		case fi.IsDir():
			return in.dir(rel, fi)
		case fi.Mode().IsRegular():
			if !conffiles[abs] {
				return in.file(sp, rel, fi, false, "", d)
			}
			sum, err := md5File(in.staging, sp)
			if err != nil {
				return err
			}
			sums[abs] = sum
			return in.file(sp, rel, fi, true, recorded[abs], d)
		case fi.Mode()&fs.ModeSymlink != 0:
			return in.symlink(sp, rel, fi)
		default:
			return fmt.Errorf("%s: %v is not a file type a package may ship", abs, fi.Mode().Type())
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for _, c := range p.conffiles {
		if _, ok := sums[c]; !ok {
			return nil, nil, fmt.Errorf("conffile %s is not a regular file of the package", c)
		}
	}
	return list, sums, nil
}

// dir makes sure a directory exists. One that does keeps its metadata:
// the image's owner and mode win, as with dpkg.
func (in *installer) dir(rel string, fi fs.FileInfo) error {
	rp, err := resolve(in.target, rel, true)
	if err != nil {
		return err
	}
	ti, err := in.target.Lstat(rp)
	if err == nil {
		if !ti.IsDir() {
			return fmt.Errorf("/%s exists in the image and is not a directory", rel)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// The parent exists unless a symlink pointed into a missing tree.
	if err := in.target.MkdirAll(path.Dir(rp), 0o755); err != nil {
		return err
	}
	if err := in.target.Mkdir(rp, 0o700); err != nil {
		return err
	}
	if err := setMeta(in.target, rp, fi); err != nil {
		return err
	}
	in.created = append(in.created, createdDir{rp, fi.ModTime()})
	return nil
}

// lookup resolves rel in the image without following its last component
// and returns the entry there, or a nil FileInfo when there is none. A
// directory there is an error: a file or symlink cannot take its place.
func (in *installer) lookup(rel string) (string, fs.FileInfo, error) {
	rp, err := resolve(in.target, rel, false)
	if err != nil {
		return "", nil, err
	}
	ti, err := in.target.Lstat(rp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return rp, nil, nil
	case err != nil:
		return "", nil, err
	case ti.IsDir():
		return "", nil, fmt.Errorf("/%s exists in the image as a directory", rel)
	}
	return rp, ti, nil
}

// file copies a regular file unless target has it already. A conffile
// whose target copy differs is kept unless its md5 is the one dpkg
// recorded for the old version, which means nobody edited it.
func (in *installer) file(sp, rel string, fi fs.FileInfo, conffile bool, recorded string, d *InstalledPackage) error {
	rp, ti, err := in.lookup(rel)
	if err != nil {
		return err
	}
	switch {
	case ti == nil:
	case ti.Mode().IsRegular():
		same, err := sameFile(in.staging, sp, fi, in.target, rp, ti)
		if err != nil {
			return err
		}
		if same && sameMeta(fi, ti) {
			d.Unchanged++
			return nil
		}
		if !same && conffile {
			sum, err := md5File(in.target, rp)
			if err != nil {
				return err
			}
			if recorded == "" || sum != recorded {
				d.KeptConffiles = append(d.KeptConffiles, "/"+rel)
				return nil
			}
		}
	case conffile:
		// Replaced by something else (a symlink to a mounted config, say):
		// a local change.
		d.KeptConffiles = append(d.KeptConffiles, "/"+rel)
		return nil
	}
	src, err := in.staging.Open(sp)
	if err != nil {
		return err
	}
	defer src.Close()
	var n int64
	err = replace(in.target, rp, func(tmp string) (err error) {
		n, err = writeNew(in.target, tmp, src)
		return err
	}, func(tmp string) error {
		return setMeta(in.target, tmp, fi)
	})
	if err != nil {
		return err
	}
	d.Written++
	d.Bytes += n
	return nil
}

// symlink makes rel a symlink like the staged one, unless it is already.
func (in *installer) symlink(sp, rel string, fi fs.FileInfo) error {
	link, err := in.staging.Readlink(sp)
	if err != nil {
		return err
	}
	rp, ti, err := in.lookup(rel)
	if err != nil {
		return err
	}
	if ti != nil && ti.Mode()&fs.ModeSymlink != 0 {
		if old, err := in.target.Readlink(rp); err != nil {
			return err
		} else if old == link {
			return nil
		}
	}
	return replace(in.target, rp, func(tmp string) error {
		return in.target.Symlink(link, tmp)
	}, func(tmp string) error {
		uid, gid := owner(fi)
		if err := in.target.Lchown(tmp, uid, gid); err != nil {
			return err
		}
		return lutimes(in.target, path.Dir(tmp), path.Base(tmp), fi.ModTime())
	})
}

// finish gives the directories Install created their packaged mtime.
func (in *installer) finish() error {
	for _, c := range in.created {
		if err := in.target.Chtimes(c.path, c.mtime, c.mtime); err != nil {
			return err
		}
	}
	return nil
}

// setMeta gives name the staged owner, mode and mtime. The owner comes
// first because chown clears setuid and setgid bits.
func setMeta(r *os.Root, name string, fi fs.FileInfo) error {
	uid, gid := owner(fi)
	if err := r.Lchown(name, uid, gid); err != nil {
		return err
	}
	if err := r.Chmod(name, fi.Mode()&modeBits); err != nil {
		return err
	}
	return r.Chtimes(name, fi.ModTime(), fi.ModTime())
}

func sameMeta(a, b fs.FileInfo) bool {
	ua, ga := owner(a)
	ub, gb := owner(b)
	return a.Mode()&modeBits == b.Mode()&modeBits && ua == ub && ga == gb
}

// lutimes sets a symlink's times, which os.Root cannot: its Chtimes
// follows the link. Without this a replaced symlink would carry the build's
// time. golang.org/x/sys is not a direct dependency, hence the syscall.
func lutimes(r *os.Root, dir, name string, mtime time.Time) error {
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(mtime.UnixNano()), syscall.NsecToTimespec(mtime.UnixNano())}
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, d.Fd(), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&ts[0])), uintptr(atSymlinkNofollow), 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "utimensat", Path: path.Join(dir, name), Err: errno}
	}
	return nil
}

// atSymlinkNofollow is AT_SYMLINK_NOFOLLOW, the same on every Linux
// architecture.
const atSymlinkNofollow = 0x100

func md5File(r *os.Root, name string) (string, error) {
	f, err := r.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sameFile compares two regular files' content.
func sameFile(ra *os.Root, a string, ai fs.FileInfo, rb *os.Root, b string, bi fs.FileInfo) (bool, error) {
	if ai.Size() != bi.Size() {
		return false, nil
	}
	return stepfs.SameContent(ra, a, rb, b)
}
