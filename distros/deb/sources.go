package deb

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
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
