package main

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"
)

// identity is the index's C: value: "Q1" and the base64 SHA-1 of the
// control stream, which is what apk computes while it reads a package
// (apk_sign_ctx_mpart_cb) and compares with the index before installing.
func identity(control []byte) string {
	sum := sha1.Sum(control)
	return "Q1" + base64.StdEncoding.EncodeToString(sum[:])
}

// indexText is the APKINDEX file: one entry per package in the field order
// of apk_pkg_write_index_header (src/package.c), each ended by a blank line,
// sorted by name as apk index sorts them; versions of one name keep the
// spec's order.
func indexText(pkgs []*built, defArch string) string {
	sorted := append([]*built(nil), pkgs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].pkg.Name < sorted[j].pkg.Name })
	var b strings.Builder
	for _, bp := range sorted {
		p := bp.pkg
		line := func(k, v string) { fmt.Fprintf(&b, "%s:%s\n", k, v) }
		line("C", identity(bp.control))
		line("P", p.Name)
		line("V", p.Version)
		line("A", p.arch(defArch))
		line("S", fmt.Sprint(len(bp.apk)))
		line("I", fmt.Sprint(bp.installedSize))
		line("T", p.Description)
		line("U", p.URL)
		line("L", p.License)
		line("o", p.origin())
		if p.Maintainer != "" {
			line("m", p.Maintainer)
		}
		line("t", fmt.Sprint(bp.buildDate))
		if p.Commit != "" {
			line("c", p.Commit)
		}
		for _, dl := range []struct {
			key  string
			deps []string
		}{{"D", p.Depends}, {"p", p.Provides}, {"i", p.InstallIf}} {
			if len(dl.deps) > 0 {
				line(dl.key, strings.Join(dl.deps, " "))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// buildIndex makes APKINDEX.tar.gz: a signature stream over the SHA-256 of
// the index stream, then the index stream, a tar (with end blocks) of
// DESCRIPTION, when the spec has one, and APKINDEX, as apk index writes it.
func buildIndex(s *Spec, pkgs []*built, sg *signer, mtime time.Time) ([]byte, error) {
	var entries []tarEntry
	if s.Description != "" {
		entries = append(entries, tarEntry{fileHeader("DESCRIPTION", 0o644, len(s.Description), mtime), []byte(s.Description)})
	}
	text := indexText(pkgs, s.Arch)
	entries = append(entries, tarEntry{fileHeader("APKINDEX", 0o644, len(text), mtime), []byte(text)})
	index, err := tarGzip(entries, true)
	if err != nil {
		return nil, err
	}
	sig, err := sg.signatureStream(index, mtime)
	if err != nil {
		return nil, err
	}
	return append(sig, index...), nil
}
