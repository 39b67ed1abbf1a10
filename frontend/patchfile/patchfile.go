// Package patchfile parses Patchfile v1, the build file of copa/frontend.
//
// A Patchfile borrows the Dockerfile's surface syntax (comments, line
// continuations, parser directives, ARG substitution) so users, editors and
// buildx treat it like one, but it takes only five instructions: ARG, PATCH,
// REPORT, TOOLING and UNRESOLVED. The lexing is BuildKit's own Dockerfile parser, so
// quirks match what users already know from Dockerfiles.
//
// The input is untrusted (it comes from the build context), so Parse bounds
// its size and instruction count, and every error it returns carries the
// Patchfile location as a *parser.LocationError, which the frontend turns
// into a BuildKit source error that buildx prints with the offending line.
package patchfile

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/pkg/errors"
)

const (
	// MaxSize bounds the Patchfile so a hostile build context cannot make the
	// frontend buffer and lex an arbitrarily large file. Real Patchfiles are
	// a few hundred bytes.
	MaxSize = 1 << 20

	// MaxInstructions bounds the work done per instruction (substitution,
	// validation) for the same reason as MaxSize.
	MaxInstructions = 1000
)

// Policy says what to do with a package whose fixed version cannot be
// installed. It is a string so messages can print it without a lookup
// table.
type Policy string

const (
	// PolicyFail fails the build, so an image is never silently left
	// vulnerable; it is the default.
	PolicyFail Policy = "fail"
	// PolicyWarn reports the package as a build warning and still produces
	// the patched image, for users who prefer a partly patched image now.
	PolicyWarn Policy = "warn"
)

// Patchfile is a parsed and validated Patchfile: every value is already
// substituted, so callers never see ARG references.
type Patchfile struct {
	// Image is the PATCH reference as written after substitution; it is known
	// to parse, but normalising it (docker.io/library/, :latest) is left to
	// the caller so messages can echo what the user wrote.
	Image Instruction[string]
	// Native is PATCH --native: patch every platform on the build
	// platform, without running anything of the image, even where the
	// builder can emulate it.
	Native bool
	// Reports are the REPORT paths, cleaned and relative to the build
	// context, in Patchfile order. Empty means "upgrade every package that
	// has an update".
	Reports []Instruction[string]
	// Tooling is the TOOLING image reference as written after
	// substitution, or "" (Location nil) when the Patchfile names none and
	// the frontend picks one by the image's release. It is only used for
	// images that cannot run their own package manager.
	Tooling Instruction[string]
	// Sources is the SOURCES path (cleaned, relative to the build
	// context), "" (Location nil) when the Patchfile names none; its
	// flags are in SourcesAdd, SourcesOnly and SourcesKeep.
	Sources Instruction[string]
	// SourcesAdd is SOURCES --add: the file adds to the image's package
	// sources instead of replacing them.
	SourcesAdd bool
	// SourcesOnly is SOURCES --only: the file's sources are the only
	// ones; the release's official ones are never added.
	SourcesOnly bool
	// SourcesKeep is SOURCES --keep: the patched image keeps the sources
	// the patch used.
	SourcesKeep bool
	// Unresolved is the UNRESOLVED policy; its Location is nil when the
	// Patchfile does not say, so warnings then carry no source line.
	Unresolved Instruction[Policy]
	// Args holds the final value of every declared ARG (build arg, else
	// default, else ""), for callers that want to record what was built.
	Args map[string]string
	// Declared lists the ARGs in the order of their first declaration,
	// with the comment lines right above it: what --call outline shows.
	Declared []ArgDecl
	// Used names the ARGs some instruction or ARG default refers to.
	Used map[string]bool
	// Warnings are problems that do not stop the build; the frontend shows
	// them as build warnings.
	Warnings []Warning
}

// Instruction is one value taken from the Patchfile together with where it
// came from, so later stages (fetching the image, reading a report) can
// still point their errors at the right line.
type Instruction[T any] struct {
	Value    T
	Location []parser.Range
	// Flags are the instruction's --name=value flags, substituted and
	// validated (see allowedFlags).
	Flags map[string]string
}

// ArgDecl is one ARG's first declaration.
type ArgDecl struct {
	Name string
	// Comment is the comment right above the ARG line, its lines joined
	// with spaces, as the Dockerfile frontend documents its ARGs.
	Comment  string
	Location []parser.Range
}

// Warning is a non-fatal finding, located like errors so buildx can show
// the line.
type Warning struct {
	Message  string
	Location []parser.Range
}

// instructions is the list given in the unknown-instruction error; keep it
// in sync with the switch in (*parse).instruction.
const instructions = "ARG, PATCH, REPORT, SOURCES, TOOLING and UNRESOLVED"

