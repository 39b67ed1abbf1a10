package distros

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/llbgen"
)

// The step protocol: how the Go side and the scripts and helper commands
// that run inside a patch step meet. Scripts take every path and helper
// command name from the environment that StepEnv sets from these
// constants, so a rename here reaches them without an edit.
//
// Every directory sits on the step's /tmp tmpfs, so no mount point ever
// reaches the image.
const (
	// InputsDir holds the step's scripts and data files, read-only.
	InputsDir = "/tmp/copa-in"
	// NotesDir is where the step leaves its notes (the Note* files).
	NotesDir = "/tmp/copa-out"
	// WorkDir is scratch space for the step.
	WorkDir = "/tmp/copa-work"
	// TargetDir is where a tooling step mounts the image it patches.
	TargetDir = "/tmp/copa-target"
)

// CmdLock FD is the helper command a step runs to wait for an exclusive
// lock (flock) on the file its shell opened as descriptor FD. The lock
// belongs to the shell's open file, not to the helper, so it lasts until
// the shell closes the descriptor. Steps need no lock tool of the image's.
const CmdLock = "lock-fd"

// InternalInputs names the vertex that writes a patch step's scripts and
// data files, as the Dockerfile frontend names its internal steps: the
// user sees what it is and can skip over it.
const InternalInputs = "[internal] patch step inputs"

// Environment variables of a patch step.
const (
	EnvInputs   = "COPA_IN"
	EnvNotes    = "COPA_OUT"
	EnvWork     = "COPA_WORK"
	EnvTarget   = "COPA_TARGET"
	EnvHelper   = "COPA_HELPER"   // the helper binary; unset when the step runs without it
	EnvOriginal = "COPA_ORIGINAL" // the original image, read-only, when the helper needs it
	// EnvTargetArch is the package architecture of the target, in its
	// format's words (dpkg's "arm64"), set only when the step runs on
	// another platform than the target's (a native patch): the package
	// manager must fetch that architecture's packages, not its own.
	EnvTargetArch = "COPA_TARGET_ARCH"
	// EnvSourceDateEpoch is the build's SOURCE_DATE_EPOCH (seconds since
	// 1970), set only when the build sets it: the step dates what it
	// changed no later than that, so that equal patches give equal layers,
	// and the tools it runs that honour the variable use it too.
	EnvSourceDateEpoch = "SOURCE_DATE_EPOCH"
	// EnvShared names a cache directory that the step shares with
	// concurrent steps (llbgen.SharedCacheDir), set only when its caches
	// are shared rather than locked to one step at a time: the step keeps
	// there the lock file it takes (CmdLock) around its writes to them.
	EnvShared = "COPA_SHARED"
	// EnvCommandPrefix + KEY names a helper command the step may run:
	// COPA_CMD_INSTALL=install-deb.
	EnvCommandPrefix = "COPA_CMD_"
)

// Notes a step writes to NotesDir, one record per line, fields separated
// by blanks. Every method writes the same notes and ReadNotes reads them.
const (
	// NoteAddedSources: "NAME", a package source the step added to the
	// image's own to reach the fixed versions.
	NoteAddedSources = "added-sources"
	// NoteUnresolved: "NAME FIXED BEST", a package left below its fixed
	// version; BEST is "(none)" when nothing is on offer.
	NoteUnresolved = "unresolved"
	// NoteUpgrades: "NAME VERSION", what an upgrade-all installs.
	NoteUpgrades = "upgrades"
	// NoteInstall: what a helper that installs packages without the
	// image's package manager wants the user to know:
	//	scripts PACKAGE NAME[,NAME...]  package scripts that were not run
	//	config-kept PACKAGE PATH         a configuration file kept as the image had it
	NoteInstall = "install-notes"
	// NoteFailed: why the step could not patch, when it stopped short
	// and said so instead of failing (so that the frontend, not the
	// exec's exit code, tells the user):
	//	fetch SECRET URL REASON...  a package source could not be fetched; SECRET is
	//	                            the id of the secret that holds its credentials
	//	unresolved                  UNRESOLVED fail, and the unresolved note lists the packages
	//	step EXIT MESSAGE...        anything else: the exit code and the tool's last errors
	NoteFailed = "failed"
	// NoteSourcesTried: "URL [SUITE...]", a package source the step read,
	// for the message of a failure.
	NoteSourcesTried = "sources-tried"
	// NoteFailedAt: when a step that wrote NoteFailed ended, in Unix
	// seconds, so the frontend can tell a failure of this build from an
	// earlier build's, cached, and run only the latter again.
	NoteFailedAt = "failed-at"
)

