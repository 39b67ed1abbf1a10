package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// The readers walk a report's big arrays (Trivy's Results and their
// Vulnerabilities, Grype's matches) in place with the functions here,
// decoding one entry at a time from a sub-slice of the report. Holding the
// arrays as json.RawMessage, and reading them through a json.Decoder, made
// a copy of nearly the whole report at each level (a 40 MB report took
// 260 MiB); walking the bytes the caller already holds keeps the reader's
// memory at the report plus the findings, and still lets the number of
// entries be bounded before they are decoded.
//
// They rely on the report's syntax having been checked (detect unmarshals
// the whole document first), so they need not diagnose bad JSON; on input
// that is not valid JSON they stop without reading out of bounds.

// errNotArray is what eachElement says of a value that is not an array.
var errNotArray = errors.New("is not a JSON array")

// memberValue returns the value of obj's member key, as encoding/json
// would fill a struct field of that name: the key matches without regard
// to case, and the last matching member wins. It returns nil when obj is
// not an object or has no such member.
func memberValue(obj []byte, key string) []byte {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	var found []byte
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		kEnd := valueEnd(obj, i)
		k := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return found
		}
		vStart := skipSpace(obj, i+1)
		vEnd := valueEnd(obj, vStart)
		if keyEquals(k, key) {
			found = obj[vStart:vEnd]
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			break
		}
		i = skipSpace(obj, i+1)
	}
	return found
}

// keyEquals compares a quoted JSON key with name, ignoring case.
func keyEquals(quoted []byte, name string) bool {
	if len(quoted) < 2 {
		return false // cut short; only invalid JSON has this
	}
	k := string(quoted[1 : len(quoted)-1])
	if bytes.IndexByte(quoted, '\\') >= 0 {
		if json.Unmarshal(quoted, &k) != nil {
			return false
		}
	}
	return strings.EqualFold(k, name)
}

// eachElement calls fn with every element of the JSON array arr, in order.
// An absent or null arr has no elements (scanners omit or null empty
// lists); anything else that is not an array is errNotArray.
func eachElement(arr []byte, fn func(i int, elem []byte) error) error {
	arr = bytes.TrimSpace(arr)
	if len(arr) == 0 || string(arr) == "null" {
		return nil
	}
	if arr[0] != '[' {
		return errNotArray
	}
	i := skipSpace(arr, 1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		end := valueEnd(arr, i)
		if end == i {
			return errNotArray // not valid JSON; detect rules this out
		}
		if err := fn(n, arr[i:end]); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return nil
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default: // a number, true, false or null
		j := i
		for j < len(b) && !isDelim(b[j]) {
			j++
		}
		return j
	}
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // the escaped character, which may be a quote
		case '"':
			return j + 1
		}
	}
	return len(b)
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// countElements is how many elements eachElement would visit in arr (0 when
// it is not an array), for sizing what they are decoded into.
func countElements(arr []byte) int {
	n := 0
	_ = eachElement(arr, func(int, []byte) error { n++; return nil })
	return n
}
