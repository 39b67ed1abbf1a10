package deb

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
)

// Apt source locations an image may use. sources.list and .list files use
// the one-line format, .sources files the deb822 format.
const (
	SourcesList    = "/etc/apt/sources.list"
	SourcesPartDir = "/etc/apt/sources.list.d"
)

// Suites returns every suite that the image's apt sources name for binary
// packages ("bookworm", "bookworm-security", ...). files maps a file name
// (SourcesList or a file of SourcesPartDir) to its content.
func Suites(files map[string][]byte) []string {
	var suites []string
	add := func(s string) {
		s = strings.TrimSuffix(s, "/")
		if s != "" && !slices.Contains(suites, s) {
			suites = append(suites, s)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		data := files[name]
		switch {
		case strings.HasSuffix(name, ".sources"):
			for _, st := range ParseControl(data) {
				types, _ := st.Value("Types")
				enabled, _ := st.Value("Enabled")
				suites, _ := st.Value("Suites")
				if !slices.Contains(strings.Fields(types), "deb") || strings.EqualFold(enabled, "no") {
					continue
				}
				for _, s := range strings.Fields(suites) {
					add(s)
				}
			}
		default:
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				f := oneLineFields(sc.Text())
				if len(f) >= 3 && f[0] == "deb" {
					add(f[2])
				}
			}
		}
	}
	return suites
}

// oneLineFields splits a one-line-format source entry, dropping comments and
// the optional [options] block.
func oneLineFields(line string) []string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	if i := strings.IndexByte(line, '['); i >= 0 {
		if j := strings.IndexByte(line[i:], ']'); j >= 0 {
			line = line[:i] + line[i+j+1:]
		}
	}
	return strings.Fields(line)
}

// CheckSources checks a SOURCES file for apt: a one-line-format .list or
// a deb822 .sources file, with at least one binary ("deb") source and
// every entry complete.
func (Format) CheckSources(s distros.Sources) error {
	if err := distros.ValidSourcesName(s.Name, "list", "sources"); err != nil {
		return err
	}
	if len(s.Data) > distros.MaxSourcesFile {
		return fmt.Errorf("%s is larger than %d bytes", s.Name, distros.MaxSourcesFile)
	}
	if !utf8.Valid(s.Data) || bytes.IndexByte(s.Data, 0) >= 0 {
		return fmt.Errorf("%s is not a text file", s.Name)
	}
	binary := 0
	if strings.HasSuffix(s.Name, ".sources") {
		for i, st := range ParseControl(s.Data) {
			if v, _ := st.Value("Enabled"); strings.EqualFold(v, "no") {
				continue
			}
			for _, k := range []string{"Types", "URIs", "Suites"} {
				if v, _ := st.Value(k); strings.TrimSpace(v) == "" {
					return fmt.Errorf("%s: stanza %d has no %s field (a deb822 source needs Types, URIs and Suites; see sources.list(5))", s.Name, i+1, k)
				}
			}
			types, _ := st.Value("Types")
			for _, t := range strings.Fields(types) {
				if t != "deb" && t != "deb-src" {
					return fmt.Errorf("%s: stanza %d: unknown type %q (want deb or deb-src)", s.Name, i+1, distros.Clip(t))
				}
			}
			if slices.Contains(strings.Fields(types), "deb") {
				binary++
			}
		}
	} else {
		for i, line := range strings.Split(string(s.Data), "\n") {
			f := oneLineFields(line)
			if len(f) == 0 {
				continue
			}
			if f[0] != "deb" && f[0] != "deb-src" {
				return fmt.Errorf("%s, line %d: %q is not a source entry (want \"deb [options] URI SUITE [COMPONENT...]\")", s.Name, i+1, distros.Clip(strings.TrimSpace(line)))
			}
			if len(f) < 3 {
				return fmt.Errorf("%s, line %d: an entry needs a URI and a suite (\"deb [options] URI SUITE [COMPONENT...]\")", s.Name, i+1)
			}
			if f[0] == "deb" {
				binary++
			}
		}
	}
	if binary == 0 {
		return fmt.Errorf("%s names no binary package source (no enabled \"deb\" entry)", s.Name)
	}
	return nil
}
