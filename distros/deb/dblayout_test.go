package deb

import "testing"

func TestChooseLayout(t *testing.T) {
	tests := []struct {
		statusNonEmpty bool
		statusDFiles   int
		want           DBLayout
	}{
		{false, 0, DBNone},
		{false, 1, DBStatusD},
		{false, 40, DBStatusD},
		{true, 0, DBStatus},
		{true, 3, DBStatus}, // both: dpkg reads only status
	}
	for _, tt := range tests {
		if got := ChooseLayout(tt.statusNonEmpty, tt.statusDFiles); got != tt.want {
			t.Errorf("ChooseLayout(%v, %d) = %v, want %v", tt.statusNonEmpty, tt.statusDFiles, got, tt.want)
		}
	}
	for l, s := range map[DBLayout]string{DBNone: "none", DBStatus: "status", DBStatusD: "status.d"} {
		if l.String() != s {
			t.Errorf("%d.String() = %q, want %q", l, l.String(), s)
		}
	}
}

func TestStatusNonEmptyAndStatusDFile(t *testing.T) {
	for data, want := range map[string]bool{"": false, "\n": false, " \t\r\n\n": false, "Package: a\n": true, "\n#\n": true} {
		if got := StatusNonEmpty([]byte(data)); got != want {
			t.Errorf("StatusNonEmpty(%q) = %v, want %v", data, got, want)
		}
	}
	for name, want := range map[string]bool{"libc6": true, "base": true, "libc6.md5sums": false, ".hidden": false, ".copa-1-0": false, "md5sums": true} {
		if got := IsStatusDFile(name); got != want {
			t.Errorf("IsStatusDFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDBLayoutInstalled(t *testing.T) {
	tests := []struct {
		stanza          string
		status, statusD bool
	}{
		{"Package: a\nStatus: install ok installed\n", true, true},
		{"Package: a\nStatus: hold ok installed\n", true, true},
		{"Package: a\nstatus: deinstall ok installed\n", true, true},
		{"Package: a\nStatus: deinstall ok config-files\n", false, false},
		{"Package: a\nStatus: install ok half-installed\n", false, false},
		{"Package: a\nVersion: 1\n", false, true}, // a control file copied into status.d
		{"Package: a\nStatus:\n", false, true},
		{"Version: 1\nStatus: install ok installed\n", false, false}, // no name
	}
	for _, tt := range tests {
		s := ParseControl([]byte(tt.stanza))[0]
		if got := DBStatus.Installed(s); got != tt.status {
			t.Errorf("DBStatus.Installed(%q) = %v", tt.stanza, got)
		}
		if got := DBStatusD.Installed(s); got != tt.statusD {
			t.Errorf("DBStatusD.Installed(%q) = %v", tt.stanza, got)
		}
	}
}
