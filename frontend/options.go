package frontend

import (
	"strconv"
	"time"

	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/patchfile"
)

// Build args that change what the frontend does.
const (
	// ArgKeepUnchanged set to "false" leaves out the helper step that
	// keeps unchanged files out of the patch layer: for measuring what it
	// saves, or for images where it must not run.
	ArgKeepUnchanged = "BUILDKIT_COPA_KEEP_UNCHANGED"
	// ArgSourceDateEpoch makes the config's and the history's times, the
	// VEX document's timestamp and the times of the files the patch step
	// writes reproducible (see docs/reproducible.md).
	ArgSourceDateEpoch = "SOURCE_DATE_EPOCH"
	// Build args for the VEX document's fields.
	ArgVEXAuthor     = "COPA_VEX_AUTHOR"
	ArgVEXAuthorRole = "COPA_VEX_AUTHOR_ROLE"
	ArgVEXProduct    = "COPA_VEX_PRODUCT"
)

// options are the build args and Patchfile settings every platform's
// patch shares, parsed once, before any platform is built, so that a bad
// value fails the build before anything runs.
type options struct {
	keepUnchanged bool
	policy        distros.Policy
	// created is the time the patch is dated by; epoch is set when it
	// came from SOURCE_DATE_EPOCH.
	created time.Time
	epoch   *time.Time
	vex     vexOptions
}

type vexOptions struct {
	author, authorRole, product string
}

func parseOptions(args map[string]string, pf *patchfile.Patchfile, now time.Time) (*options, error) {
	o := &options{keepUnchanged: true, policy: distros.PolicyFail, created: now.UTC()}
	if v, ok := args[ArgKeepUnchanged]; ok {
		keep, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errors.Errorf("build arg %s=%q: want true or false", ArgKeepUnchanged, v)
		}
		o.keepUnchanged = keep
	}
	if v := args[ArgSourceDateEpoch]; v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return nil, errors.Errorf("build arg %s=%q is not a count of seconds since 1970", ArgSourceDateEpoch, v)
		}
		t := time.Unix(sec, 0).UTC()
		o.created, o.epoch = t, &t
	}
	if pf.Unresolved.Value == patchfile.PolicyWarn {
		o.policy = distros.PolicyWarn
	}
	o.vex = vexOptions{author: args[ArgVEXAuthor], authorRole: args[ArgVEXAuthorRole], product: args[ArgVEXProduct]}
	return o, nil
}
