package frontend

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/package-url/packageurl-go"
	"github.com/pkg/errors"

	"github.com/copa/frontend/frontend/vex"
	"github.com/copa/frontend/llbgen"
)

// Build targets (`docker buildx build --target NAME`).
const (
	// TargetImage is the patched image, with its OpenVEX attestation.
	TargetImage = "image"
	// TargetSummary is summary.json: what happened to every reported
	// vulnerability. Export it with -o type=local,dest=DIR.
	TargetSummary = "summary"
	// TargetVEX is vex.json: the OpenVEX document of the patch.
	TargetVEX = "vex"
)

// Files the summary and vex targets write.
const (
	SummaryFile = "summary.json"
	VEXFile     = "vex.json"
)

// PredicateTypeOpenVEX is the in-toto predicate type of the VEX attestation.
const PredicateTypeOpenVEX = "https://openvex.dev/ns/v0.2.0"

var targetList = []targets.Target{
	{Name: TargetImage, Default: true, Description: "the patched image, with an OpenVEX attestation of what the patch fixed"},
	{Name: TargetSummary, Description: "summary.json: patched, not fixable or failed, for every reported vulnerability"},
	{Name: TargetVEX, Description: "vex.json: the OpenVEX document of the patch"},
}

// target returns the build's target, refusing unknown ones.
func (b *builder) target() (string, error) {
	t := b.bc.Target
	if t == "" {
		return TargetImage, nil
	}
	for _, known := range targetList {
		if t == known.Name {
			return t, nil
		}
	}
	return "", errors.Errorf("unknown target %q: a Patchfile builds %s (the default), %s or %s", t, TargetImage, TargetSummary, TargetVEX)
}

func listTargets(_ context.Context) (*targets.List, error) {
	return &targets.List{Targets: targetList}, nil
}

// Files of the steps' input (outputInput): the summary, gzipped, and the
// VEX document's options with the package URLs resolved (vex.Request).
const (
	stepSummaryFile = SummaryFile + ".gz"
	vexRequestFile  = "vex-request.json"
)

// vexOptions are the build's VEX document options for one platform.
func (b *builder) vexOptions(pr *platformResult) vex.Options {
	product := b.opts.vex.product
	if product == "" {
		product = defaultProduct(pr.Base.Name)
	}
	return vex.Options{
		Product:    product,
		Author:     b.opts.vex.author,
		AuthorRole: b.opts.vex.authorRole,
		Timestamp:  b.opts.created,
		PackageURL: pr.PackageURL,
	}
}

// outputInput is the input of the steps that show the summary and write
// the VEX document: summary.json.gz and vex-request.json. It counts the
// statements the document will make (those of an earlier patch's
// document when the platform carries one).
//
// The summary is gzipped because what the frontend sends is held several
// times over while it is sent (the state, the definition, the marshalled
// request, gRPC's buffers): for a report of 100,000 entries, 15 MB of JSON
// five times was most of the frontend's memory; gzipped it is about a
// twentieth of that.
func (b *builder) outputInput(pr *platformResult) (llb.State, int, error) {
	sum, err := gzipJSON(pr.Summary)
	if err != nil {
		return llb.State{}, 0, err
	}
	var statements int
	var req []byte
	if pr.VEX != nil {
		var doc struct {
			Statements []json.RawMessage `json:"statements"`
		}
		if err := json.Unmarshal(pr.VEX, &doc); err != nil {
			return llb.State{}, 0, errors.Wrap(err, "reading the earlier VEX document")
		}
		statements = len(doc.Statements)
	} else {
		r, n, err := vex.NewRequest(pr.Summary, b.vexOptions(pr))
		if err != nil {
			return llb.State{}, 0, errors.Wrap(err, "writing the VEX document")
		}
		if req, err = json.Marshal(r); err != nil {
			return llb.State{}, 0, err
		}
		statements = n
	}
	fa := llb.Mkfile("/"+stepSummaryFile, 0o644, sum)
	if req != nil {
		fa = fa.Mkfile("/"+vexRequestFile, 0o644, req)
	}
	return llb.Scratch().File(fa, llb.WithCustomName(stepPrefix(pr.Platform)+"[internal] summary.json")), statements, nil
}

