package api

import (
	"context"

	"github.com/sigil-auth/sigil/authority"
)

// adminClaims returns the claims of the administrator making the request.
func adminClaims(ctx context.Context) *authority.Claims {
	c, _ := ctx.Value(ctxAdmin).(*authority.Claims)
	return c
}
