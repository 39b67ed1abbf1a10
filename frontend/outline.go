package frontend

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/solver/pb"

	"github.com/copa/frontend/frontend/patchfile"
)

// outlineHandler answers --call outline: the Patchfile's ARGs with their
// values and the comment above each, as the Dockerfile frontend lists its
// own, and in the description what the build patches with which reports.
// Nothing is resolved or run.
func outlineHandler(src []byte, buildArgs map[string]string) func(context.Context) (*outline.Outline, error) {
	return func(context.Context) (*outline.Outline, error) {
		pf, err := patchfile.Parse(src, buildArgs)
		if err != nil {
			return nil, err
		}
		return outlineOf(pf, src), nil
	}
}

// outlineOf is the outline of a parsed Patchfile.
func outlineOf(pf *patchfile.Patchfile, src []byte) *outline.Outline {
	o := &outline.Outline{Description: describeOutline(pf), Sources: [][]byte{src}}
	for _, d := range pf.Declared {
		o.Args = append(o.Args, outline.Arg{Name: d.Name, Value: pf.Args[d.Name], Description: d.Comment, Location: location(d.Location)})
	}
	return o
}

func describeOutline(pf *patchfile.Patchfile) string {
	var reports []string
	for _, r := range pf.Reports {
		reports = append(reports, r.Value)
	}
	what := "every package that has an update"
	if len(reports) > 0 {
		what = fmt.Sprintf("the packages that %s fix", strings.Join(reports, ", "))
	}
	s := fmt.Sprintf("patches %s: %s", pf.Image.Value, what)
	if pf.Tooling.Value != "" {
		s += "; tooling image " + pf.Tooling.Value
	}
	return s
}

// location is a Patchfile range as outline and lint results carry it
// (source 0 is the Patchfile).
func location(rs []parser.Range) *pb.Location {
	if len(rs) == 0 {
		return nil
	}
	l := &pb.Location{}
	for _, r := range rs {
		l.Ranges = append(l.Ranges, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
			End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
		})
	}
	return l
}
