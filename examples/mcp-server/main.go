package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sigil-auth/sigil/verify"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "Sigil's issuer URL")
	resource := flag.String("resource", "http://127.0.0.1:8090/mcp", "this server's resource identifier, as registered at Sigil")
	flag.Parse()
	u, err := url.Parse(*resource)
	if err != nil || u.Host == "" {
		log.Fatalf("mcp-server: -resource %q is not an absolute URL", *resource)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	v, err := verify.New(ctx, *issuer, verify.WithResource(*resource), verify.WithResourceName("Sigil example MCP server"))
	if err != nil {
		log.Fatalf("mcp-server: %v", err)
	}
	srv := &http.Server{Addr: u.Host, Handler: routes(v, u.Path), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("MCP server for resource %s on http://%s (tokens from %s)", *resource, u.Host, *issuer)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatalf("mcp-server: %v", err)
	}
}

// routes serves the MCP endpoint at path behind v's middleware, and the
// resource's metadata at its well-known path.
func routes(v *verify.Verifier, path string) http.Handler {
	server := newMCPServer()
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	mux := http.NewServeMux()
	mux.Handle(v.ResourceMetadataPath(), v.ResourceMetadataHandler())
	// verify checks the token and answers every refusal (with
	// resource_metadata); the SDK's bearer middleware then hands the
	// verified claims to the tools and binds each MCP session to its
	// user, so one user's session id is useless to another.
	mux.Handle(path, v.Middleware(auth.RequireBearerToken(verifiedClaims, nil)(mcpHandler)))
	return mux
}

// verifiedClaims is the SDK's token verifier for requests that package
// verify has let through: it turns their claims into the SDK's TokenInfo.
func verifiedClaims(ctx context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
	c, ok := verify.ClaimsFromContext(r.Context())
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{Scopes: strings.Fields(c.Scope), Expiration: c.Expiry, UserID: c.Subject,
		Extra: map[string]any{"client_id": c.ClientID, "email": c.Email}}, nil
}

// whoamiResult is what the whoami tool answers.
type whoamiResult struct {
	Subject  string   `json:"subject" jsonschema:"the user (or client) the token was issued to"`
	ClientID string   `json:"clientId" jsonschema:"the client that asked for the token"`
	Email    string   `json:"email,omitempty" jsonschema:"the user's email, when the token carries it"`
	Scopes   []string `json:"scopes" jsonschema:"the token's scopes"`
}

// newMCPServer is the MCP server with its tools.
func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "sigil-example", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "Say whom the caller's Sigil access token was issued to."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoamiResult, error) {
			ti := req.Extra.TokenInfo
			if ti == nil {
				return nil, whoamiResult{}, fmt.Errorf("no verified token")
			}
			out := whoamiResult{Subject: ti.UserID, Scopes: ti.Scopes}
			out.ClientID, _ = ti.Extra["client_id"].(string)
			out.Email, _ = ti.Extra["email"].(string)
			return nil, out, nil
		})
	return s
}
