package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/summary"
)

// keySource is the option in which BuildKit names the frontend image it
// started (set by `# syntax=`, BUILDKIT_SYNTAX or `--opt source=`).
const keySource = "source"

// helperImage returns the frontend's own image, pinned to its digest, for
// steps that run the frontend binary as a helper. It is resolved once per
// build. Without a source option (a frontend run in process, as in tests
// that do not set one) it returns nil.
func (b *builder) helperImage(ctx context.Context) (*llb.State, error) {
	b.helperOnce.Do(func() {
		src := b.bc.BuildOpts().Opts[keySource]
		if src == "" {
			return
		}
		named, err := reference.ParseNormalizedNamed(src)
		if err != nil {
			b.helperErr = errors.Wrapf(err, "frontend image %q", src)
			return
		}
		named = reference.TagNameOnly(named)
		p := b.bc.BuildPlatforms[0]
		_, dgst, _, err := b.c.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
			LogName:  "[copa] resolve helper " + named.String(),
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p},
		})
		if err != nil {
			b.helperErr = errors.Wrapf(err, "resolving the frontend image %s for its helper", named)
			return
		}
		pinned, err := reference.WithDigest(reference.TrimNamed(named), dgst)
		if err != nil {
			b.helperErr = err
			return
		}
		st := llb.Image(pinned.String(), llb.Platform(p), llb.WithCustomName("[copa] helper "+named.String()))
		b.helper = &st
	})
	return b.helper, b.helperErr
}

// HelperPrintSummary FILE prints a summary.json as a table: the
// frontend's own helper command, run by the step that shows the summary
// in the build progress.
const HelperPrintSummary = "print-summary"

// HelperCommands are the frontend's own helper commands; the registry's
// methods bring the others.
func HelperCommands() []distros.HelperCommand {
	return []distros.HelperCommand{{Name: HelperPrintSummary, Usage: "SUMMARY.json", Args: 1, Run: printSummary}}
}

func printSummary(args []string) error {
	dt, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var s summary.Summary
	if err := json.Unmarshal(dt, &s); err != nil {
		return err
	}
	fmt.Print(s.Table())
	return nil
}