// allowedFlags lists the flags each instruction accepts.
var allowedFlags = map[string]map[string]bool{
	// REPORT --platform=os/arch[/variant] binds a report to one platform
	// of a multi-platform build.
	"report": {FlagPlatform: true},
	// PATCH --native patches every platform on the build platform, with a
	// tooling image, even where the builder could emulate the image's.
	"patch": {FlagNative: true},
	// SOURCES --add adds the file to the image's sources; --only makes
	// it the only one (no official sources are added); --keep keeps it
	// in the result.
	"sources": {FlagAdd: true, FlagOnly: true, FlagKeep: true},
}

// SOURCES's flags; each is on with --flag or --flag=true.
const (
	FlagAdd  = "add"
	FlagOnly = "only"
	FlagKeep = "keep"
)

// FlagNative is PATCH's --native flag: --native or --native=true turns
// it on, --native=false off.
const FlagNative = "native"

// FlagPlatform is REPORT's --platform flag. After Parse its value is the
// normalised platform, e.g. "linux/arm/v7".
const FlagPlatform = "platform"

// Parse parses and validates a Patchfile. buildArgs are the user's
// --build-arg values; only those named by an ARG are used, like in a
// Dockerfile, so stray or BuildKit-internal build args are harmless.
func Parse(data []byte, buildArgs map[string]string) (*Patchfile, error) {
	if len(data) > MaxSize {
		return nil, errors.Errorf("Patchfile is %d bytes; the limit is %d bytes (1 MiB)", len(data), MaxSize)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		if isNoInstructions(err) {
			return nil, errNoPatch
		}
		return nil, err
	}

	pf := &Patchfile{
		Unresolved: Instruction[Policy]{Value: PolicyFail},
		Args:       map[string]string{},
		Used:       map[string]bool{},
	}
	for _, w := range res.Warnings {
		var loc []parser.Range
		if w.Location != nil {
			loc = []parser.Range{*w.Location}
		}
		pf.Warnings = append(pf.Warnings, Warning{Message: w.Short, Location: loc})
	}

	nodes := res.AST.Children
	if len(nodes) > MaxInstructions {
		return nil, parser.WithLocation(
			errors.Errorf("Patchfile has %d instructions; the limit is %d", len(nodes), MaxInstructions),
			nodes[MaxInstructions].Location())
	}

	p := &parse{
		pf:        pf,
		lex:       shell.NewLex(res.EscapeToken),
		escape:    res.EscapeToken,
		env:       map[string]string{},
		buildArgs: buildArgs,
		argLines:  argLines(nodes),
	}
	for _, node := range nodes {
		if err := p.instruction(node); err != nil {
			return nil, parser.WithLocation(err, node.Location())
		}
	}
	if pf.Image.Location == nil {
		return nil, errNoPatch
	}
	return pf, nil
}

var errNoPatch = errors.New(`Patchfile has no PATCH instruction: add "PATCH <image>" naming the image to patch`)

// isNoInstructions recognises the Dockerfile parser's error for a file with
// only comments and blank lines, which for us is just a missing PATCH. The
// parser has no sentinel for it, so this matches the message; a test pins
// it against the vendored parser.
func isNoInstructions(err error) bool {
	var le *parser.LocationError
	return errors.As(err, &le) && le.Unwrap() != nil && le.Unwrap().Error() == "file with no instructions"
}

// parse is the state carried from one instruction to the next.
type parse struct {
	pf        *Patchfile
	lex       *shell.Lex
	escape    rune
	env       map[string]string // ARGs declared so far that have a value
	buildArgs map[string]string
	argLines  map[string]int // every ARG name in the file → its first line, for hints
	reports   map[string]int // cleaned REPORT path → line, to catch repeats
}

