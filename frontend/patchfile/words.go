package patchfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/pkg/errors"
)

// The lexing of instruction arguments: flags, words and quoting.

// parseFlags turns the parser's raw "--name=value" strings into a map and
// refuses the ones the instruction does not take, so a typo or a flag from
// a newer Patchfile version is an error rather than silently ignored.
func parseFlags(inst string, raw []string, allowed map[string]bool) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	flags := make(map[string]string, len(raw))
	for _, f := range raw {
		name, value, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if !allowed[name] {
			return nil, errors.Errorf("%s does not take flag --%s", inst, name)
		}
		if _, dup := flags[name]; dup {
			return nil, errors.Errorf("%s: flag --%s is given twice", inst, name)
		}
		flags[name] = value
	}
	return flags, nil
}

var reWhitespace = regexp.MustCompile(`[\t\v\f\r ]+`)

// argsOf returns the arguments of an instruction line: the text after the
// keyword and its flags. The parser only splits arguments for Dockerfile
// keywords, so for ours it has to be redone here, the same way the parser
// separates keyword and flags (its splitCommand and extractBuilderFlags).
func argsOf(original string, escape rune) string {
	kw := reWhitespace.Split(strings.TrimSpace(original), 2)
	if len(kw) < 2 {
		return ""
	}
	line := kw[1]
	pos := 0
	for {
		for pos < len(line) && unicode.IsSpace(rune(line[pos])) {
			pos++
		}
		if !strings.HasPrefix(line[pos:], "--") {
			return strings.TrimSpace(line[pos:])
		}
		end := flagEnd(line, pos, byte(escape))
		if line[pos:end] == "--" {
			// A bare "--" ends the flags, so an argument may start with "--".
			return strings.TrimSpace(line[end:])
		}
		pos = end
	}
}

// flagEnd returns the end of the flag word starting at pos: the first
// whitespace outside quotes, with the escape token protecting one byte.
func flagEnd(line string, pos int, escape byte) int {
	var quote byte
	for ; pos < len(line); pos++ {
		switch ch := line[pos]; {
		case quote != 0 && ch == quote:
			quote = 0
		case ch == escape:
			pos++
		case quote == 0 && (ch == '\'' || ch == '"'):
			quote = ch
		case quote == 0 && unicode.IsSpace(rune(ch)):
			return pos
		}
	}
	return len(line)
}

// splitWords splits an argument string on whitespace that is not quoted,
// escaped or inside ${...}, keeping quotes and escapes for the shell lexer
// to process. The lexer's own ProcessWords cannot be used: in buildkit
// v0.34.2 it drops the text before a ${VAR:-word} modifier
// ("nginx:${X:-d}" gives "d"), because the nested scan resets its shared
// word buffer.
func splitWords(s string, escape rune) []string {
	var (
		words []string
		cur   strings.Builder
		quote rune
		depth int
		esc   bool
		// dollar: the previous rune was an unquoted, unescaped "$".
		dollar bool
	)
	for _, ch := range s {
		wasDollar := dollar
		dollar = false
		switch {
		case esc:
			esc = false
		case ch == escape && quote != '\'':
			esc = true
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '$':
			dollar = true
		case ch == '{' && wasDollar:
			depth++
		case ch == '}' && depth > 0:
			depth--
		case unicode.IsSpace(ch) && depth == 0:
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(ch)
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}

func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	return strings.Join(q, " ")
}

// mapEnv exposes the declared ARGs to the shell lexer without rebuilding a
// KEY=VALUE slice for every instruction.
type mapEnv map[string]string

func (e mapEnv) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e mapEnv) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