// StepMounts says what a step has mounted besides its inputs and notes.
type StepMounts struct {
	Helper   bool   // the frontend image, at llbgen.HelperDir
	Original bool   // the original image, at llbgen.OriginalDir
	Target   bool   // the image being patched, at TargetDir
	Shared   string // a cache shared with concurrent steps, mounted there; "" for none
}

// StepEnv sets the protocol's environment on a step. commands maps keys
// to helper command names (COPA_CMD_KEY=name); a variable is set only
// for what is mounted.
func StepEnv(m StepMounts, commands map[string]string) llb.RunOption {
	env := [][2]string{{EnvInputs, InputsDir}, {EnvNotes, NotesDir}, {EnvWork, WorkDir}}
	if m.Target {
		env = append(env, [2]string{EnvTarget, TargetDir})
	}
	if m.Original {
		env = append(env, [2]string{EnvOriginal, llbgen.OriginalDir})
	}
	if m.Helper {
		env = append(env, [2]string{EnvHelper, llbgen.HelperBinary})
	}
	if m.Shared != "" {
		env = append(env, [2]string{EnvShared, m.Shared})
	}
	for _, k := range slices.Sorted(maps.Keys(commands)) {
		env = append(env, [2]string{EnvCommandPrefix + k, commands[k]})
	}
	return runEnv(env)
}

type runEnv [][2]string

func (e runEnv) SetRunOption(ei *llb.ExecInfo) {
	for _, kv := range e {
		llb.AddEnv(kv[0], kv[1]).SetRunOption(ei)
	}
}

// Outcome is what a patch step reported in its notes.
type Outcome struct {
	// AddedSources names package sources the step had to add to the
	// image's own to reach the fixed versions.
	AddedSources []string
	// Unresolved lists packages left below their fixed version (only
	// with PolicyWarn; with PolicyFail the step fails instead).
	Unresolved []Unresolved
	// Upgrades is what an upgrade-all installed: the versions to verify.
	Upgrades []Update
	// SkippedScripts lists, per package, the package scripts that were
	// not run because the image cannot run them.
	SkippedScripts []PackageNote
	// KeptConfig lists configuration files kept as the image had them.
	KeptConfig []PackageNote
	// Failed lists why the step stopped short; the patch failed when it
	// has any.
	Failed []Failure
	// SourcesTried are the package sources the step read, when it failed
	// for want of a fixed version.
	SourcesTried []string
	// FailedAt is when the step ended, if it failed (zero when it did not
	// say).
	FailedAt time.Time
}

// Kinds of Failure.
const (
	FailFetch      = "fetch"
	FailUnresolved = "unresolved"
	FailStep       = "step"
)

// Failure is one reason a step gave for not patching: a package source it
// could not fetch, fixed versions it could not reach (with UNRESOLVED
// fail), or a tool that failed.
type Failure struct {
	// Kind is FailFetch, FailUnresolved or FailStep.
	Kind string
	// Exit is a failed tool's exit code (FailStep), and Reason its last
	// error messages.
	Exit int
	// URL is the source that failed, without credentials.
	URL string
	// Reason is what the package manager said, e.g. "401  Unauthorized".
	Reason string
	// Secret is the id of the secret that holds the format's credentials
	// (apt-auth, repo-auth).
	Secret string
}

