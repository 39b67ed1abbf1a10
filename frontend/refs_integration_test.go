package frontend

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
)

// TestRefFS reads a solved filesystem through the gateway as inspect
// does: a file over the gateway's 16 MiB message limit comes whole, in
// chunks, and a limit below its size refuses it; names that look like
// patterns are found as names.
func TestRefFS(t *testing.T) {
	host, registry := os.Getenv("BUILDKIT_HOST"), os.Getenv("COPA_TEST_REGISTRY")
	if host == "" || registry == "" {
		msg := "needs BUILDKIT_HOST and COPA_TEST_REGISTRY: run `make test` (it starts hack/harness.sh)"
		if os.Getenv("CI") != "" || os.Getenv("COPA_REQUIRE_HARNESS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := client.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const size = 20_000_000 // over 16 MiB
	want := bytes.Repeat([]byte("0123456789abcdef\n"), size/17+1)[:size]
	_, err = c.Build(ctx, client.SolveOpt{}, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		st := llb.Image(registry + "/copa-test/debian:bookworm").Run(llb.Args([]string{"/bin/sh", "-c",
			`mkdir /d && yes 0123456789abcdef | head -c 20000000 >/d/big && touch '/d/a[1]' /d/a1 '/d/x*'`})).Root()
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		res, err := gc.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB()})
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		fs := newRefFS(ref)
		got, err := fs.ReadFile(ctx, "/d/big", 32<<20)
		if err != nil {
			t.Errorf("reading 20 MB: %v", err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("read %d bytes that differ from the %d written", len(got), len(want))
		}
		if _, err := newRefFS(ref).ReadFile(ctx, "/d/big", 1<<20); err == nil || !strings.Contains(err.Error(), "/d/big is larger than 1 MiB") {
			t.Errorf("a 1 MiB limit: error %v", err)
		}
		for p, exists := range map[string]bool{"/d/a[1]": true, "/d/a1": true, "/d/x*": true, "/d/a?": false, "/d/*": false, "/d/a[2]": false, "/nope/a": false} {
			if ok, err := fs.Exists(ctx, p); err != nil || ok != exists {
				t.Errorf("Exists(%q) = %v, %v; want %v", p, ok, err, exists)
			}
		}
		return gateway.NewResult(), nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}
