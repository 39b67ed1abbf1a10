package frontend

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client/llb"

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
	// ArgNetworkTimeout (seconds) and ArgNetworkRetries bound every
	// request of a patch step to a package source (distros.Network).
	ArgNetworkTimeout = "BUILDKIT_COPA_NETWORK_TIMEOUT"
	ArgNetworkRetries = "BUILDKIT_COPA_NETWORK_RETRIES"
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
	// proxy is the proxy build args' (HTTP_PROXY and the rest), nil when
	// the build sets none.
	proxy *llb.ProxyEnv
	// network bounds the steps' requests to package sources.
	network distros.Network
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
	o.proxy = proxyFromArgs(args)
	o.network = distros.DefaultNetwork
	if v, ok := args[ArgNetworkTimeout]; ok {
		sec, err := strconv.Atoi(v)
		if err != nil || sec < 1 || sec > 3600 {
			return nil, errors.Errorf("build arg %s=%q: want a number of seconds from 1 to 3600", ArgNetworkTimeout, v)
		}
		o.network.Timeout = time.Duration(sec) * time.Second
	}
	if v, ok := args[ArgNetworkRetries]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10 {
			return nil, errors.Errorf("build arg %s=%q: want a number of retries from 0 to 10", ArgNetworkRetries, v)
		}
		o.network.Retries = n
	}
	return o, nil
}

// proxyFromArgs reads the predefined proxy build args, as the Dockerfile
// frontend does: HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY and
// ALL_PROXY in either case, without an ARG. They reach the patch steps as
// BuildKit's proxy environment, which BuildKit sets in both cases and
// keeps out of the cache key; the frontend never writes them into the
// history or the config.
func proxyFromArgs(args map[string]string) *llb.ProxyEnv {
	var pe llb.ProxyEnv
	set := false
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		var dst *string
		switch strings.ToUpper(k) {
		case "HTTP_PROXY":
			dst = &pe.HTTPProxy
		case "HTTPS_PROXY":
			dst = &pe.HTTPSProxy
		case "FTP_PROXY":
			dst = &pe.FTPProxy
		case "NO_PROXY":
			dst = &pe.NoProxy
		case "ALL_PROXY":
			dst = &pe.AllProxy
		default:
			continue
		}
		// Upper case sorts first; a lower-case arg given too wins, as
		// for curl, which reads only http_proxy.
		*dst, set = v, true
	}
	if !set {
		return nil
	}
	return &pe
}
