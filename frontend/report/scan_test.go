package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestMemberValue holds memberValue to encoding/json's choice of member
// for a struct field: case-insensitive keys, the last one winning, escaped
// keys, and values whose strings hold brackets and quotes.
func TestMemberValue(t *testing.T) {
	for _, doc := range []string{
		`{"Results":[1]}`,
		`{"results":[1], "Results" : [2]}`,
		`{"Results":[1],"RESULTS":[3]}`,
		`{"a":"]}\"[{","Results":{"x":"\"}"},"b":[{"c":"]"}]}`,
		`{"Re\u0073ults":[4]}`,
		`{"Other":1}`,
		` { "Results" : null } `,
		`{}`,
		`[1]`,
		`{"Results":-1.5e3,"z":true}`,
	} {
		var want struct{ Results json.RawMessage }
		if err := json.Unmarshal([]byte(doc), &want); err != nil && !strings.HasPrefix(doc, "[") {
			t.Fatal(doc, err)
		}
		if got := memberValue([]byte(doc), "Results"); string(got) != string(want.Results) {
			t.Errorf("%s: memberValue = %q, encoding/json = %q", doc, got, want.Results)
		}
	}
}

// TestEachElement holds eachElement to encoding/json's split of an array.
func TestEachElement(t *testing.T) {
	for _, arr := range []string{
		`[]`, ` [ ] `, `[1]`, `[ 1 , "a]" , {"b":[1,{"c":"}"}]} ,[[]],null,true,-2e5 ]`,
		`["\\", "\\\"", {}]`,
	} {
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(arr), &want); err != nil {
			t.Fatal(arr, err)
		}
		var got []string
		if err := eachElement([]byte(arr), func(i int, e []byte) error {
			if i != len(got) {
				t.Errorf("%s: index %d, want %d", arr, i, len(got))
			}
			got = append(got, string(e))
			return nil
		}); err != nil {
			t.Fatal(arr, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(toStrings(want)) {
			t.Errorf("%s: elements %q, encoding/json %q", arr, got, toStrings(want))
		}
	}
	for _, none := range []string{``, `null`, ` null `} {
		if err := eachElement([]byte(none), func(int, []byte) error { t.Errorf("%q has elements", none); return nil }); err != nil {
			t.Error(none, err)
		}
	}
	for _, bad := range []string{`{}`, `"x"`, `1`, `[,]`, `[`, `["`} {
		err := eachElement([]byte(bad), func(int, []byte) error { return nil })
		if bad == `[` || bad == `["` {
			continue // invalid JSON: only that it stops matters
		}
		if !errors.Is(err, errNotArray) {
			t.Errorf("%s: err = %v, want errNotArray", bad, err)
		}
	}
	if memberValue([]byte(`{"`), "x") != nil {
		t.Error("cut-short object has a member")
	}
}

func toStrings(rs []json.RawMessage) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
