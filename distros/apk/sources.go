package apk

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
)

var (
	// repoTag is a repository's tag, "@edge": apk installs from a tagged
	// repository only the packages the world pins to it (name@edge).
	repoTag = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// repoURL is a remote repository, of the schemes apk's libfetch
	// speaks, with a host.
	repoURL = regexp.MustCompile(`^(https?|ftp|file)://[^/\s]*[^\s]*$`)
)

// CheckSources checks a SOURCES file for apk: a .list file, the ending
// apk reads in /etc/apk/repositories.d (so that SOURCES --keep leaves a
// file apk reads), in /etc/apk/repositories' form: one repository per
// line, a URL or an absolute path, optionally after a tag ("@edge URL");
// comments start a line with '#'. Anything else is refused, naming the
// line: apk 2 takes a whole line after its tag as the URL, blanks
// included, and apk 3's other line forms (v2/v3 types, "set") are not
// read by apk 2.
func (Format) CheckSources(s distros.Sources) error {
	if err := distros.ValidSourcesName(s.Name, "list"); err != nil {
		return err
	}
	if len(s.Data) > distros.MaxSourcesFile {
		return fmt.Errorf("%s is larger than %d bytes", s.Name, distros.MaxSourcesFile)
	}
	if !utf8.Valid(s.Data) || bytes.IndexByte(s.Data, 0) >= 0 {
		return fmt.Errorf("%s is not a text file", s.Name)
	}
	repos := 0
	for i, line := range strings.Split(string(s.Data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if err := checkRepositoryLine(line); err != nil {
			return fmt.Errorf("%s, line %d: %q: %w", s.Name, i+1, distros.Clip(line), err)
		}
		repos++
	}
	if repos == 0 {
		return fmt.Errorf("%s names no repository (want lines of \"[@TAG ]URL\", as /etc/apk/repositories)", s.Name)
	}
	return nil
}

// checkRepositoryLine accepts one line of a repositories file that is not
// blank or a comment.
func checkRepositoryLine(line string) error {
	if strings.TrimSpace(line) != line {
		return fmt.Errorf("blanks around the repository: apk reads them as part of it (a comment starts the line with '#')")
	}
	for _, r := range line {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("a control character")
		}
	}
	repo := line
	if line[0] == '@' {
		tag, rest, ok := strings.Cut(line, " ")
		if !ok || !repoTag.MatchString(tag) {
			return fmt.Errorf("not \"@TAG URL\" (a tag is '@' and letters, digits, '.', '_', '-')")
		}
		repo = strings.TrimLeft(rest, " ")
	}
	switch {
	case strings.ContainsAny(repo, " "):
		return fmt.Errorf("more than one word: want one repository per line (\"[@TAG ]URL\"; apk 3's \"v2 URL COMPONENT\" form is not read by apk 2)")
	case strings.HasPrefix(repo, "/"):
		return nil
	case !repoURL.MatchString(repo):
		return fmt.Errorf("not a repository URL (http, https, ftp or file) or an absolute path")
	}
	return nil
}