// Status is the HTTP status code the reason starts with, 0 when it names
// none.
func (f Failure) Status() int {
	var code int
	if _, err := fmt.Sscanf(strings.TrimSpace(f.Reason), "%d", &code); err != nil || code < 100 || code > 599 {
		return 0
	}
	return code
}

// Error says what failed and what to do about it. FailUnresolved has
// its words from the frontend, which knows the Patchfile's lines.
func (f Failure) Error() string {
	reason := strings.Join(strings.Fields(f.Reason), " ")
	switch f.Kind {
	case FailUnresolved:
		return "fixed versions are not available"
	case FailStep:
		return fmt.Sprintf("the package manager failed (exit %d): %s", f.Exit, reason)
	}
	switch code := f.Status(); {
	case code == 401 || code == 403 || strings.Contains(strings.ToLower(reason), "denied"):
		return fmt.Sprintf("the package source %s refused access (%s): give its credentials with --secret id=%s,src=FILE (see docs/mirrors.md)", f.URL, reason, f.Secret)
	case strings.Contains(strings.ToLower(reason), "certificate"):
		return fmt.Sprintf("the package source %s could not be fetched (%s): if its certificate is signed by a private CA, give the CA's PEM bundle with --secret id=%s,src=FILE (see docs/mirrors.md)", f.URL, reason, SecretCA)
	default:
		return fmt.Sprintf("the package source %s could not be fetched (%s): the patch does not go on without one of its sources; fix the source, or replace the sources for the patch with SOURCES (see docs/mirrors.md)", f.URL, reason)
	}
}

// PackageNote is one note about a package: the scripts that did not run,
// or a configuration file that was kept.
type PackageNote struct {
	Package string
	Items   []string
}

// Unresolved is a package whose fixed version no configured source offers.
type Unresolved struct {
	Name string
	Want string
	Best string // the newest version on offer; "" when none is
}

// maxNotes bounds a notes file: a step writes a line per package.
const maxNotes = 4 << 20

// ReadNotes reads what a step left in its notes directory. Names and
// versions are checked against the format's grammar: the notes come from
// a step that ran the image's own tools.
func ReadNotes(ctx context.Context, notes FS, v Versioning) (*Outcome, error) {
	o := &Outcome{}
	for _, name := range []string{NoteAddedSources, NoteUnresolved, NoteUpgrades, NoteInstall, NoteFailed, NoteSourcesTried, NoteFailedAt} {
		rows, err := readRows(ctx, notes, name)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if err := o.add(name, r, v); err != nil {
				return nil, fmt.Errorf("the patch step wrote a malformed %s note %q: %w", name, Clip(strings.Join(r, " ")), err)
			}
		}
	}
	return o, nil
}

