// Package llbgen holds the distro-neutral LLB building blocks of a patch:
// run steps whose package-manager state stays out of the image, their
// inputs, and the frontend's helper mounted into them.
package llbgen

import (
	"os"

	"github.com/moby/buildkit/client/llb"
)

// DefaultPath is used for steps in images whose config is not applied to
// the state (llb.Image without a meta resolver has no environment).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// CacheDir mounts a persistent BuildKit cache at path. Package managers keep
// their indexes and downloads there, so they neither land in the patch layer
// nor get downloaded again by the next build. The mount is locked: package
// managers do not tolerate concurrent writers.
func CacheDir(path, id string) llb.RunOption {
	return llb.AddMount(path, llb.Scratch(), llb.AsPersistentCacheDir(id, llb.CacheMountLocked))
}

// SharedCacheDir mounts a persistent BuildKit cache at path that
// concurrent steps mount at once: BuildKit does not make them wait for
// each other, so the steps must serialise their own writes to it (the
// step protocol's lock, distros.CmdLock). The steps of the images of one
// bake that share a release then share one package download, where a
// locked mount (CacheDir) would run them one after the other.
func SharedCacheDir(path, id string) llb.RunOption {
	return llb.AddMount(path, llb.Scratch(), llb.AsPersistentCacheDir(id, llb.CacheMountShared))
}

// Tmpfs mounts an empty in-memory filesystem at path: whatever a step writes
// there (logs, temporary files) is gone when the step ends.
func Tmpfs(path string) llb.RunOption {
	return llb.AddMount(path, llb.Scratch(), llb.Tmpfs())
}

// ReadOnly mounts st at path without letting the step change it.
func ReadOnly(path string, st llb.State) llb.RunOption {
	return llb.AddMount(path, st, llb.Readonly)
}

// File is one file of a Files state.
type File struct {
	Name string
	Mode os.FileMode // 0 means 0644
	Data []byte
}

// Files is a scratch state holding the given files at its root: inputs for
// a step, mounted rather than copied so they never touch the image.
func Files(files []File, opts ...llb.ConstraintsOpt) llb.State {
	var fa *llb.FileAction
	for _, f := range files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if fa == nil {
			fa = llb.Mkfile("/"+f.Name, mode, f.Data)
		} else {
			fa = fa.Mkfile("/"+f.Name, mode, f.Data)
		}
	}
	if fa == nil {
		return llb.Scratch()
	}
	return llb.Scratch().File(fa, opts...)
}

// Where a patch step finds the frontend image (whose static binary runs
// the helper commands) and the original image. Both sit under /tmp, which
// patch steps mount as a tmpfs, so their mount points never reach the
// image.
//
// The helper runs inside the step that changes the image, not in a step of
// its own: a second step would give a second layer.
const (
	HelperDir    = "/tmp/copa-helper"
	HelperBinary = HelperDir + HelperImageBinary
	OriginalDir  = "/tmp/copa-original"
)

// HelperImageBinary is the frontend binary's path in the frontend image,
// for steps that run with that image as their root.
const HelperImageBinary = "/bin/frontend"

// MountHelper mounts the frontend image and the original image read-only
// where helper commands expect them. The original is keyed by its layers,
// not its files (ByLayers).
func MountHelper(helper, original llb.State) llb.RunOption {
	return runOptions{ReadOnly(HelperDir, helper), llb.AddMount(OriginalDir, original, llb.Readonly, ByLayers)}
}

// ByLayers is the mount option for every mount of the image a step
// patches. BuildKit keys a step on the contents of its read-only mounts
// and of its writable mounts of a whole state, so that steps reading the
// same files share a result; a patch step's result is the image's layers
// plus the patch, so another image with the same files on other layers
// (the same rootfs with an extra empty layer, or flattened) would be
// answered with the first image's layers. Turning content keys off for the
// image keys the step on the image itself: its layers, as llb.Image names
// them. (When the image is also the step's root, the mount shares its
// input, and BuildKit applies the last mount's choice to the input.)
var ByLayers = llb.ContentCache(llb.MountContentCacheOff)

type runOptions []llb.RunOption

func (r runOptions) SetRunOption(ei *llb.ExecInfo) {
	for _, o := range r {
		o.SetRunOption(ei)
	}
}

// Secret mounts the build's secret id as a file at path when the build
// has it (docker buildx build --secret id=ID,...), and nothing otherwise:
// a step looks for the file. Secrets are never part of a layer or the
// cache key. The file is readable by every user of the step, since
// package managers download as an unprivileged user of their own (apt's
// _apt).
func Secret(path, id string) llb.RunOption {
	return llb.AddSecret(path, llb.SecretID(id), llb.SecretOptional, llb.SecretFileOpt(0, 0, 0o444))
}
