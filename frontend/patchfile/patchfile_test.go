package patchfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// lines is the Location the parser gives an instruction spanning from..to.
func lines(from, to int) []parser.Range {
	var r []parser.Range
	for l := from; l <= to; l++ {
		r = append(r, parser.Range{Start: parser.Position{Line: l}, End: parser.Position{Line: l}})
	}
	return r
}

func str(v string, from, to int) Instruction[string] {
	return Instruction[string]{Value: v, Location: lines(from, to)}
}

var defaultPolicy = Instruction[Policy]{Value: PolicyFail}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		args map[string]string
		want Patchfile
	}{{
		name: "minimal",
		in:   "PATCH nginx:1.21.6\n",
		want: Patchfile{Image: str("nginx:1.21.6", 1, 1), Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "PATCH --native",
		in:   "PATCH --native nginx:1.21.6\n",
		want: Patchfile{Image: Instruction[string]{Value: "nginx:1.21.6", Location: lines(1, 1), Flags: map[string]string{FlagNative: ""}}, Native: true, Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "PATCH --native from an ARG",
		in:   "ARG NATIVE=false\nPATCH --native=$NATIVE nginx\n",
		args: map[string]string{"NATIVE": "true"},
		want: Patchfile{Image: Instruction[string]{Value: "nginx", Location: lines(2, 2), Flags: map[string]string{FlagNative: "true"}}, Native: true, Unresolved: defaultPolicy, Args: map[string]string{"NATIVE": "true"}},
	}, {
		name: "PATCH --native=false",
		in:   "PATCH --native=false nginx\n",
		want: Patchfile{Image: Instruction[string]{Value: "nginx", Location: lines(1, 1), Flags: map[string]string{FlagNative: "false"}}, Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "SOURCES with every flag",
		in:   "ARG ONLY=true\nPATCH nginx\nSOURCES --only=$ONLY --keep ./mirrors/corp.sources\n",
		want: Patchfile{Image: str("nginx", 2, 2), Sources: Instruction[string]{Value: "mirrors/corp.sources", Location: lines(3, 3), Flags: map[string]string{FlagOnly: "true", FlagKeep: ""}}, SourcesOnly: true, SourcesKeep: true, Unresolved: defaultPolicy, Args: map[string]string{"ONLY": "true"}},
	}, {
		name: "SOURCES --add",
		in:   "PATCH nginx\nSOURCES --add corp.repo\n",
		want: Patchfile{Image: str("nginx", 1, 1), Sources: Instruction[string]{Value: "corp.repo", Location: lines(2, 2), Flags: map[string]string{FlagAdd: ""}}, SourcesAdd: true, Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "no trailing newline",
		in:   "PATCH nginx",
		want: Patchfile{Image: str("nginx", 1, 1), Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "full example with syntax line and comments",
		in: `# syntax=copa/frontend
# Patch the nginx image.
ARG IMAGE=docker.io/library/nginx
ARG TAG=1.21.6

PATCH ${IMAGE}:${TAG}
REPORT nginx.trivy.json
  # indented comment
UNRESOLVED warn
`,
		want: Patchfile{
			Image:      str("docker.io/library/nginx:1.21.6", 6, 6),
			Reports:    []Instruction[string]{str("nginx.trivy.json", 7, 7)},
			Unresolved: Instruction[Policy]{Value: PolicyWarn, Location: lines(9, 9)},
			Args:       map[string]string{"IMAGE": "docker.io/library/nginx", "TAG": "1.21.6"},
		},
	}, {
		name: "instructions and UNRESOLVED value are case-insensitive",
		in:   "arg TAG=1\nPatch nginx:$TAG\nrePORT r.json\nunresolved WARN\n",
		want: Patchfile{
			Image:      str("nginx:1", 2, 2),
			Reports:    []Instruction[string]{str("r.json", 3, 3)},
			Unresolved: Instruction[Policy]{Value: PolicyWarn, Location: lines(4, 4)},
			Args:       map[string]string{"TAG": "1"},
		},
	}, {
		name: "TOOLING names the tooling image, after substitution",
		in:   "ARG MIRROR=mirror.example.com\nPATCH gcr.io/distroless/base-debian12\nTOOLING ${MIRROR}/debian:bookworm\n",
		want: Patchfile{
			Image:      str("gcr.io/distroless/base-debian12", 2, 2),
			Tooling:    str("mirror.example.com/debian:bookworm", 3, 3),
			Unresolved: defaultPolicy,
			Args:       map[string]string{"MIRROR": "mirror.example.com"},
		},
	}, {
		name: "explicit fail",
		in:   "PATCH nginx\nUNRESOLVED fail\n",
		want: Patchfile{Image: str("nginx", 1, 1), Unresolved: Instruction[Policy]{Value: PolicyFail, Location: lines(2, 2)}, Args: map[string]string{}},
	}, {
		name: "continuation lines, with a comment inside",
		in:   "PATCH \\\n  nginx:1\nREPORT \\\n# the report\n  r.json\n",
		want: Patchfile{
			Image:      str("nginx:1", 1, 2),
			Reports:    []Instruction[string]{str("r.json", 3, 5)},
			Unresolved: defaultPolicy, Args: map[string]string{},
		},
	}, {
		name: "escape directive switches the continuation token",
		in:   "# escape=`\nPATCH `\n  nginx:1\n",
		want: Patchfile{Image: str("nginx:1", 2, 3), Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "ARG default",
		in:   "ARG TAG=1.21.6\nPATCH nginx:${TAG}\n",
		want: Patchfile{Image: str("nginx:1.21.6", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"TAG": "1.21.6"}},
	}, {
		name: "build arg overrides default and is taken literally",
		in:   "ARG TAG=1.21.6\nPATCH nginx:${TAG}\n",
		args: map[string]string{"TAG": "1.25"},
		want: Patchfile{Image: str("nginx:1.25", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"TAG": "1.25"}},
	}, {
		name: "undeclared build arg is ignored",
		in:   "ARG TAG=1\nPATCH nginx:$TAG\n",
		args: map[string]string{"OTHER": "x", "BUILDKIT_SYNTAX": "copa/frontend:dev"},
		want: Patchfile{Image: str("nginx:1", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"TAG": "1"}},
	}, {
		name: "ARG without default or build arg is unset",
		in:   "ARG TAG\nPATCH nginx:${TAG-unset}\n",
		want: Patchfile{Image: str("nginx:unset", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"TAG": ""}},
	}, {
		name: "${X:-d} falls back when unset",
		in:   "ARG X\nPATCH nginx:${X:-d}\n",
		want: Patchfile{Image: str("nginx:d", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"X": ""}},
	}, {
		name: "${X:-d} falls back when set empty",
		in:   "ARG X\nPATCH nginx:${X:-d}\n",
		args: map[string]string{"X": ""},
		want: Patchfile{Image: str("nginx:d", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"X": ""}},
	}, {
		name: "${X:-d} uses the build arg when set",
		in:   "ARG X\nPATCH nginx:${X:-d}\n",
		args: map[string]string{"X": "1"},
		want: Patchfile{Image: str("nginx:1", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"X": "1"}},
	}, {
		name: "several ARGs on a line see the earlier ones",
		in:   "ARG REPO=nginx TAG=1 REF=${REPO}:${TAG}\nPATCH $REF\n",
		want: Patchfile{Image: str("nginx:1", 2, 2), Unresolved: defaultPolicy, Args: map[string]string{"REPO": "nginx", "TAG": "1", "REF": "nginx:1"}},
	}, {
		name: "ARG default uses a build arg",
		in:   "ARG TAG=1\nARG REF=nginx:$TAG\nPATCH $REF\n",
		args: map[string]string{"TAG": "2"},
		want: Patchfile{Image: str("nginx:2", 3, 3), Unresolved: defaultPolicy, Args: map[string]string{"TAG": "2", "REF": "nginx:2"}},
	}, {
		name: "redeclaring without default keeps the value; with a default replaces it",
		in:   "ARG A=1 B=1\nARG A\nARG B=2\nPATCH nginx:$A.$B\n",
		want: Patchfile{Image: str("nginx:1.2", 4, 4), Unresolved: defaultPolicy, Args: map[string]string{"A": "1", "B": "2"}},
	}, {
		name: "quoted values keep spaces",
		in:   "ARG DIR=\"my reports\"\nPATCH nginx\nREPORT \"$DIR/a b.json\"\nREPORT x\\ y.json\n",
		want: Patchfile{
			Image:      str("nginx", 2, 2),
			Reports:    []Instruction[string]{str("my reports/a b.json", 3, 3), str("x y.json", 4, 4)},
			Unresolved: defaultPolicy, Args: map[string]string{"DIR": "my reports"},
		},
	}, {
		name: "spaces inside ${...} and escaped $ do not split or substitute",
		in:   "ARG DIR\nPATCH nginx\nREPORT ${DIR:-my reports}/r.json\nREPORT \\${DIR}.json\n",
		want: Patchfile{
			Image:      str("nginx", 2, 2),
			Reports:    []Instruction[string]{str("my reports/r.json", 3, 3), str("${DIR}.json", 4, 4)},
			Unresolved: defaultPolicy, Args: map[string]string{"DIR": ""},
		},
	}, {
		name: "multiple REPORTs keep order and are cleaned",
		in:   "PATCH nginx\nREPORT ./reports/../b.json\nREPORT reports//a.json\nREPORT c/./\n",
		want: Patchfile{
			Image:      str("nginx", 1, 1),
			Reports:    []Instruction[string]{str("b.json", 2, 2), str("reports/a.json", 3, 3), str("c", 4, 4)},
			Unresolved: defaultPolicy, Args: map[string]string{},
		},
	}, {
		name: "REPORT may come before PATCH",
		in:   "REPORT r.json\nPATCH nginx\n",
		want: Patchfile{Image: str("nginx", 2, 2), Reports: []Instruction[string]{str("r.json", 1, 1)}, Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "reference with registry, port and digest is kept as written",
		in:   "PATCH localhost:5000/app:v1@sha256:" + strings.Repeat("a", 64) + "\n",
		want: Patchfile{Image: str("localhost:5000/app:v1@sha256:"+strings.Repeat("a", 64), 1, 1), Unresolved: defaultPolicy, Args: map[string]string{}},
	}, {
		name: "REPORT --platform is substituted and normalised",
		in:   "ARG P=linux/arm64\nPATCH nginx\nREPORT --platform=$P arm64.json\nREPORT amd64.json\n",
		want: Patchfile{
			Image: str("nginx", 2, 2),
			Reports: []Instruction[string]{
				{Value: "arm64.json", Location: str("", 3, 3).Location, Flags: map[string]string{FlagPlatform: "linux/arm64"}},
				str("amd64.json", 4, 4),
			},
			Unresolved: defaultPolicy, Args: map[string]string{"P": "linux/arm64"},
		},
	}, {
		name: "a bare -- ends flags",
		in:   "PATCH nginx\nREPORT -- --odd.json\n",
		want: Patchfile{Image: str("nginx", 1, 1), Reports: []Instruction[string]{str("--odd.json", 2, 2)}, Unresolved: defaultPolicy, Args: map[string]string{}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), tt.args)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got.Warnings) != 0 {
				t.Errorf("unexpected warnings: %+v", got.Warnings)
			}
			got.Warnings = nil
			// Which ARGs are declared and used is TestArgUses's.
			got.Declared, got.Used = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// errLines returns the lines of each location the error carries.
func errLines(t *testing.T, err error) [][]int {
	t.Helper()
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return nil
	}
	var out [][]int
	for _, loc := range le.Locations {
		var ls []int
		for _, r := range loc {
			ls = append(ls, r.Start.Line)
		}
		out = append(out, ls)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	const noPatch = `Patchfile has no PATCH instruction: add "PATCH <image>" naming the image to patch`
	const unknownSuffix = `: a Patchfile takes ARG, PATCH, REPORT, SOURCES, TOOLING and UNRESOLVED`
	tests := []struct {
		name  string
		in    string
		args  map[string]string
		err   string
		lines [][]int // nil: the error must carry no location
	}{
		{name: "empty file", in: "", err: noPatch},
		{name: "SOURCES twice", in: "PATCH x\nSOURCES a.list\nSOURCES b.list\n", err: "SOURCES is given twice (first on line 2): give one file with every source the patch needs", lines: [][]int{{3}}},
		{name: "SOURCES outside the context", in: "PATCH x\nSOURCES ../a.list\n", err: `SOURCES: path "../a.list" points outside the build context`, lines: [][]int{{2}}},
		{name: "SOURCES --add --only", in: "PATCH x\nSOURCES --add --only a.list\n", err: "SOURCES: --add and --only contradict each other: --add keeps the image's own sources, --only makes the file the only one", lines: [][]int{{2}}},
		{name: "SOURCES --keep=maybe", in: "PATCH x\nSOURCES --keep=maybe a.list\n", err: "SOURCES --keep=maybe: want --keep, --keep=true or --keep=false", lines: [][]int{{2}}},
		{name: "SOURCES unknown flag", in: "PATCH x\nSOURCES --url=http://x a.list\n", err: "SOURCES does not take flag --url", lines: [][]int{{2}}},
		{name: "SOURCES without a path", in: "PATCH x\nSOURCES\n", err: "SOURCES needs one argument: the path of a package sources file in the build context (a .list or .sources file for apt, a .repo file for dnf, yum or zypper)", lines: [][]int{{2}}},
		{name: "only comments", in: "# syntax=copa/frontend\n# nothing\n\n", err: noPatch},
		{name: "no PATCH", in: "ARG TAG=1\nREPORT r.json\n", err: noPatch},
		{
			name:  "PATCH repeated",
			in:    "# syntax=copa/frontend\nPATCH nginx\nREPORT r.json\nPATCH \\\n  Not/Valid\n",
			err:   "PATCH is given twice (first on line 2): a Patchfile patches exactly one image",
			lines: [][]int{{4, 5}},
		},
		{
			name:  "PATCH invalid reference",
			in:    "ARG IMAGE=FOO\nPATCH ${IMAGE}:bar\n",
			err:   `PATCH: invalid image reference "FOO:bar": invalid reference format: repository name (library/FOO) must be lowercase`,
			lines: [][]int{{2}},
		},
		{
			name:  "PATCH invalid reference from a build arg",
			in:    "ARG TAG=1\nPATCH nginx:${TAG}\n",
			args:  map[string]string{"TAG": "not a:tag"},
			err:   `PATCH: invalid image reference "nginx:not a:tag": invalid reference format`,
			lines: [][]int{{2}},
		},
		{name: "PATCH without argument", in: "PATCH\n", err: "PATCH needs one argument: the image to patch", lines: [][]int{{1}}},
		{
			name:  "PATCH argument empty after substitution",
			in:    "ARG IMAGE\nPATCH ${IMAGE}\n",
			err:   `PATCH needs one argument: the image to patch, but ${IMAGE} expands to an empty string`,
			lines: [][]int{{2}},
		},
		{name: "no trailing comments, like a Dockerfile", in: "PATCH nginx # latest\n", err: `PATCH takes one argument (the image to patch) but got 3: "nginx" "#" "latest"`, lines: [][]int{{1}}},
		{name: "unterminated quote", in: "PATCH \"nginx\n", err: `PATCH: failed to process "\"nginx": unexpected end of statement while looking for matching double-quote`, lines: [][]int{{1}}},
		{name: "PATCH two arguments", in: "PATCH nginx alpine\n", err: `PATCH takes one argument (the image to patch) but got 2: "nginx" "alpine"`, lines: [][]int{{1}}},
		{
			name:  "required ARG via ${X:?}",
			in:    "ARG TAG\nPATCH nginx:${TAG:?pass --build-arg TAG=...}\n",
			err:   `PATCH: failed to process "nginx:${TAG:?pass --build-arg TAG=...}": TAG: pass --build-arg TAG=...`,
			lines: [][]int{{2}},
		},
		{name: "REPORT absolute", in: "PATCH nginx\nREPORT /etc/passwd\n", err: `REPORT: path "/etc/passwd" is absolute; paths are relative to the build context`, lines: [][]int{{2}}},
		{name: "REPORT escaping", in: "PATCH nginx\nREPORT ../r.json\n", err: `REPORT: path "../r.json" points outside the build context`, lines: [][]int{{2}}},
		{name: "REPORT escaping after clean", in: "PATCH nginx\nREPORT a/../../r.json\n", err: `REPORT: path "a/../../r.json" points outside the build context`, lines: [][]int{{2}}},
		{name: "REPORT context itself", in: "PATCH nginx\nREPORT a/..\n", err: `REPORT: path "a/.." is the build context itself, not a file`, lines: [][]int{{2}}},
		{name: "REPORT without argument", in: "PATCH nginx\nREPORT\n", err: "REPORT needs one argument: the path of a vulnerability report in the build context", lines: [][]int{{2}}},
		{name: "REPORT empty quoted", in: "PATCH nginx\nREPORT \"\"\n", err: `REPORT needs one argument: the path of a vulnerability report in the build context, but "" expands to an empty string`, lines: [][]int{{2}}},
		{name: "REPORT repeated path", in: "PATCH nginx\nREPORT r.json\nREPORT ./r.json\n", err: `REPORT: "r.json" is already given on line 2`, lines: [][]int{{3}}},
		{name: "UNRESOLVED bad value", in: "PATCH nginx\nUNRESOLVED ignore\n", err: `UNRESOLVED: invalid value "ignore": valid values are "fail" and "warn"`, lines: [][]int{{2}}},
		{name: "UNRESOLVED without value", in: "PATCH nginx\nUNRESOLVED\n", err: `UNRESOLVED needs one argument: "fail" or "warn"`, lines: [][]int{{2}}},
		{name: "TOOLING repeated", in: "TOOLING debian:bookworm\nPATCH nginx\nTOOLING debian:trixie\n", err: "TOOLING is given twice (first on line 1)", lines: [][]int{{3}}},
		{name: "TOOLING invalid reference", in: "PATCH nginx\nTOOLING Debian:Bookworm\n", err: `TOOLING: invalid image reference "Debian:Bookworm": invalid reference format: repository name (library/Debian) must be lowercase`, lines: [][]int{{2}}},
		{name: "TOOLING without image", in: "PATCH nginx\nTOOLING\n", err: "TOOLING needs one argument: the tooling image for images that cannot run their own package manager, e.g. debian:bookworm", lines: [][]int{{2}}},
		{name: "UNRESOLVED repeated", in: "UNRESOLVED warn\nPATCH nginx\nUNRESOLVED bogus\n", err: "UNRESOLVED is given twice (first on line 1)", lines: [][]int{{3}}},
		{name: "unknown instruction FROM", in: "ARG TAG=1\n\nFROM nginx\nPATCH nginx\n", err: `unknown instruction "FROM"` + unknownSuffix, lines: [][]int{{3}}},
		{name: "unknown instruction keeps its spelling", in: "PATCH nginx\nrun apt-get \\\n  upgrade\n", err: `unknown instruction "run"` + unknownSuffix, lines: [][]int{{2, 3}}},
		{name: "typo", in: "PATCH nginx\nREPORTS r.json\n", err: `unknown instruction "REPORTS"` + unknownSuffix, lines: [][]int{{2}}},
		{name: "flag on REPORT", in: "PATCH nginx\nREPORT --foo r.json\n", err: "REPORT does not take flag --foo", lines: [][]int{{2}}},
		{name: "bad REPORT platform", in: "PATCH nginx\nREPORT --platform=linux/x/y/z r.json\n", err: "REPORT --platform=linux/x/y/z: \"linux/x/y/z\": cannot parse platform specifier: invalid argument (want os/arch[/variant], e.g. linux/arm64)", lines: [][]int{{2}}},
		{name: "flag on PATCH", in: "PATCH --platform=linux/amd64 nginx\n", err: "PATCH does not take flag --platform", lines: [][]int{{1}}},
		{name: "PATCH --native=maybe", in: "PATCH --native=maybe nginx\n", err: "PATCH --native=maybe: want --native, --native=true or --native=false", lines: [][]int{{1}}},
		{name: "flag on ARG", in: "ARG --x=1 A\nPATCH nginx\n", err: "ARG does not take flag --x", lines: [][]int{{1}}},
		{name: "flag on UNRESOLVED", in: "PATCH nginx\nUNRESOLVED --really warn\n", err: "UNRESOLVED does not take flag --really", lines: [][]int{{2}}},
		{name: "ARG without name", in: "ARG\nPATCH nginx\n", err: `ARG needs at least one name, as in "ARG TAG" or "ARG TAG=latest"`, lines: [][]int{{1}}},
		{name: "ARG blank name", in: "ARG A=1 =2\nPATCH nginx\n", err: `ARG: "=2" has no name before the "="`, lines: [][]int{{1}}},
		{name: "bad substitution in ARG default", in: "ARG A=${}\nPATCH nginx\n", err: `ARG: failed to process "${}": syntax error: bad substitution`, lines: [][]int{{1}}},
		{
			// The Dockerfile parser reports directive errors one line early
			// (it counts lines after checking the directive); pinned so a
			// buildkit upgrade that fixes it is noticed.
			name:  "parser error passes through with its location",
			in:    "# syntax=copa/frontend\n# syntax=other\nPATCH nginx\n",
			err:   "only one syntax parser directive can be used",
			lines: [][]int{{1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, err := Parse([]byte(tt.in), tt.args)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want error %q", pf, tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.err)
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.lines) {
				t.Errorf("error lines: got %v, want %v", got, tt.lines)
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		args  map[string]string
		image string
		want  []Warning
	}{{
		name:  "ARG used before its declaration is unset",
		in:    "PATCH nginx${TAG}\nARG TAG=:1\n",
		args:  map[string]string{"TAG": ":2"},
		image: "nginx",
		want: []Warning{{
			Message:  "PATCH uses $TAG before its ARG on line 2, so it is unset here; move the ARG above line 1",
			Location: lines(1, 1),
		}},
	}, {
		name:  "default applies when used before declaration",
		in:    "PATCH nginx:${TAG:-latest}\nARG TAG=1\n",
		image: "nginx:latest",
		want: []Warning{{
			Message:  "PATCH uses $TAG before its ARG on line 2, so it is unset here; move the ARG above line 1",
			Location: lines(1, 1),
		}},
	}, {
		name:  "undeclared variable, even if passed as build arg",
		in:    "ARG B=x$A\nPATCH nginx:$B\n",
		args:  map[string]string{"A": "1"},
		image: "nginx:x",
		want: []Warning{{
			Message:  `ARG uses $A, but no ARG declares it, so it is always unset; declare it with "ARG A" before line 1`,
			Location: lines(1, 1),
		}},
	}, {
		name:  "declared but unset is not warned about",
		in:    "ARG TAG\nPATCH nginx${TAG:+:}$TAG\n",
		image: "nginx",
	}, {
		name:  "empty continuation line from the Dockerfile parser",
		in:    "PATCH \\\n\n  nginx\n",
		image: "nginx",
		want: []Warning{{
			Message:  "Empty continuation line found in: PATCH   nginx",
			Location: lines(3, 3),
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, err := Parse([]byte(tt.in), tt.args)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if pf.Image.Value != tt.image {
				t.Errorf("image: got %q, want %q", pf.Image.Value, tt.image)
			}
			if !reflect.DeepEqual(pf.Warnings, tt.want) {
				t.Errorf("warnings\n got %+v\nwant %+v", pf.Warnings, tt.want)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		ok := strings.Repeat("# padding padding padding padding padding padding\n", MaxSize/50)
		ok += "PATCH nginx\n"
		ok += strings.Repeat("#", MaxSize-len(ok)-1) + "\n"
		if len(ok) != MaxSize {
			t.Fatalf("test input is %d bytes, want %d", len(ok), MaxSize)
		}
		if _, err := Parse([]byte(ok), nil); err != nil {
			t.Fatalf("Parse of exactly MaxSize bytes: %v", err)
		}
		_, err := Parse([]byte(ok+"\n"), nil)
		if want := "Patchfile is 1048577 bytes; the limit is 1048576 bytes (1 MiB)"; err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	})
	t.Run("instructions", func(t *testing.T) {
		in := "PATCH nginx\n" + strings.Repeat("ARG A\n", MaxInstructions-1)
		if _, err := Parse([]byte(in), nil); err != nil {
			t.Fatalf("Parse of MaxInstructions instructions: %v", err)
		}
		_, err := Parse([]byte(in+"# comments do not count\nARG A\n"), nil)
		if want := "Patchfile has 1001 instructions; the limit is 1000"; err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
		if got, want := errLines(t, err), [][]int{{1002}}; !reflect.DeepEqual(got, want) {
			t.Errorf("error lines: got %v, want %v", got, want)
		}
	})
}

// TestArgsOf checks the keyword/flag stripping against the parser's own
// flag extraction, since argsOf re-implements it.
func TestArgsOf(t *testing.T) {
	tests := []struct {
		line  string
		flags []string
		args  string
	}{
		{"PATCH nginx", nil, "nginx"},
		{"PATCH   nginx  ", nil, "nginx"},
		{"PATCH", nil, ""},
		{"PATCH --a=1 --b nginx", []string{"--a=1", "--b"}, "nginx"},
		{`PATCH --a="x y" --b='p q' nginx x`, []string{"--a=x y", "--b=p q"}, "nginx x"},
		{`PATCH --a=x\ y nginx`, []string{"--a=x y"}, "nginx"},
		{"PATCH -- --a", nil, "--a"},
		{"PATCH --a -- --b c", []string{"--a"}, "--b c"},
		{"PATCH -x", nil, "-x"},
		{"PATCH\t--a\tnginx", []string{"--a"}, "nginx"},
		{"PATCH --a", []string{"--a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			res, err := parser.Parse(strings.NewReader(tt.line + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			node := res.AST.Children[0]
			if len(node.Flags) != len(tt.flags) || (len(tt.flags) > 0 && !reflect.DeepEqual(node.Flags, tt.flags)) {
				t.Errorf("parser flags: got %q, want %q", node.Flags, tt.flags)
			}
			if got := argsOf(node.Original, res.EscapeToken); got != tt.args {
				t.Errorf("argsOf: got %q, want %q", got, tt.args)
			}
		})
	}
}

// TestExamples keeps the shipped examples valid.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*Patchfile")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	// The bake's Patchfile takes what each target passes.
	files = append(files, "../../examples/bake/Patchfile")
	bakeArgs := map[string]string{"IMAGE": "registry.example.com/acme/web:1.4.2", "REPORT": "reports/web-1.4.2.json"}
	for _, f := range files {
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var args map[string]string
		if strings.Contains(f, "/bake/") {
			args = bakeArgs
			if _, err := Parse(dt, nil); err == nil || !strings.Contains(err.Error(), "the bake passes IMAGE") {
				t.Errorf("%s without IMAGE: %v", f, err)
			}
		}
		pf, err := Parse(dt, args)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if args != nil && (pf.Image.Value != bakeArgs["IMAGE"] || pf.Reports[0].Value != bakeArgs["REPORT"]) {
			t.Errorf("%s: PATCH %q REPORT %q, want the bake's args", f, pf.Image.Value, pf.Reports[0].Value)
		}
		if want := map[bool]int{true: 2, false: 1}[strings.HasPrefix(filepath.Base(f), "multiplatform")]; len(pf.Reports) != want {
			t.Errorf("%s: %d REPORTs, want %d", f, len(pf.Reports), want)
		}
		if strings.HasPrefix(filepath.Base(f), "mirror") && (pf.Sources.Value != "mirror.sources" || !pf.SourcesOnly) {
			t.Errorf("%s: SOURCES %q, --only %v", f, pf.Sources.Value, pf.SourcesOnly)
		}
		if strings.HasPrefix(filepath.Base(f), "distroless") && pf.Tooling.Value != "docker.io/library/debian:bookworm" {
			t.Errorf("%s: TOOLING %q", f, pf.Tooling.Value)
		}
	}
}

// TestArgUses pins what --call outline and --call check read of the ARGs:
// each first declaration with the comment above it, and which ARGs any
// substitution refers to (ARG defaults included; an ARG declared without
// a value that is referred to counts as used).
func TestArgUses(t *testing.T) {
	in := "# The registry.\nARG REG=docker.io\nARG TAG\nARG UNUSED=x\nARG REPO=${REG}/library\nPATCH ${REPO}/nginx:${TAG:-latest}\nARG REG\n"
	pf, err := Parse([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range pf.Declared {
		names = append(names, d.Name)
	}
	if want := []string{"REG", "TAG", "UNUSED", "REPO"}; !reflect.DeepEqual(names, want) {
		t.Errorf("declared %v, want %v", names, want)
	}
	if pf.Declared[0].Comment != "The registry." || pf.Declared[0].Location[0].Start.Line != 2 {
		t.Errorf("REG: %+v", pf.Declared[0])
	}
	if want := map[string]bool{"REG": true, "TAG": true, "REPO": true}; !reflect.DeepEqual(pf.Used, want) {
		t.Errorf("used %v, want %v", pf.Used, want)
	}
}
