package distros

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// OSRelease is the part of os-release(5) that decides how an image is patched.
type OSRelease struct {
	ID              string   // "debian", "ubuntu", ...
	IDLike          []string // ID_LIKE, for derivatives
	VersionID       string   // "12", "22.04"
	VersionCodename string   // "bookworm"; empty on images that do not set it
	PrettyName      string
}

// ParseOSRelease reads an os-release file. Unknown keys and malformed lines are
// ignored, as systemd does, because images carry hand-edited files.
func ParseOSRelease(data []byte) OSRelease {
	var r OSRelease
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = unquote(v)
		switch k {
		case "ID":
			r.ID = strings.ToLower(v)
		case "ID_LIKE":
			r.IDLike = strings.Fields(strings.ToLower(v))
		case "VERSION_ID":
			r.VersionID = v
		case "VERSION_CODENAME":
			r.VersionCodename = v
		case "PRETTY_NAME":
			r.PrettyName = v
		}
	}
	return r
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		if v[0] == '"' {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
		}
		return v[1 : len(v)-1]
	}
	return v
}

// Is reports whether the release is id or derives from it.
func (r OSRelease) Is(id string) bool {
	if r.ID == id {
		return true
	}
	for _, l := range r.IDLike {
		if l == id {
			return true
		}
	}
	return false
}

// String names the release for messages, e.g. "debian 12 (bookworm)".
func (r OSRelease) String() string {
	s := r.ID
	if r.VersionID != "" {
		s += " " + r.VersionID
	}
	if r.VersionCodename != "" {
		s += " (" + r.VersionCodename + ")"
	}
	if s == "" {
		return "an unknown OS"
	}
	return s
}
