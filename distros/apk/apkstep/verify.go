package apkstep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/stepfs"
)

// Mismatch is a file of a package whose content is not what the database
// records.
type Mismatch struct {
	Package, Path string
	// Want is the database's checksum, Got the file's ("" when it is
	// missing or of another kind).
	Want, Got string
	// Why says what is wrong: "missing", "not a file or symlink",
	// "content", or "symlink target".
	Why string
	// ConfigKept is set when PATH.apk-new is beside the file: apk kept
	// the image's own version of a configuration file, which is expected
	// to differ from the package's.
	ConfigKept bool
}

func (m Mismatch) String() string {
	s := fmt.Sprintf("%s: /%s: %s (database %s, file %s)", m.Package, m.Path, m.Why, m.Want, m.Got)
	if m.ConfigKept {
		s += "; kept as the image had it, the package's version is beside it as .apk-new"
	}
	return s
}

// VerifyChecksums checks every file of the named packages of db (all of
// them when names is nil) against its Z: checksum, as apk audit would: a
// regular file's content, a symlink's target text. root is the patched
// image's root, so that an integration test can check that a patch left
// every updated file as its package has it. Files without a checksum are
// not checked.
func VerifyChecksums(ctx context.Context, root *os.Root, db *apk.Installed, names []string) ([]Mismatch, error) {
	var out []Mismatch
	for _, r := range db.Records {
		if names != nil && !slices.Contains(names, r.Name) {
			continue
		}
		for _, f := range r.Files {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if f.Checksum.IsZero() {
				continue
			}
			p, ok := stepfs.CleanPath(f.Path)
			if !ok {
				continue
			}
			got, why, err := checksumOf(root, p, f.Checksum.Alg)
			if err != nil {
				return out, fmt.Errorf("%s: /%s: %w", r.Name, p, err)
			}
			if why == "" && got == f.Checksum {
				continue
			}
			if why == "" {
				why = "content"
				if fi, err := root.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
					why = "symlink target"
				}
			}
			m := Mismatch{Package: r.Name, Path: p, Want: f.Checksum.String(), Got: got.String(), Why: why}
			if _, err := root.Lstat(p + ".apk-new"); err == nil {
				m.ConfigKept = true
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// checksumOf computes alg's checksum of p as apk does, or says why it
// cannot ("missing", "not a file or symlink").
func checksumOf(root *os.Root, p string, alg apk.Algorithm) (apk.Checksum, string, error) {
	fi, err := root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return apk.Checksum{}, "missing", nil
	} else if err != nil {
		return apk.Checksum{}, "", err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := root.Readlink(p)
		if err != nil {
			return apk.Checksum{}, "", err
		}
		return apk.Sum(alg, []byte(link)), "", nil
	case fi.Mode().IsRegular():
		h := alg.Hash()
		f, err := root.Open(p)
		if err != nil {
			return apk.Checksum{}, "", err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return apk.Checksum{}, "", err
		}
		return apk.FromDigest(alg, h.Sum(nil)), "", nil
	}
	return apk.Checksum{}, "not a file or symlink", nil
}
