package deb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/copa/frontend/distros"
)

// readOutcome interprets what apt-patch.sh or tooling-patch.sh left in
// its notes directory.
func readOutcome(ctx context.Context, notes distros.FS) (*distros.Outcome, error) {
	o := &distros.Outcome{}
	read := func(name string) ([][]string, error) {
		ok, err := notes.Exists(ctx, "/"+name)
		if err != nil || !ok {
			return nil, err
		}
		dt, err := notes.ReadFile(ctx, "/"+name)
		if err != nil {
			return nil, err
		}
		var rows [][]string
		sc := bufio.NewScanner(bytes.NewReader(dt))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 {
				rows = append(rows, f)
			}
		}
		return rows, sc.Err()
	}
	rows, err := read("added-suites")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		o.AddedSources = append(o.AddedSources, r[0])
	}
	if rows, err = read("unresolved"); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if len(r) != 3 {
			return nil, fmt.Errorf("apt step wrote a malformed unresolved line %q", strings.Join(r, " "))
		}
		best := r[2]
		if best == "(none)" {
			best = ""
		}
		o.Unresolved = append(o.Unresolved, distros.Unresolved{Name: r[0], Want: r[1], Best: best})
	}
	if rows, err = read("upgrades"); err != nil {
		return nil, err
	}
	v := Versioning{}
	for _, r := range rows {
		if len(r) != 2 || v.ValidName(r[0]) != nil || v.ValidVersion(r[1]) != nil {
			return nil, fmt.Errorf("apt step wrote a malformed upgrade line %q", strings.Join(r, " "))
		}
		o.Upgrades = append(o.Upgrades, distros.Update{Name: r[0], Fixed: r[1]})
	}
	if rows, err = read("install-notes"); err != nil {
		return nil, err
	}
	scripts, kept := []string{}, []string{}
	for _, r := range rows {
		switch {
		case len(r) == 3 && r[0] == "scripts":
			scripts = append(scripts, fmt.Sprintf("%s (%s)", r[1], strings.ReplaceAll(r[2], ",", ", ")))
		case len(r) == 3 && r[0] == "conffile-kept":
			kept = append(kept, fmt.Sprintf("%s of %s", r[2], r[1]))
		default:
			return nil, fmt.Errorf("install helper wrote a malformed note %q", strings.Join(r, " "))
		}
	}
	if len(scripts) > 0 {
		o.Warnings = append(o.Warnings, fmt.Sprintf("the maintainer scripts of %d updated package(s) were not run, because the image cannot run them: %s; their files are installed and the package database is updated (see docs/distroless.md)",
			len(scripts), strings.Join(scripts, "; ")))
	}
	if len(kept) > 0 {
		o.Warnings = append(o.Warnings, fmt.Sprintf("kept the image's own version of %d configuration file(s) that differ from the packaged ones: %s", len(kept), strings.Join(kept, ", ")))
	}
	return o, nil
}
