package rpmstep

import (
	"testing"

	"github.com/copa/frontend/distros/rpm/rpmdb"
)

func TestDiff(t *testing.T) {
	h := func(name, arch, v string) rpmdb.Header {
		return rpmdb.Header{Name: name, Arch: arch, Version: v, Release: "1"}
	}
	before := []rpmdb.Header{
		h("libcore", "x86_64", "1.0"), h("libcore", "i686", "1.0"), // multilib
		h("kernel", "x86_64", "5.14"), // install-only: the new one comes beside it
		h("tool", "x86_64", "2.0"),
		h("data", "x86_64", "3.0"), // became noarch
		h("same", "noarch", "1.0"),
	}
	after := []rpmdb.Header{
		h("libcore", "x86_64", "1.1"), h("libcore", "i686", "1.1"),
		h("kernel", "x86_64", "5.14"), h("kernel", "x86_64", "5.15"),
		h("tool", "x86_64", "2.1"),
		h("data", "noarch", "3.1"),
		h("same", "noarch", "1.0"),
		h("newdep", "x86_64", "1.0"),
	}
	got := Diff(before, after)
	want := []struct{ name, arch, old string }{
		{"libcore", "x86_64", "1.0-1"}, {"libcore", "i686", "1.0-1"},
		{"kernel", "x86_64", ""},
		{"tool", "x86_64", "2.0-1"},
		{"data", "noarch", "3.0-1"},
		{"newdep", "x86_64", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		old := ""
		if g.Old != nil {
			old = g.Old.EVR()
			if g.Old.Arch != w.arch && w.name != "data" {
				t.Errorf("%s.%s: old record is of arch %s", w.name, w.arch, g.Old.Arch)
			}
		}
		if g.New.Name != w.name || g.New.Arch != w.arch || old != w.old {
			t.Errorf("change %d: %s.%s from %q, want %s.%s from %q", i, g.New.Name, g.New.Arch, old, w.name, w.arch, w.old)
		}
	}
}
