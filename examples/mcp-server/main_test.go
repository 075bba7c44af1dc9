package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sigil-auth/sigil/verify"
)

const adminEmail, adminPassword = "root@example.com", "admin password 123"

// startSigil builds and runs the real `sigil serve` on a free port with a
// fresh SQLite database and an administrator; it returns the issuer URL
// once /readyz is 200.
func startSigil(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := os.Getenv("SIGIL_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "sigil")
		if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/sigil").CombinedOutput(); err != nil {
			t.Fatalf("build sigil: %v\n%s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SIGIL_ADDR="+addr, "SIGIL_ISSUER="+base,
		"SIGIL_DATABASE_URL=sqlite:"+filepath.Join(dir, "sigil.db"), "SIGIL_ARGON2_MEMORY=1024",
		"SIGIL_ARGON2_TIME=1", "SIGIL_RATE_LIMIT=0", "SIGIL_LOG_LEVEL=warn",
		"SIGIL_ADMIN_EMAIL="+adminEmail, "SIGIL_ADMIN_PASSWORD="+adminPassword)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); ; {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigil did not become ready:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post sends a JSON body (or form, when form is set) and decodes the
// JSON answer.
func post(t *testing.T, u, token string, body any, form url.Values) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	ct := "application/json"
	if form != nil {
		rd, ct = bytes.NewReader([]byte(form.Encode())), "application/x-www-form-urlencoded"
	} else {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, u, rd)
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(r.Body).Decode(&out)
	return r.StatusCode, out
}

// bearer is an HTTP client that sends token with every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// An agent's token for the MCP server's resource opens an MCP session
// (the official Go SDK's client) and its tools see whom the token is
// for; without a token, or with one for another audience, the server
// answers 401 pointing at its metadata, which points at Sigil.
func TestMCPServerAcceptsSigilTokensForItsResource(t *testing.T) {
	sigil := startSigil(t)
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resource := "http://" + ln.Addr().String() + "/mcp"

	st, b := post(t, sigil+"/auth/login", "", map[string]string{"email": adminEmail, "password": adminPassword}, nil)
	if st != http.StatusOK {
		t.Fatalf("admin login: %d %v", st, b)
	}
	admin := b["token"].(string)
	if st, b := post(t, sigil+"/admin/resources", admin, map[string]string{"uri": resource, "name": "Example MCP"}, nil); st != http.StatusCreated {
		t.Fatalf("register the resource: %d %v", st, b)
	}
	st, c := post(t, sigil+"/admin/clients", admin, map[string]any{"name": "agent", "scopes": []string{"notes.read"}}, nil)
	if st != http.StatusCreated {
		t.Fatalf("create client: %d %v", st, c)
	}
	clientID, secret := c["clientId"].(string), c["clientSecret"].(string)
	token := func(resource string) string {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
		if resource != "" {
			form.Set("resource", resource)
		}
		st, tok := post(t, sigil+"/oauth2/token", "", nil, form)
		if st != http.StatusOK {
			t.Fatalf("client_credentials (resource %q): %d %v", resource, st, tok)
		}
		return tok["access_token"].(string)
	}

	v, err := verify.New(ctx, sigil, verify.WithResource(resource))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(routes(v, "/mcp"))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	// Discovery from the resource alone: the 401's metadata names Sigil.
	r, err := http.Post(resource, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	challenge := r.Header.Get("WWW-Authenticate")
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, `resource_metadata="`+v.ResourceMetadataURL()+`"`) {
		t.Fatalf("no token: %d %q", r.StatusCode, challenge)
	}
	r, err = http.Get(v.ResourceMetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Resource string   `json:"resource"`
		Servers  []string `json:"authorization_servers"`
	}
	err = json.NewDecoder(r.Body).Decode(&meta)
	r.Body.Close()
	if err != nil || meta.Resource != resource || len(meta.Servers) != 1 || meta.Servers[0] != sigil {
		t.Fatalf("metadata: %+v %v", meta, err)
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "sigil-test-agent", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: &http.Client{Transport: bearer{token(resource)}}}, nil)
	if err != nil {
		t.Fatalf("connect with a token for the resource: %v", err)
	}
	defer session.Close()
	tools, err := session.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "whoami" {
		t.Fatalf("tools: %+v %v", tools, err)
	}
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %+v %v", res, err)
	}
	var who whoamiResult
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &who); err != nil || who.Subject != clientID || who.ClientID != clientID || len(who.Scopes) != 1 || who.Scopes[0] != "notes.read" {
		t.Fatalf("whoami answered %s (%v)", raw, err)
	}

	// The same client's token without the resource is for its own
	// audience, not this server's.
	if s, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: &http.Client{Transport: bearer{token("")}}}, nil); err == nil {
		s.Close()
		t.Fatal("a token for another audience opened a session")
	}
}
