package vex

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"
)

// CanonicalID returns the @id go-vex's GenerateCanonicalID would give doc,
// https://openvex.dev/docs/public/vex-<CanonicalHash>, without changing doc.
//
// go-vex v0.2.9 builds CanonicalHash's input with += per statement, which
// copies the whole string each time: quadratic in the statements (49 s for
// 20,000 of them). CanonicalID streams the same bytes into SHA-256 instead,
// so it is linear after the O(n log n) sort; TestCanonicalIDMatchesGoVex
// holds the two equal.
//
// The one deliberate difference: go-vex walks a component's Hashes and
// Identifiers maps in Go's random map order, so its hash of a component
// with more than one of either is not reproducible; CanonicalID takes them
// in key order. The documents Document writes carry neither.
func CanonicalID(doc *govex.VEX) (string, error) {
	if doc.ID != "" {
		return doc.ID, nil
	}
	h, err := CanonicalHash(doc)
	if err != nil {
		return "", err
	}
	return govex.DefaultNamespace + "/public/vex-" + h, nil
}

// CanonicalHash is go-vex's (*VEX).CanonicalHash in linear time, leaving
// doc's statements in their order (go-vex sorts them in place); see
// CanonicalID.
func CanonicalHash(doc *govex.VEX) (string, error) {
	if doc.Timestamp == nil {
		return "", fmt.Errorf("document timestamp is required to compute canonical hash")
	}
	docTime := doc.Timestamp.Unix()
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			io.WriteString(h, p) // a hash.Hash never fails to write
		}
	}
	w(strconv.FormatInt(docTime, 10), ":", strconv.Itoa(doc.Version), ":", doc.Author)

	// The order of go-vex's SortStatements: by vulnerability name, then
	// statement time; stable, so equal keys keep the document's order, as
	// sort.SliceStable does there.
	order := make([]int, len(doc.Statements))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		sa, sb := &doc.Statements[a], &doc.Statements[b]
		if c := strings.Compare(string(sa.Vulnerability.Name), string(sb.Vulnerability.Name)); c != 0 {
			return c
		}
		ta, tb := sortTime(sa, doc), sortTime(sb, doc)
		switch {
		case ta.Before(tb):
			return -1
		case tb.Before(ta):
			return 1
		}
		return 0
	})

	var prods []string
	var sb strings.Builder
	for _, i := range order {
		s := &doc.Statements[i]
		v := s.Vulnerability
		aliases := make([]string, len(v.Aliases))
		for j, a := range v.Aliases {
			aliases[j] = string(a)
		}
		slices.Sort(aliases)
		w(":", string(v.ID), ":", string(v.Name), ":", strings.Join(aliases, ":"))
		w(":", string(s.Status), ":", string(s.Justification))
		if s.Timestamp != nil {
			w(":", strconv.FormatInt(s.Timestamp.Unix(), 10))
		} else {
			w(":", strconv.FormatInt(docTime, 10))
		}
		prods = prods[:0]
		for _, p := range s.Products {
			sb.Reset()
			writeComponent(&sb, p.Component)
			for _, sc := range p.Subcomponents {
				writeComponent(&sb, sc.Component)
			}
			prods = append(prods, sb.String())
		}
		slices.Sort(prods)
		writeJoined(h, prods, ":")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sortTime is the time go-vex's SortStatements orders a statement by: its
// own, or the document's when it has none.
func sortTime(s *govex.Statement, doc *govex.VEX) time.Time {
	if s.Timestamp == nil || s.Timestamp.IsZero() {
		return *doc.Timestamp
	}
	return *s.Timestamp
}

// writeComponent writes go-vex's cstringFromComponent of c.
func writeComponent(sb *strings.Builder, c govex.Component) {
	sb.WriteString(":")
	sb.WriteString(c.ID)
	for _, algo := range slices.Sorted(maps.Keys(c.Hashes)) {
		fmt.Fprintf(sb, ":%s@%s", algo, c.Hashes[algo])
	}
	for _, t := range slices.Sorted(maps.Keys(c.Identifiers)) {
		fmt.Fprintf(sb, ":%s@%s", t, c.Identifiers[t])
	}
}

func writeJoined(h hash.Hash, list []string, sep string) {
	for i, s := range list {
		if i > 0 {
			io.WriteString(h, sep)
		}
		io.WriteString(h, s)
	}
}
