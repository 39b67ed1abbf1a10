package distros

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// HelperCommand is a subcommand of the frontend binary that patch steps
// run from the frontend image (cmd/frontend). Methods bring their own.
type HelperCommand struct {
	Name string
	// Usage is the argument synopsis, e.g. "STAGING TARGET NOTES".
	Usage string
	// Args is the exact number of arguments.
	Args int
	// Run does the work. Its standard output is the step's log, so it
	// reaches the build's progress output.
	Run func(args []string) error
}

// Registry is every format, method and helper command the frontend
// knows. The frontend asks it, and names none of them itself.
type Registry struct {
	formats []Format
	methods []Method
	helpers []HelperCommand
}

// Entries are what a Registry is made of. Methods are tried in order, so
// the more capable method of a format comes first.
type Entries struct {
	Formats []Format
	Methods []Method
	Helpers []HelperCommand
}

// NewRegistry checks the entries against each other: every method's
// format and every distro is listed once, and helper names are unique.
func NewRegistry(e Entries) (*Registry, error) {
	ids := map[string]string{}
	families := map[string]string{}
	for _, f := range e.Formats {
		for _, d := range f.Distros() {
			if prev, dup := ids[d.ID]; dup {
				return nil, fmt.Errorf("distro %q is listed by formats %s and %s", d.ID, prev, f.Name())
			}
			ids[d.ID] = f.Name()
			for _, fam := range d.Families {
				if prev, dup := families[fam]; dup {
					return nil, fmt.Errorf("scanner family %q is listed by %s and %s", fam, prev, d.ID)
				}
				families[fam] = d.ID
			}
		}
	}
	for _, m := range e.Methods {
		if !slices.ContainsFunc(e.Formats, func(f Format) bool { return f.Name() == m.Format().Name() }) {
			return nil, fmt.Errorf("method %s installs %s packages, a format the registry does not list", m.Name(), m.Format().Name())
		}
	}
	seen := map[string]bool{}
	for _, h := range e.Helpers {
		if seen[h.Name] {
			return nil, fmt.Errorf("helper command %q is listed twice", h.Name)
		}
		seen[h.Name] = true
	}
	return &Registry{formats: e.Formats, methods: e.Methods, helpers: e.Helpers}, nil
}

// MustRegistry is NewRegistry for a registry written in code, where a
// mistake is the program's.
func MustRegistry(e Entries) *Registry {
	r, err := NewRegistry(e)
	if err != nil {
		panic(err)
	}
	return r
}

// Formats lists the formats.
func (r *Registry) Formats() []Format { return r.formats }

// Methods lists the methods, in the order they are tried.
func (r *Registry) Methods() []Method { return r.methods }

// Helpers lists the helper commands.
func (r *Registry) Helpers() []HelperCommand { return r.helpers }

// Helper returns the helper command called name.
func (r *Registry) Helper(name string) (HelperCommand, bool) {
	i := slices.IndexFunc(r.helpers, func(h HelperCommand) bool { return h.Name == name })
	if i < 0 {
		return HelperCommand{}, false
	}
	return r.helpers[i], true
}

// ForFamily returns the format and distro a report's OS family names.
func (r *Registry) ForFamily(family string) (Format, Distro, bool) {
	for _, f := range r.formats {
		for _, d := range f.Distros() {
			if slices.Contains(d.Families, family) {
				return f, d, true
			}
		}
	}
	return nil, Distro{}, false
}

// ForOS returns the format and distro of an image's release.
func (r *Registry) ForOS(osr OSRelease) (Format, Distro, bool) {
	for _, byID := range []bool{true, false} {
		for _, f := range r.formats {
			if d, ok := DistroOf(f, osr); ok && (!byID || d.ID == osr.ID) {
				return f, d, true
			}
		}
	}
	return nil, Distro{}, false
}

// FamilyMatches reports whether a report's OS family is the image's
// distro. A family the registry does not know is compared with the
// os-release IDs as it is.
func (r *Registry) FamilyMatches(family string, osr OSRelease) bool {
	if _, d, ok := r.ForFamily(family); ok {
		return d.Matches(osr)
	}
	return osr.Is(family)
}

// Detect returns the first method that patches the image. With native
// set, only tooling methods are asked (DetectNative), because nothing of
// the image may run. When none does, the error says why, in the words of
// the image's format.
func (r *Registry) Detect(ctx context.Context, root FS, osr OSRelease, native bool) (Method, error) {
	f, _, ok := r.ForOS(osr)
	if !ok {
		return nil, fmt.Errorf("the image is %s; copa/frontend patches %s images", osr, r.patchable())
	}
	var tried []string
	for _, m := range r.methods {
		if m.Format().Name() != f.Name() {
			continue
		}
		detect := m.Detect
		if native {
			tm, ok := m.(ToolingMethod)
			if !ok {
				continue
			}
			detect = tm.DetectNative
		}
		tried = append(tried, m.Name())
		ok, err := detect(ctx, root, osr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name(), err)
		}
		if ok {
			return m, nil
		}
	}
	pf, isPatch := f.(PatchFormat)
	if native && isPatch && len(tried) == 0 {
		return nil, fmt.Errorf("the image is %s, but no %s method patches it without running the image's own tools", osr, f.Name())
	}
	if !isPatch || len(tried) == 0 {
		return nil, fmt.Errorf("the image is %s, whose packages are %s packages: copa/frontend does not patch those yet (it patches %s images)", osr, f.Name(), r.patchable())
	}
	if _, err := pf.Installed(ctx, root); err != nil {
		return nil, fmt.Errorf("the image is %s, but %w: there is nothing to patch it against", osr, err)
	}
	return nil, fmt.Errorf("the image is %s and has a %s package database, but no method (%s) can patch it", osr, f.Name(), strings.Join(tried, ", "))
}

// patchable names the distros that some method patches, for messages.
func (r *Registry) patchable() string {
	var names []string
	for _, f := range r.formats {
		if !slices.ContainsFunc(r.methods, func(m Method) bool { return m.Format().Name() == f.Name() }) {
			continue
		}
		for _, d := range f.Distros() {
			names = append(names, d.ID)
		}
	}
	if len(names) == 0 {
		return "no"
	}
	return strings.Join(names, ", ")
}