func (p *parse) instruction(node *parser.Node) error {
	// The parser keeps the keyword as written; instructions are
	// case-insensitive.
	kw := strings.ToLower(node.Value)
	if !slices.Contains([]string{"arg", "patch", "report", "sources", "tooling", "unresolved"}, kw) {
		return errors.Errorf("unknown instruction %q: a Patchfile takes %s", node.Value, instructions)
	}
	name := strings.ToUpper(kw)
	flags, err := parseFlags(name, node.Flags, allowedFlags[kw])
	if err != nil {
		return err
	}
	loc := node.Location()
	line := node.StartLine

	switch kw {
	case "arg":
		return p.arg(node)

	case "patch":
		if p.pf.Image.Location != nil {
			return errors.Errorf("PATCH is given twice (first on line %d): a Patchfile patches exactly one image", p.pf.Image.Location[0].Start.Line)
		}
		ref, err := p.single(name, node, "the image to patch")
		if err != nil {
			return err
		}
		if _, err := reference.ParseNormalizedNamed(ref); err != nil {
			return errors.Errorf("PATCH: invalid image reference %q: %v", ref, err)
		}
		p.pf.Image = Instruction[string]{Value: ref, Location: loc, Flags: flags}
		if p.pf.Native, err = p.boolFlag(name, node, flags, FlagNative); err != nil {
			return err
		}

	case "sources":
		if p.pf.Sources.Location != nil {
			return errors.Errorf("SOURCES is given twice (first on line %d): give one file with every source the patch needs", p.pf.Sources.Location[0].Start.Line)
		}
		raw, err := p.single(name, node, "the path of a package sources file in the build context (a .list or .sources file for apt, a .repo file for dnf, yum or zypper)")
		if err != nil {
			return err
		}
		clean, err := contextPath(raw)
		if err != nil {
			return errors.Wrap(err, "SOURCES")
		}
		p.pf.Sources = Instruction[string]{Value: clean, Location: loc, Flags: flags}
		for _, f := range []struct {
			name string
			to   *bool
		}{{FlagAdd, &p.pf.SourcesAdd}, {FlagOnly, &p.pf.SourcesOnly}, {FlagKeep, &p.pf.SourcesKeep}} {
			if *f.to, err = p.boolFlag(name, node, flags, f.name); err != nil {
				return err
			}
		}
		if p.pf.SourcesAdd && p.pf.SourcesOnly {
			return errors.New("SOURCES: --add and --only contradict each other: --add keeps the image's own sources, --only makes the file the only one")
		}

	case "report":
		raw, err := p.single(name, node, "the path of a vulnerability report in the build context")
		if err != nil {
			return err
		}
		clean, err := contextPath(raw)
		if err != nil {
			return errors.Wrap(err, "REPORT")
		}
		if first, ok := p.reports[clean]; ok {
			return errors.Errorf("REPORT: %q is already given on line %d", clean, first)
		}
		if p.reports == nil {
			p.reports = map[string]int{}
		}
		p.reports[clean] = line
		if v, ok := flags[FlagPlatform]; ok {
			v, err = p.expand(name, node, v)
			if err != nil {
				return err
			}
			plat, err := platforms.Parse(v)
			if err != nil {
				return errors.Errorf("REPORT --platform=%s: %v (want os/arch[/variant], e.g. linux/arm64)", v, err)
			}
			flags[FlagPlatform] = platforms.Format(platforms.Normalize(plat))
		}
		p.pf.Reports = append(p.pf.Reports, Instruction[string]{Value: clean, Location: loc, Flags: flags})

	case "tooling":
		if p.pf.Tooling.Location != nil {
			return errors.Errorf("TOOLING is given twice (first on line %d)", p.pf.Tooling.Location[0].Start.Line)
		}
		ref, err := p.single(name, node, "the tooling image for images that cannot run their own package manager, e.g. debian:bookworm")
		if err != nil {
			return err
		}
		if _, err := reference.ParseNormalizedNamed(ref); err != nil {
			return errors.Errorf("TOOLING: invalid image reference %q: %v", ref, err)
		}
		p.pf.Tooling = Instruction[string]{Value: ref, Location: loc, Flags: flags}

	case "unresolved":
		if p.pf.Unresolved.Location != nil {
			return errors.Errorf("UNRESOLVED is given twice (first on line %d)", p.pf.Unresolved.Location[0].Start.Line)
		}
		v, err := p.single(name, node, `"fail" or "warn"`)
		if err != nil {
			return err
		}
		pol := Policy(strings.ToLower(v))
		if pol != PolicyFail && pol != PolicyWarn {
			return errors.Errorf("UNRESOLVED: invalid value %q: valid values are %q and %q", v, PolicyFail, PolicyWarn)
		}
		p.pf.Unresolved = Instruction[Policy]{Value: pol, Location: loc, Flags: flags}
	}
	return nil
}

