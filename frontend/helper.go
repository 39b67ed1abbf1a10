package frontend

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/summary"
	"github.com/copa/frontend/frontend/vex"
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

// HelperPrintSummary FILE prints a summary.json (gzipped when its name
// ends in .gz) as a table: the
// frontend's own helper command, run by the step that shows the summary
// in the build progress.
const HelperPrintSummary = "print-summary"

// HelperWriteVEX SUMMARY REQUEST OUT writes the OpenVEX document of a
// summary.json (gzipped when its name ends in .gz) and a vex.Request to
// OUT: the step that makes the VEX
// attestation, so the frontend never holds the document.
const HelperWriteVEX = "write-vex"

// HelperCommands are the frontend's own helper commands; the registry's
// methods bring the others.
func HelperCommands() []distros.HelperCommand {
	return []distros.HelperCommand{
		{Name: HelperPrintSummary, Usage: "SUMMARY.json[.gz]", Args: 1, Run: printSummary},
		{Name: HelperWriteVEX, Usage: "SUMMARY.json[.gz] REQUEST.json OUT.json", Args: 3, Run: writeVEX},
	}
}

// maxStepSummary bounds a summary a helper step reads, gzipped or not:
// the frontend writes it, but a file that grows without end when
// decompressed is refused rather than read.
const maxStepSummary = 1 << 30

// readSummaryFile reads a summary.json, decompressing a .gz one.
func readSummaryFile(p string) ([]byte, error) {
	if !strings.HasSuffix(p, ".gz") {
		return os.ReadFile(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	dt, err := io.ReadAll(io.LimitReader(zr, maxStepSummary+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(dt) > maxStepSummary {
		return nil, fmt.Errorf("%s: more than %d bytes decompressed", p, maxStepSummary)
	}
	return dt, nil
}

func writeVEX(args []string) error {
	sum, err := readSummaryFile(args[0])
	if err != nil {
		return err
	}
	req, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	doc, err := vex.Write(sum, req)
	if err != nil {
		return err
	}
	if err := os.WriteFile(args[2], doc, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", args[2], len(doc))
	return nil
}

func printSummary(args []string) error {
	dt, err := readSummaryFile(args[0])
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
