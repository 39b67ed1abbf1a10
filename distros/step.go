package distros

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/llbgen"
)

// StepLibScript is step-lib.sh, which every step script sources from its
// inputs: the failure notes of the step protocol and the step's start.
// Exported for the methods' script tests.
//
//go:embed step-lib.sh
var StepLibScript []byte

// StepLib is the name of step-lib.sh in a step's inputs.
const StepLib = "step-lib.sh"

// Step is one patch step of a method, as the method sees it: its script,
// arguments, inputs and mounts. Options turns it into the run options
// that every method's step shares, so that each method names only what
// sets it apart.
type Step struct {
	// Script is the entry script's name in the inputs, and ScriptData
	// its content; Args follow it on the command line.
	Script     string
	ScriptData []byte
	Args       []string
	// Files are more inputs; step-lib.sh and the SOURCES file are added.
	Files []llbgen.File
	// Mounts says what the step mounts; the helper is mounted when
	// Mounts.Helper is set and the request has it.
	Mounts   StepMounts
	Commands map[string]string // the helper commands, as for StepEnv
	// HelperMount replaces the helper's read-only mount (llbgen.MountHelper,
	// which adds the original image).
	HelperMount llb.RunOption
	// Caches are the step's cache mounts.
	Caches []llb.RunOption
	// Tool names what patches, in the step's progress name.
	Tool string
	// AuthSecret is the id of the method's credentials secret.
	AuthSecret string
	// More are the method's own options (environment, tmpfs mounts),
	// applied after the shared ones and before the request's constraints.
	More []llb.RunOption
}

// Options returns the run options of the step: the script run by
// /bin/sh as root in /, the step protocol's environment, /tmp on a
// tmpfs, the inputs read-only, the caches, the helper, the progress
// name, the build's network access and secrets, then More, then
// SOURCE_DATE_EPOCH, the proxy and the request's constraints.
func (s Step) Options(req PatchRequest) []llb.RunOption {
	files := append([]llbgen.File{
		{Name: StepLib, Data: StepLibScript},
		{Name: s.Script, Mode: 0o755, Data: s.ScriptData},
	}, s.Files...)
	if src := req.Sources; src != nil {
		files = append(files, llbgen.File{Name: SourcesInput(*src), Data: src.Data})
	}
	inputs := llbgen.Files(files, append(slices.Clone(req.Constraints), llb.WithCustomName(req.StepPrefix+InternalInputs))...)

	mounts := s.Mounts
	mounts.Helper = mounts.Helper && req.Helper != nil
	opts := []llb.RunOption{
		llb.Args(append([]string{"/bin/sh", path.Join(InputsDir, s.Script)}, s.Args...)),
		llb.User("0:0"),
		llb.Dir("/"),
		llb.AddEnv("PATH", llbgen.DefaultPath),
		StepEnv(mounts, s.Commands),
		llbgen.Tmpfs("/tmp"),
		llbgen.ReadOnly(InputsDir, inputs),
	}
	opts = append(opts, s.Caches...)
	switch {
	case mounts.Helper && s.HelperMount != nil:
		opts = append(opts, s.HelperMount)
	case mounts.Helper:
		opts = append(opts, llbgen.ReadOnly(llbgen.HelperDir, *req.Helper))
	}
	opts = append(opts, llb.WithCustomName(req.StepPrefix+StepName(s.Tool, req.Plan)))
	opts = append(opts, StepAccess(req, s.AuthSecret)...)
	opts = append(opts, s.More...)
	if e := req.SourceDateEpoch; e != nil {
		opts = append(opts, llb.AddEnv(EnvSourceDateEpoch, strconv.FormatInt(e.Unix(), 10)))
	}
	if req.Proxy != nil {
		opts = append(opts, llb.WithProxy(*req.Proxy))
	}
	for _, c := range req.Constraints {
		opts = append(opts, c)
	}
	return opts
}

// RunInImage runs a step in the image itself: the patched root is the
// step's root.
func RunInImage(req PatchRequest, opts []llb.RunOption) *Patch {
	run := req.Image.Run(opts...)
	notes := run.AddMount(NotesDir, llb.Scratch())
	return &Patch{Root: run.Root(), Notes: notes}
}

// RunInTooling runs a step in the tooling image with the image mounted
// at TargetDir (keyed by its layers: llbgen.ByLayers), which is the
// patched root.
func RunInTooling(req PatchRequest, opts []llb.RunOption) *Patch {
	run := req.Tooling.State.Run(opts...)
	target := run.AddMount(TargetDir, req.Image, llbgen.ByLayers)
	notes := run.AddMount(NotesDir, llb.Scratch())
	return &Patch{Root: target, Notes: notes}
}

// ToolingStepTool names what patches in a tooling step, for its progress
// name: "TOOL with tooling image NAME", and for a native patch the
// platform whose packages it installs.
func ToolingStepTool(tool string, req PatchRequest) string {
	if req.Native {
		return tool + " (native, " + platforms.Format(req.Platform) + " packages) with tooling image " + req.Tooling.Name
	}
	return tool + " with tooling image " + req.Tooling.Name
}

// PlanInput is what a helper-driven step takes of the plan: its mode
// ("report", or "all" without a report), whether to keep unchanged files'
// metadata ("keep" or "all"), and the plan as a file of "NAME FIXED"
// lines, each name and version checked once more against the format's
// grammar, since a line of the file must be one name and one version.
func PlanInput(req PatchRequest, v Versioning) (mode, keep string, plan []byte, err error) {
	mode, keep = "report", "all"
	if req.Plan.All {
		mode = "all"
	}
	if req.KeepUnchanged {
		keep = "keep"
	}
	var b strings.Builder
	for _, u := range req.Plan.Updates {
		if err := v.ValidName(u.Name); err != nil {
			return "", "", nil, err
		}
		if err := v.ValidVersion(u.Fixed); err != nil {
			return "", "", nil, fmt.Errorf("%s: %w", u.Name, err)
		}
		fmt.Fprintf(&b, "%s %s\n", u.Name, u.Fixed)
	}
	return mode, keep, []byte(b.String()), nil
}

// NeedHelper is the error of a method whose step needs the frontend's
// helper binary when the request has none.
func NeedHelper(family string) error {
	return fmt.Errorf("%s images are patched with the frontend's helper binary, which needs the frontend to run from its image (# syntax=, BUILDKIT_SYNTAX or --opt source=)", family)
}
