package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "device-login:", err)
		os.Exit(1)
	}
}

// run parses the flags, asks Sigil for a device code, shows the user
// code and polls until the user has answered or the code has expired.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("device-login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "Sigil's issuer URL (SIGIL_ISSUER)")
	clientID := fs.String("client-id", "", "the client's id; it must have the grant urn:ietf:params:oauth:grant-type:device_code")
	secret := fs.String("client-secret", os.Getenv("DEVICE_LOGIN_CLIENT_SECRET"), "the secret of a confidential client (default $DEVICE_LOGIN_CLIENT_SECRET; none for a public client)")
	scope := fs.String("scope", "openid", "scopes to ask for, space-separated")
	resource := fs.String("resource", "", "a registered resource (RFC 8707) the access token is for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clientID == "" {
		return errors.New("-client-id is required")
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	ep, err := discover(ctx, hc, *issuer)
	if err != nil {
		return err
	}
	conf := oauth2.Config{ClientID: *clientID, ClientSecret: *secret, Scopes: strings.Fields(*scope), Endpoint: ep}
	var opts []oauth2.AuthCodeOption
	if *resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", *resource))
	}
	da, err := conf.DeviceAuth(ctx, opts...)
	if err != nil {
		return fmt.Errorf("device authorization: %w", err)
	}
	fmt.Fprintf(stderr, "To sign in, open %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(stderr, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintf(stderr, "The code expires at %s. Waiting…\n", da.Expiry.Local().Format(time.Kitchen))
	// The device code stays in this process's memory; resource is sent
	// again with each poll only if set, as RFC 8707 allows.
	tok, err := conf.DeviceAccessToken(ctx, da, opts...)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		return errors.New("the request was denied in the browser")
	case errors.As(err, &re) && re.ErrorCode == "expired_token":
		return errors.New("the code expired before it was confirmed; run again")
	case err != nil:
		return err
	}
	fmt.Fprintf(stderr, "Signed in. The access token expires at %s", tok.Expiry.Local().Format(time.Kitchen))
	if tok.RefreshToken != "" {
		fmt.Fprint(stderr, "; a refresh token was issued too")
	}
	fmt.Fprintln(stderr, ".")
	fmt.Fprintln(stdout, tok.AccessToken)
	return nil
}

// discover reads the token and device authorization endpoints from
// Sigil's RFC 8414 metadata.
func discover(ctx context.Context, hc *http.Client, issuer string) (oauth2.Endpoint, error) {
	u := strings.TrimRight(issuer, "/") + "/.well-known/oauth-authorization-server"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return oauth2.Endpoint{}, fmt.Errorf("metadata: %s answered %s", u, resp.Status)
	}
	var md struct {
		Issuer string `json:"issuer"`
		Token  string `json:"token_endpoint"`
		Device string `json:"device_authorization_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&md); err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("metadata: %w", err)
	}
	switch {
	case md.Issuer != issuer:
		// RFC 8414 §3.3: the metadata must be the issuer's own.
		return oauth2.Endpoint{}, fmt.Errorf("metadata: issuer %q, want %q", md.Issuer, issuer)
	case md.Device == "":
		return oauth2.Endpoint{}, errors.New("metadata: this server does not offer the device grant")
	}
	return oauth2.Endpoint{TokenURL: md.Token, DeviceAuthURL: md.Device, AuthStyle: oauth2.AuthStyleInParams}, nil
}