// gzipJSON is v as compact JSON, gzipped: byte for byte the same for the
// same value (no name or time in the gzip header), so the steps that read
// it are cached.
func gzipJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// vexDocument solves one platform's OpenVEX document, /vex.json. A step
// of the helper writes it from the summary and the request in `in`, so
// that the frontend never holds a document of tens of megabytes nor the
// copies a solve request makes of it; an earlier patch's document, and a
// frontend run without its image (in process, in tests), are written by
// the frontend itself.
func (b *builder) vexDocument(ctx context.Context, pr *platformResult, in llb.State, statements int) (client.Reference, error) {
	name := fmt.Sprintf("%sVEX attestation: %d statement(s)", stepPrefix(pr.Platform), statements)
	helper, err := b.helperImage(ctx)
	if err != nil {
		return nil, err
	}
	if pr.VEX != nil || helper == nil {
		dt := pr.VEX
		if dt == nil {
			doc, err := vex.Document(pr.Summary, b.vexOptions(pr))
			if err != nil {
				return nil, errors.Wrap(err, "writing the VEX document")
			}
			if dt, err = vex.Marshal(doc); err != nil {
				return nil, err
			}
		}
		return b.solve(ctx, llb.Scratch().File(llb.Mkfile("/"+VEXFile, 0o644, dt), llb.WithCustomName(name)))
	}
	run := helper.Run(
		llb.Args([]string{llbgen.HelperImageBinary, HelperWriteVEX, "/in/" + stepSummaryFile, "/in/" + vexRequestFile, "/out/" + VEXFile}),
		llb.AddMount("/in", in, llb.Readonly),
		llb.Network(llb.NetModeNone),
		llb.WithCustomName(name),
	)
	ref, err := b.solve(ctx, run.AddMount("/out", llb.Scratch()))
	if err != nil {
		return nil, withContext(err, "writing the VEX document of %s", platforms.Format(pr.Platform))
	}
	return ref, nil
}

// defaultProduct names the patched image when the build does not: the
// frontend cannot know the name the image will be pushed under, so it uses
// the image's repository name without version or qualifiers, which matches
// any tag and digest of it (set COPA_VEX_PRODUCT to be exact).
func defaultProduct(image string) string {
	name := image
	if named, err := reference.ParseNormalizedNamed(image); err == nil {
		name = reference.Path(named)
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return packageurl.NewPackageURL(packageurl.TypeOCI, "", name, "", nil, "").ToString()
}

// showSummary prints the summary table in the build progress, as the log
// of a step that runs the frontend's helper (a frontend has no other way to
// write to the progress). The step always runs, so the table shows on
// cached builds too. in holds summary.json (outputInput).
func (b *builder) showSummary(ctx context.Context, pr *platformResult, in llb.State) error {
	helper, err := b.helperImage(ctx)
	if err != nil || helper == nil {
		return err
	}
	c := pr.Summary.Tally()
	name := fmt.Sprintf("%ssummary: %d vulnerabilities, %d patched, %d not fixable, %d failed",
		stepPrefix(pr.Platform), c.Vulnerabilities, c.Patched, c.NotFixable, c.Failed)
	st := helper.Run(
		llb.Args([]string{llbgen.HelperImageBinary, HelperPrintSummary, "/in/" + stepSummaryFile}),
		llb.AddMount("/in", in, llb.Readonly),
		llb.Network(llb.NetModeNone),
		llb.IgnoreCache,
		llb.WithCustomName(name),
	).Root()
	// Nothing reads the step's result; b.solve evaluates it, so it runs.
	_, err = b.solve(ctx, st)
	return err
}

func platformKey(p ocispecs.Platform) string {
	return platforms.Format(platforms.Normalize(p))
}
