package frontend

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/patchfile"
)

func TestParseOptions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pf := &patchfile.Patchfile{Unresolved: patchfile.Instruction[patchfile.Policy]{Value: patchfile.PolicyWarn}}
	o, err := parseOptions(map[string]string{ArgSourceDateEpoch: "1764028800", ArgKeepUnchanged: "false", ArgVEXAuthor: "me", ArgNetworkTimeout: "90", ArgNetworkRetries: "0"}, pf, now)
	if err != nil {
		t.Fatal(err)
	}
	if o.keepUnchanged || o.policy != distros.PolicyWarn || o.epoch == nil || !o.created.Equal(time.Unix(1764028800, 0)) || o.vex.author != "me" || o.network != (distros.Network{Timeout: 90 * time.Second}) {
		t.Errorf("options %+v", o)
	}
	o, err = parseOptions(nil, &patchfile.Patchfile{}, now)
	if err != nil || !o.keepUnchanged || o.policy != distros.PolicyFail || o.epoch != nil || !o.created.Equal(now) || o.network != distros.DefaultNetwork {
		t.Errorf("defaults %+v, %v", o, err)
	}
	for args, want := range map[string]string{
		ArgKeepUnchanged:   "build arg BUILDKIT_COPA_KEEP_UNCHANGED=\"maybe\": want true or false",
		ArgSourceDateEpoch: "build arg SOURCE_DATE_EPOCH=\"maybe\" is not a count of seconds since 1970",
		ArgNetworkTimeout:  "build arg BUILDKIT_COPA_NETWORK_TIMEOUT=\"maybe\": want a number of seconds from 1 to 3600",
		ArgNetworkRetries:  "build arg BUILDKIT_COPA_NETWORK_RETRIES=\"maybe\": want a number of retries from 0 to 10",
	} {
		if _, err := parseOptions(map[string]string{args: "maybe"}, &patchfile.Patchfile{}, now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=maybe: error %v, want %q", args, err, want)
		}
	}
}

func TestProxyFromArgs(t *testing.T) {
	tests := []struct {
		args map[string]string
		want *llb.ProxyEnv
	}{
		{map[string]string{"IMAGE": "x"}, nil},
		{map[string]string{"HTTP_PROXY": "http://p:3128", "no_proxy": "localhost"}, &llb.ProxyEnv{HTTPProxy: "http://p:3128", NoProxy: "localhost"}},
		// Both cases given: the lower-case one wins, as curl reads only it.
		{map[string]string{"HTTPS_PROXY": "http://upper", "https_proxy": "http://lower", "ALL_PROXY": "socks5://s", "FTP_PROXY": "http://f"},
			&llb.ProxyEnv{HTTPSProxy: "http://lower", AllProxy: "socks5://s", FTPProxy: "http://f"}},
	}
	for _, tt := range tests {
		if got := proxyFromArgs(tt.args); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("proxyFromArgs(%v) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}
