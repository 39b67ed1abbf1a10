package rpmstep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/rpm"
	"github.com/copa/frontend/distros/stepfs"
)

// Commands are the helper commands of the rpm methods (named by
// rpm.CmdResolve and rpm.CmdFinish). They run inside patch steps, from
// the frontend binary.
var Commands = []distros.HelperCommand{
	{Name: rpm.CmdResolve, Usage: "FORMAT POLICY PLAN AVAILABLE INSTALL NOTES", Args: 6, Run: runResolve},
	{Name: rpm.CmdSnapshot, Usage: "ROOT DIR", Args: 2, Run: runSnapshot},
	{Name: rpm.CmdFinish, Usage: "SNAPSHOT ROOT NOTES report|all keep|all", Args: 5, Run: runFinish},
	{Name: rpm.CmdPrepareRepos, Usage: "DIR dnf|zypper AUTH|- CA|-", Args: 4, Run: runPrepareRepos},
}

// runResolve decides what to install (see Resolve) and writes it to
// INSTALL as "NAME EVR" lines; the packages that cannot reach their fixed
// version go to the unresolved note and, with policy fail, fail the step.
func runResolve(args []string) error {
	format, policy, planFile, availFile, installFile, notes := args[0], distros.Policy(args[1]), args[2], args[3], args[4], args[5]
	dt, err := os.ReadFile(planFile)
	if err != nil {
		return err
	}
	plan, err := ParsePlan(dt)
	if err != nil {
		return err
	}
	f, err := os.Open(availFile)
	if err != nil {
		return err
	}
	defer f.Close()
	offered, err := ParseCandidates(format, f)
	if err != nil {
		return err
	}
	res := Resolve(plan, offered)
	var install, unresolved strings.Builder
	for _, c := range res.Install {
		fmt.Fprintf(&install, "%s %s\n", c.Name, c.EVR)
		fmt.Printf("copa: %s: installing %s\n", c.Name, c.EVR)
	}
	for _, u := range res.Unresolved {
		best := u.Best
		if best == "" {
			best = "(none)"
		}
		fmt.Fprintf(&unresolved, "%s %s %s\n", u.Name, u.Want, best)
		fmt.Printf("copa: %s: fixed version %s is not available (best candidate: %s)\n", u.Name, u.Want, strings.Trim(best, "()"))
	}
	if err := os.WriteFile(installFile, []byte(install.String()), 0o644); err != nil {
		return err
	}
	if len(res.Unresolved) > 0 {
		if err := os.WriteFile(filepath.Join(notes, distros.NoteUnresolved), []byte(unresolved.String()), 0o644); err != nil {
			return err
		}
		if policy != distros.PolicyWarn {
			return fmt.Errorf("the fixed versions above are not in the image's repositories (UNRESOLVED warn lets the build go on without them)")
		}
	}
	return nil
}

// runSnapshot records the image at ROOT before the package manager runs
// (see Snapshot).
func runSnapshot(args []string) error {
	root, err := os.OpenRoot(args[0])
	if err != nil {
		return err
	}
	defer root.Close()
	return Snapshot(root, args[1])
}

// runFinish runs after the package manager: it writes the upgrades note
// (mode all), removes rpm's transient files, dates what the step changed
// by SOURCE_DATE_EPOCH and, with keep, gives the files the upgrade left
// unchanged their original metadata.
func runFinish(args []string) error {
	snapshot, rootDir, notes, mode, keep := args[0], args[1], args[2], args[3], args[4]
	before, err := LoadSnapshot(snapshot)
	if err != nil {
		return fmt.Errorf("the image before the patch: %w", err)
	}
	target, err := os.OpenRoot(rootDir)
	if err != nil {
		return err
	}
	defer target.Close()
	after, err := readDB(target)
	if err != nil {
		return fmt.Errorf("the patched image: %w", err)
	}
	changed := Diff(before.DB.Headers, after.Headers)
	if mode == "all" {
		// One line per name, as the frontend verifies names: the lowest
		// version across its architectures (multilib) is the one that
		// counts (distros.Packages.Version).
		v := rpm.Versioning{}
		low := map[string]string{}
		var order []string
		for _, c := range changed {
			cur, seen := low[c.New.Name]
			if !seen {
				order = append(order, c.New.Name)
			}
			if !seen || v.Compare(c.New.EVR(), cur) < 0 {
				low[c.New.Name] = c.New.EVR()
			}
		}
		var b strings.Builder
		for _, n := range order {
			fmt.Fprintf(&b, "%s %s\n", n, low[n])
		}
		if err := os.WriteFile(filepath.Join(notes, distros.NoteUpgrades), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	for _, c := range changed {
		from := "(new)"
		if c.Old != nil {
			from = c.Old.EVR()
		}
		fmt.Printf("copa: %s.%s %s → %s\n", c.New.Name, c.New.Arch, from, c.New.EVR())
	}
	if os.Getenv(rpm.EnvScripts) == "skip" {
		if err := noteSkippedScripts(notes, changed); err != nil {
			return err
		}
	}
	removed, err := Forget(before, target, after)
	if err != nil {
		return err
	}
	if len(removed) > 0 {
		fmt.Printf("copa: removed what the package manager left behind: %s\n", strings.Join(removed, " "))
	}
	manifests, err := KeepManifests(target, before.DB.Headers, after.Headers, changed)
	if err != nil {
		return err
	}
	if len(manifests) > 0 {
		fmt.Printf("copa: %s list the patched packages now\n", strings.Join(manifests, " and "))
	}
	if err := stepfs.ClampStep(rootDir); err != nil {
		return err
	}
	if keep != "keep" {
		return nil
	}
	k, err := KeepUnchanged(before, target, changed)
	if err != nil {
		return err
	}
	k.Log()
	return nil
}

// noteSkippedScripts writes the install notes of the upgraded packages
// whose scripts were not run.
func noteSkippedScripts(notes string, changed []Changed) error {
	var b strings.Builder
	for _, c := range changed {
		if len(c.New.Scripts) > 0 {
			fmt.Fprintf(&b, "scripts %s %s\n", c.New.Name, strings.Join(c.New.Scripts, ","))
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return os.WriteFile(filepath.Join(notes, distros.NoteInstall), []byte(b.String()), 0o644)
}

// runPrepareRepos gives the repository files in DIR the build's
// repo-auth credentials and CA (see PrepareRepos); "-" for a secret the
// build does not have.
func runPrepareRepos(args []string) error {
	dir, flavour, authFile, caFile := args[0], args[1], args[2], args[3]
	var auth RepoAuth
	if authFile != "-" {
		dt, err := os.ReadFile(authFile)
		if err != nil {
			return err
		}
		if auth, err = ParseRepoAuth(dt); err != nil {
			return err
		}
	} else {
		authFile = ""
	}
	if caFile == "-" {
		caFile = ""
	}
	n, err := PrepareRepos(dir, flavour, auth, authFile, caFile)
	if err != nil {
		return err
	}
	if authFile != "" {
		fmt.Printf("copa: repo-auth: credentials for %d repositor%s\n", n, map[bool]string{true: "y", false: "ies"}[n == 1])
	}
	return nil
}
