package distros

import (
	_ "embed"
	"path"
	"slices"
	"strconv"

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