func (o *Outcome) add(note string, r []string, v Versioning) error {
	switch note {
	case NoteAddedSources:
		o.AddedSources = append(o.AddedSources, strings.Join(r, " "))
	case NoteUnresolved:
		if len(r) != 3 {
			return fmt.Errorf("want NAME FIXED BEST")
		}
		best := r[2]
		if best == "(none)" {
			best = ""
		}
		o.Unresolved = append(o.Unresolved, Unresolved{Name: r[0], Want: r[1], Best: best})
	case NoteUpgrades:
		if len(r) != 2 {
			return fmt.Errorf("want NAME VERSION")
		}
		if err := v.ValidName(r[0]); err != nil {
			return err
		}
		if err := v.ValidVersion(r[1]); err != nil {
			return err
		}
		o.Upgrades = append(o.Upgrades, Update{Name: r[0], Fixed: r[1]})
	case NoteInstall:
		if len(r) != 3 {
			return fmt.Errorf("want KIND PACKAGE ITEM")
		}
		switch r[0] {
		case "scripts":
			o.SkippedScripts = append(o.SkippedScripts, PackageNote{Package: r[1], Items: strings.Split(r[2], ",")})
		case "config-kept":
			o.KeptConfig = append(o.KeptConfig, PackageNote{Package: r[1], Items: []string{r[2]}})
		default:
			return fmt.Errorf("unknown kind %q", r[0])
		}
	case NoteFailed:
		switch {
		case r[0] == FailFetch && len(r) >= 4:
			o.Failed = append(o.Failed, Failure{Kind: FailFetch, Secret: Clip(r[1]), URL: Clip(withoutUserinfo(r[2])), Reason: Clip(strings.Join(r[3:], " "))})
		case r[0] == FailUnresolved && len(r) == 1:
			o.Failed = append(o.Failed, Failure{Kind: FailUnresolved})
		case r[0] == FailStep && len(r) >= 2:
			code, err := strconv.Atoi(r[1])
			if err != nil {
				return fmt.Errorf("exit code %q", Clip(r[1]))
			}
			o.Failed = append(o.Failed, Failure{Kind: FailStep, Exit: code, Reason: Clip(strings.Join(r[2:], " "))})
		default:
			return fmt.Errorf("want fetch SECRET URL REASON, unresolved, or step EXIT MESSAGE")
		}
	case NoteSourcesTried:
		src := Clip(withoutUserinfo(r[0]))
		if len(r) > 1 { // the suites and components of an apt source
			src += " " + Clip(strings.Join(r[1:], " "))
		}
		o.SourcesTried = append(o.SourcesTried, src)
	case NoteFailedAt:
		sec, err := strconv.ParseInt(r[0], 10, 64)
		if len(r) != 1 || err != nil || sec < 0 {
			return fmt.Errorf("want UNIX-SECONDS")
		}
		o.FailedAt = time.Unix(sec, 0)
	}
	return nil
}

// withoutUserinfo drops credentials a source's URL may carry, so that no
// message repeats them.
func withoutUserinfo(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, p, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if p != "" {
		return scheme + "://" + host + "/" + p
	}
	return scheme + "://" + host
}

// Warnings says in sentences what the user should know of the outcome
// that does not fail the patch.
func (o *Outcome) Warnings() []string {
	var out []string
	if len(o.SkippedScripts) > 0 {
		var parts []string
		for _, n := range o.SkippedScripts {
			parts = append(parts, fmt.Sprintf("%s (%s)", n.Package, strings.Join(n.Items, ", ")))
		}
		out = append(out, fmt.Sprintf("the install scripts of %d updated package(s) were not run, because nothing of the image runs in this patch (the image cannot run them, or it is patched natively): %s; their files are installed and the package database is updated (see docs/distroless.md, docs/rpm.md and docs/apk.md)",
			len(parts), strings.Join(parts, "; ")))
	}
	if len(o.KeptConfig) > 0 {
		var parts []string
		for _, n := range o.KeptConfig {
			parts = append(parts, fmt.Sprintf("%s of %s", n.Items[0], n.Package))
		}
		out = append(out, fmt.Sprintf("kept the image's own version of %d configuration file(s) that differ from the packaged ones: %s", len(parts), strings.Join(parts, ", ")))
	}
	return out
}

func readRows(ctx context.Context, notes FS, name string) ([][]string, error) {
	p := "/" + name
	ok, err := notes.Exists(ctx, p)
	if err != nil || !ok {
		return nil, err
	}
	dt, err := notes.ReadFile(ctx, p, maxNotes)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			rows = append(rows, f)
		}
	}
	return rows, sc.Err()
}

// Without returns want less the unresolved packages.
func Without(want []Update, unresolved []Unresolved) []Update {
	return slices.DeleteFunc(slices.Clone(want), func(u Update) bool {
		return slices.ContainsFunc(unresolved, func(x Unresolved) bool { return x.Name == u.Name })
	})
}
