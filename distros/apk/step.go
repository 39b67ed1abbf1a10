package apk

import (
	_ "embed"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/llbgen"
)

//go:embed apk-patch.sh
var patchScript []byte

// Helper commands of the apk methods (distros/apk/apkstep), named to the
// step script as COPA_CMD_<key>.
const (
	// CmdSnapshot ROOT DIR records what the end of the step needs of the
	// image before apk runs: its database, world, and the metadata of its
	// packages' files.
	CmdSnapshot = "snapshot-apk"
	// CmdFinish SNAPSHOT ROOT NOTES report|all keep|all run|skip writes
	// the notes (upgrades, install-notes), gives the image its world
	// back, removes what apk left behind, dates what changed by
	// SOURCE_DATE_EPOCH and, with keep, gives the files the upgrade left
	// unchanged their original metadata.
	CmdFinish = "finish-apk"
)

var helperCommands = map[string]string{
	"SNAPSHOT": CmdSnapshot,
	"FINISH":   CmdFinish,
}

// SecretAuth is the id of the build secret with the repositories'
// credentials, "machine HOST login USER password PASS" lines (netrc(5),
// as apt-auth and repo-auth): apk's libfetch reads them through $NETRC.
const SecretAuth = "apk-auth"

// CacheDir is where apk's cache (repository indexes and downloaded
// packages) is mounted and named to apk (--cache-dir): under the step's
// /tmp tmpfs, so neither it nor its mount point reaches the image, and
// apk writes nothing to the image's /var/cache/apk or /etc/apk/cache.
const CacheDir = "/tmp/copa-apk-cache"

// step is one apk patch step: apk in the image, or a tooling image's apk
// with the image mounted at distros.TargetDir.
type step struct {
	binary string // apk's path in the root the step runs in
	rel    Release
	// tooling: the image is patched from another root (apk --root).
	tooling bool
	// scripts: the image's install scripts can run (it has a shell, and
	// the step runs on its platform).
	scripts bool
	tool    string // for the progress name
}

// options returns the run options of the step: apk-patch.sh with MODE
// POLICY APK CACHE KEEP SCRIPTS, the plan as a file of "NAME FIXED" lines
// in the inputs (names and versions reach apk as arguments, never as
// shell words), the protocol's environment, and the helper.
func (s step) options(req distros.PatchRequest) ([]llb.RunOption, error) {
	if req.Helper == nil {
		return nil, distros.NeedHelper("apk")
	}
	mode, keep, plan, err := distros.PlanInput(req, Versioning{})
	if err != nil {
		return nil, err
	}
	scripts := "skip"
	if s.scripts {
		scripts = "run"
	}
	var more []llb.RunOption
	if s.tooling && req.Native {
		more = append(more, llb.AddEnv(distros.EnvTargetArch, Arch(req.Platform.Architecture, req.Platform.Variant)))
	}
	platform := strings.ReplaceAll(platforms.Format(req.Platform), "/", "-")
	return distros.Step{
		Script:     "apk-patch.sh",
		ScriptData: patchScript,
		Args:       []string{mode, string(req.Policy), s.binary, CacheDir, keep, scripts},
		Files:      []llbgen.File{{Name: "plan", Data: plan}},
		// The helper, not the original image: what it needs of the image
		// it records at the start of the step (apkstep.Snapshot).
		Mounts:   distros.StepMounts{Helper: true, Target: s.tooling},
		Commands: helperCommands,
		// Locked to one step at a time: apk takes no lock of its own on
		// its cache.
		Caches:     []llb.RunOption{llbgen.CacheDir(CacheDir, "copa-apk-"+s.rel.CacheKey+"-"+platform)},
		Tool:       s.tool,
		AuthSecret: SecretAuth,
		More:       more,
	}.Options(req), nil
}

// Arch is the apk architecture of an OCI platform's architecture and
// variant, as apk's --arch and /etc/apk/arch name it.
func Arch(arch, variant string) string {
	switch arch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "x86"
	case "arm":
		if variant == "v6" || variant == "v5" {
			return "armhf"
		}
		return "armv7"
	case "loong64":
		return "loongarch64"
	}
	return arch // ppc64le, s390x, riscv64 are spelt alike
}
