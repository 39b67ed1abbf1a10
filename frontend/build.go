// Package frontend is the gateway build function of copa/frontend.
package frontend

import (
	"context"

	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"
)

// Build is the gateway build function (placeholder until the build path lands).
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	return nil, errors.New("not implemented yet")
}
