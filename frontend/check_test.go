package frontend

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Every rule has its section in docs/check.md, where its URL points, and
// a row in the table of rules.
func TestCheckRulesDocumented(t *testing.T) {
	dt, err := os.ReadFile("../docs/check.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(dt)
	for _, r := range checkRules {
		if !strings.Contains(doc, "\n### "+r.Name+"\n") {
			t.Errorf("docs/check.md has no section %q (the rule's URL is %s)", "### "+r.Name, r.URL())
		}
		if !strings.Contains(doc, fmt.Sprintf("| [`%s`](#%s) |", r.Name, strings.ToLower(r.Name))) {
			t.Errorf("docs/check.md's table of rules has no row for %s", r.Name)
		}
	}
}
