package deb

import (
	"bytes"
	"strings"
)

// StatusPath is dpkg's database of installed packages.
const StatusPath = "/var/lib/dpkg/status"

// StatusDir is the distroless form of the dpkg database: one file per
// package (or group of packages), each holding control stanzas, often
// without a Status field, next to optional NAME.md5sums files.
const StatusDir = "/var/lib/dpkg/status.d"

// DBLayout is the form of an image's dpkg database: the frontend reads
// the installed packages from it and the install step writes the upgraded
// ones to it, so both sides must pick the same one (ChooseLayout).
type DBLayout int

// The database layouts.
const (
	// DBNone: neither a non-empty status file nor a status.d file.
	DBNone DBLayout = iota
	// DBStatus: the status file, with the package files in info/.
	DBStatus
	// DBStatusD: status.d, one file of stanzas per package or group of
	// packages, each with an optional .md5sums beside it.
	DBStatusD
)

func (l DBLayout) String() string {
	switch l {
	case DBStatus:
		return "status"
	case DBStatusD:
		return "status.d"
	}
	return "none"
}

// ChooseLayout is the one rule for which database an image has: a
// non-empty status file wins, because dpkg itself reads only that one; an
// image with both is a full Debian image with status.d leftovers. status.d
// counts only when status is missing or empty (see StatusNonEmpty) and
// has database files (see IsStatusDFile). statusDFiles is not consulted
// when statusNonEmpty is true, so callers need not list status.d then.
func ChooseLayout(statusNonEmpty bool, statusDFiles int) DBLayout {
	switch {
	case statusNonEmpty:
		return DBStatus
	case statusDFiles > 0:
		return DBStatusD
	}
	return DBNone
}

// StatusNonEmpty reports whether a status file's content holds anything
// but blanks.
func StatusNonEmpty(data []byte) bool {
	return len(bytes.TrimSpace(data)) > 0
}

// IsStatusDFile reports whether a name in status.d is a database file:
// every name but the .md5sums beside them and hidden files.
func IsStatusDFile(name string) bool {
	return !strings.HasSuffix(name, ".md5sums") && !strings.HasPrefix(name, ".")
}

// Installed reports whether a stanza of a database file of layout l is an
// installed package: its Status says "installed" ("install ok installed",
// "hold ok installed", ...). In status.d a stanza without a Status, or
// with an empty one, counts as installed: image builders that write
// status.d copy a package's control file, which has none, and scanners
// read it so.
func (l DBLayout) Installed(s Stanza) bool {
	name, _ := s.FirstLine("Package")
	if name == "" {
		return false
	}
	status, _ := s.FirstLine("Status")
	if status == "" && l == DBStatusD {
		return true
	}
	return strings.HasSuffix(status, " installed")
}
