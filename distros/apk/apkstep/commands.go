// Package apkstep holds the apk methods' helper commands, which run inside
// patch steps on the image's files, from the frontend binary: recording
// the image before apk runs (snapshot-apk) and finishing the patch after
// it (finish-apk: notes, the image's world, leftovers, SOURCE_DATE_EPOCH,
// unchanged files). VerifyChecksums checks a patched root's files against
// its database, for tests. They work on real directories through os.Root.
package apkstep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/stepfs"
)

// Commands are the helper commands of the apk methods (named by
// apk.CmdSnapshot and apk.CmdFinish).
var Commands = []distros.HelperCommand{
	{Name: apk.CmdSnapshot, Usage: "ROOT DIR", Args: 2, Run: runSnapshot},
	{Name: apk.CmdFinish, Usage: "SNAPSHOT ROOT NOTES report|all keep|all run|skip", Args: 6, Run: runFinish},
}

// runSnapshot records the image at ROOT before apk runs (see Snapshot).
func runSnapshot(args []string) error {
	root, err := os.OpenRoot(args[0])
	if err != nil {
		return err
	}
	defer root.Close()
	if err := os.MkdirAll(args[1], 0o755); err != nil {
		return err
	}
	return Snapshot(root, args[1])
}

// runFinish runs after apk: it writes the upgrades note (mode all) and
// the install notes, gives the image its world back, removes apk's
// leftovers, dates what the step changed by SOURCE_DATE_EPOCH and, with
// keep, gives the files the upgrade left unchanged (and apk's state files
// rewritten as they were) their original metadata.
func runFinish(args []string) error {
	snapshot, rootDir, notes, mode, keep, scripts := args[0], args[1], args[2], args[3], args[4], args[5]
	before, err := LoadSnapshot(snapshot)
	if err != nil {
		return fmt.Errorf("the image before the patch: %w", err)
	}
	target, err := os.OpenRoot(rootDir)
	if err != nil {
		return err
	}
	defer target.Close()
	after, _, err := readInstalled(target)
	if err != nil {
		return fmt.Errorf("the patched image: %w", err)
	}
	changed := Diff(before.DB, after)
	for _, c := range changed {
		from := "(new)"
		if c.Old != nil {
			from = c.Old.Version
		}
		fmt.Printf("copa: %s %s → %s\n", c.New.Name, from, c.New.Version)
	}
	if mode == "all" {
		var b strings.Builder
		for _, c := range changed {
			fmt.Fprintf(&b, "%s %s\n", c.New.Name, c.New.Version)
		}
		if err := os.WriteFile(filepath.Join(notes, distros.NoteUpgrades), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	var install strings.Builder
	if scripts == "skip" {
		skipped, err := SkippedScripts(target, changed)
		if err != nil {
			return err
		}
		for _, s := range skipped {
			fmt.Fprintf(&install, "scripts %s %s\n", s[0], s[1])
		}
	}
	for _, c := range ConfigKept(before, target, changed) {
		fmt.Printf("copa: %s: kept the image's %s; the package's version is %s.apk-new\n", c[0], c[1], c[1])
		fmt.Fprintf(&install, "config-kept %s %s\n", c[0], c[1])
	}
	if install.Len() > 0 {
		if err := os.WriteFile(filepath.Join(notes, distros.NoteInstall), []byte(install.String()), 0o644); err != nil {
			return err
		}
	}
	if err := GiveBackWorld(before, snapshot, target, changed); err != nil {
		return fmt.Errorf("/%s: %w", worldPath, err)
	}
	removed, err := Forget(before, target)
	if err != nil {
		return err
	}
	if len(removed) > 0 {
		fmt.Printf("copa: removed what apk left behind: %s\n", strings.Join(removed, " "))
	}
	if err := stepfs.ClampStep(rootDir); err != nil {
		return err
	}
	if keep != "keep" {
		return nil
	}
	state, err := KeepState(before, snapshot, target)
	if err != nil {
		return err
	}
	if len(state) > 0 {
		fmt.Printf("copa: rewritten unchanged, keeping their metadata: %s\n", strings.Join(state, " "))
	}
	k, err := KeepUnchanged(before, target, changed)
	if err != nil {
		return err
	}
	k.Log()
	return nil
}
