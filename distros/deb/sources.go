package deb

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/copa/frontend/distros"
)

// Apt source locations an image may use. sources.list and .list files use
// the one-line format, .sources files the deb822 format.
const (
	SourcesList    = "/etc/apt/sources.list"
	SourcesPartDir = "/etc/apt/sources.list.d"
)

var codenamePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

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

// Release is the apt view of a Debian or Ubuntu release.
type Release struct {
	Distro   string // "debian" or "ubuntu"
	Codename string
}

// ReleaseOf finds the apt release of an image from its os-release.
func ReleaseOf(osr distros.OSRelease) (Release, error) {
	var r Release
	switch {
	case osr.ID == "ubuntu" || osr.Is("ubuntu"):
		r.Distro = "ubuntu"
	case osr.Is("debian"):
		r.Distro = "debian"
	default:
		return r, fmt.Errorf("%s is not a Debian or Ubuntu release", osr)
	}
	r.Codename = osr.VersionCodename
	if r.Codename != "" && !codenamePattern.MatchString(r.Codename) {
		return r, fmt.Errorf("os-release VERSION_CODENAME %q is not a release codename", distros.Clip(r.Codename))
	}
	return r, nil
}

// ExtraSources returns the official security and updates suites of the
// release that the image's own sources lack, as one-line apt sources, and
// their suite names. Nothing is returned when the codename is unknown (the
// image must then carry its own sources) or when every suite is present.
func ExtraSources(r Release, arch string, configured []string) (list string, added []string) {
	if r.Codename == "" {
		return "", nil
	}
	type src struct{ uri, suite, components string }
	var want []src
	switch r.Distro {
	case "debian":
		security := r.Codename + "-security"
		if slices.Contains([]string{"jessie", "stretch", "buster"}, r.Codename) {
			security = r.Codename + "/updates" // before Debian 11 the suite had this name
		}
		want = []src{
			{"http://deb.debian.org/debian-security", security, "main"},
			{"http://deb.debian.org/debian", r.Codename + "-updates", "main"},
		}
	case "ubuntu":
		archive, security := "http://archive.ubuntu.com/ubuntu", "http://security.ubuntu.com/ubuntu"
		if arch != "amd64" && arch != "386" {
			archive, security = "http://ports.ubuntu.com/ubuntu-ports", "http://ports.ubuntu.com/ubuntu-ports"
		}
		comps := "main restricted universe multiverse"
		want = []src{
			{security, r.Codename + "-security", comps},
			{archive, r.Codename + "-updates", comps},
		}
	}
	var b strings.Builder
	for _, w := range want {
		if slices.Contains(configured, w.suite) {
			continue
		}
		fmt.Fprintf(&b, "deb %s %s %s\n", w.uri, w.suite, w.components)
		added = append(added, w.suite)
	}
	return b.String(), added
}