// boolFlag reads a flag that is on as --flag or --flag=true, off when
// absent or --flag=false.
func (p *parse) boolFlag(inst string, node *parser.Node, flags map[string]string, flag string) (bool, error) {
	v, ok := flags[flag]
	if !ok {
		return false, nil
	}
	v, err := p.expand(inst, node, v)
	if err != nil {
		return false, err
	}
	flags[flag] = v
	switch strings.ToLower(v) {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.Errorf("%s --%s=%s: want --%s, --%s=true or --%s=false", inst, flag, v, flag, flag, flag)
}

// arg declares ARGs in order, so a default may use an ARG declared earlier
// on the same line, as with Dockerfile global ARGs.
func (p *parse) arg(node *parser.Node) error {
	if node.Next == nil {
		return errors.New(`ARG needs at least one name, as in "ARG TAG" or "ARG TAG=latest"`)
	}
	for n := node.Next; n != nil; n = n.Next {
		name, def, hasDef := strings.Cut(n.Value, "=")
		if name == "" {
			return errors.Errorf("ARG: %q has no name before the \"=\"", n.Value)
		}
		if v, ok := p.buildArgs[name]; ok {
			// Build args are taken literally, as in a Dockerfile.
			p.env[name] = v
		} else if hasDef {
			v, err := p.expand("ARG", node, def)
			if err != nil {
				return err
			}
			p.env[name] = v
		} else if _, ok := p.pf.Args[name]; ok {
			// Re-declaring without a default keeps the earlier value.
			continue
		}
		// Declared without any value: recorded as "" but left out of the
		// environment, so ${NAME:-x} and ${NAME-x} both see it as unset.
		if _, seen := p.pf.Args[name]; !seen {
			p.pf.Declared = append(p.pf.Declared, ArgDecl{Name: name, Comment: strings.Join(node.PrevComment, " "), Location: node.Location()})
		}
		p.pf.Args[name] = p.env[name]
	}
	return nil
}

// single returns the one argument of PATCH, REPORT or UNRESOLVED after
// substitution. Arguments are split on unquoted whitespace before
// substitution, like Dockerfile FROM, so an ARG value containing spaces
// stays one argument (and then fails validation with a clear message).
func (p *parse) single(name string, node *parser.Node, what string) (string, error) {
	words := splitWords(argsOf(node.Original, p.escape), p.escape)
	switch len(words) {
	case 0:
		return "", errors.Errorf("%s needs one argument: %s", name, what)
	case 1:
	default:
		return "", errors.Errorf("%s takes one argument (%s) but got %d: %s", name, what, len(words), quoteAll(words))
	}
	v, err := p.expand(name, node, words[0])
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", errors.Errorf("%s needs one argument: %s, but %s expands to an empty string", name, what, words[0])
	}
	return v, nil
}

// expand substitutes ARGs in one word without splitting it, which is how a
// Dockerfile treats ARG defaults.
func (p *parse) expand(name string, node *parser.Node, word string) (string, error) {
	res, err := p.lex.ProcessWordWithMatches(word, mapEnv(p.env))
	if err != nil {
		return "", errors.Wrap(err, name)
	}
	for n := range res.Matched {
		p.pf.Used[n] = true
	}
	for n := range res.Unmatched {
		p.pf.Used[n] = true
	}
	p.warnUnset(name, node, res.Unmatched)
	return res.Result, nil
}

// warnUnset warns about references to variables no earlier ARG declares.
// They always expand to nothing, which is almost always a mistake (an ARG
// placed after its use, or a --build-arg expected to work without ARG), and
// the resulting error, if any, would otherwise be hard to trace back.
func (p *parse) warnUnset(name string, node *parser.Node, unmatched map[string]struct{}) {
	names := make([]string, 0, len(unmatched))
	for n := range unmatched {
		if _, declared := p.pf.Args[n]; !declared {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		msg := fmt.Sprintf("%s uses $%s, but no ARG declares it, so it is always unset; declare it with \"ARG %s\" before line %d", name, n, n, node.StartLine)
		if l, ok := p.argLines[n]; ok && l >= node.StartLine {
			msg = fmt.Sprintf("%s uses $%s before its ARG on line %d, so it is unset here; move the ARG above line %d", name, n, l, node.StartLine)
		}
		p.pf.Warnings = append(p.pf.Warnings, Warning{Message: msg, Location: node.Location()})
	}
}

// argLines finds every ARG name up front, so a use before the declaration
// can be reported with a precise hint.
func argLines(nodes []*parser.Node) map[string]int {
	m := map[string]int{}
	for _, node := range nodes {
		if !strings.EqualFold(node.Value, "arg") {
			continue
		}
		for n := node.Next; n != nil; n = n.Next {
			name, _, _ := strings.Cut(n.Value, "=")
			if _, ok := m[name]; !ok {
				m[name] = node.StartLine
			}
		}
	}
	return m
}

// contextPath validates a REPORT path: the frontend reads it from the build
// context, which has no absolute paths and nothing above its root.
func contextPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if path.IsAbs(p) {
		return "", errors.Errorf("path %q is absolute; paths are relative to the build context", p)
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", errors.Errorf("path %q points outside the build context", p)
	}
	if clean == "." {
		return "", errors.Errorf("path %q is the build context itself, not a file", p)
	}
	return clean, nil
}
