package rpm

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
)

// CheckSources checks a SOURCES file for the rpm managers: a .repo file
// in dnf.conf(5) form (zypper reads the same), every repository section
// with an id the managers take and a baseurl, mirrorlist or metalink.
func (Format) CheckSources(s distros.Sources) error {
	if err := distros.ValidSourcesName(s.Name, "repo"); err != nil {
		return err
	}
	if len(s.Data) > distros.MaxSourcesFile {
		return fmt.Errorf("%s is larger than %d bytes", s.Name, distros.MaxSourcesFile)
	}
	if !utf8.Valid(s.Data) || bytes.IndexByte(s.Data, 0) >= 0 {
		return fmt.Errorf("%s is not a text file", s.Name)
	}
	type section struct {
		id   string
		line int
		url  bool
	}
	var sections []section
	for i, raw := range strings.Split(string(s.Data), "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			id, ok := strings.CutSuffix(line[1:], "]")
			if !ok || !validRepoID(id) {
				return fmt.Errorf("%s, line %d: %q is not a repository section (want [ID], the ID of letters, digits and -_.:)", s.Name, i+1, distros.Clip(line))
			}
			sections = append(sections, section{id: id, line: i + 1})
		case raw[0] == ' ' || raw[0] == '\t':
			// A continuation line of the key above (a list of baseurls).
			if len(sections) == 0 {
				return fmt.Errorf("%s, line %d: a value outside any [repository] section", s.Name, i+1)
			}
		default:
			key, _, ok := strings.Cut(line, "=")
			if !ok {
				return fmt.Errorf("%s, line %d: %q is not KEY=VALUE", s.Name, i+1, distros.Clip(line))
			}
			if len(sections) == 0 {
				return fmt.Errorf("%s, line %d: %q is outside any [repository] section", s.Name, i+1, distros.Clip(line))
			}
			switch strings.ToLower(strings.TrimSpace(key)) {
			case "baseurl", "mirrorlist", "metalink":
				sections[len(sections)-1].url = true
			}
		}
	}
	if len(sections) == 0 {
		return fmt.Errorf("%s has no [repository] section", s.Name)
	}
	for _, sec := range sections {
		if !sec.url {
			return fmt.Errorf("%s, line %d: repository %q has no baseurl, mirrorlist or metalink", s.Name, sec.line, sec.id)
		}
	}
	return nil
}

func validRepoID(id string) bool {
	if id == "" || len(id) > 100 || id == "main" {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}
