package cimd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// Cache lifetimes of a document (from its Cache-Control, within these
// bounds) and of a failure to get one.
const (
	defaultCache = 5 * time.Minute
	minCache     = time.Minute
	maxCache     = 24 * time.Hour
	failureCache = 30 * time.Second
	// maxEntries bounds the cache; when full it is emptied, as a flood
	// of made-up client ids must not grow memory.
	maxEntries = 10_000
)

// Config holds the settings of client ID metadata documents.
type Config struct {
	// AllowLoopback lets documents be fetched over http from a loopback
	// address, for tests (SIGIL_TEST_CIMD_LOOPBACK). Never in production:
	// it is a door to the server's own loopback services.
	AllowLoopback bool
}

// Service resolves client ID metadata documents for the core.
type Service struct {
	core   *authority.Service
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	entries map[string]entry
	// inflight shares one fetch among concurrent lookups of a URL.
	inflight map[string]*call
}

type entry struct {
	client  authority.Client
	err     error
	expires time.Time
}

type call struct {
	done chan struct{}
	e    entry
}

// New returns the resolver and sets it as core's ClientDocuments, which
// turns client ID metadata documents on.
func New(core *authority.Service, cfg Config) *Service {
	s := &Service{core: core, cfg: cfg, client: newHTTPClient(cfg.AllowLoopback),
		entries: map[string]entry{}, inflight: map[string]*call{}}
	if cfg.AllowLoopback {
		core.Log().Warn("client ID metadata documents may be fetched from loopback addresses over http: a setting for tests only (SIGIL_TEST_CIMD_LOOPBACK)")
	}
	core.SetClientDocuments(s)
	return s
}

// DocumentURL reports whether id has the shape of a document URL.
func (s *Service) DocumentURL(id string) bool {
	return authority.DocumentClientID(id) || (s.cfg.AllowLoopback && authority.LoopbackDocumentClientID(id))
}

// ClientDocument returns the client the document at u describes, from
// the cache while it is fresh. A document that cannot be fetched or does
// not describe a valid client is authority.ErrNotFound (the reason is
// logged), as an unknown client id is.
func (s *Service) ClientDocument(ctx context.Context, u string) (authority.Client, error) {
	if !s.DocumentURL(u) {
		return authority.Client{}, authority.ErrNotFound
	}
	now := s.core.Now()
	s.mu.Lock()
	if e, ok := s.entries[u]; ok && now.Before(e.expires) {
		s.mu.Unlock()
		return e.client, e.err
	}
	c, ok := s.inflight[u]
	if !ok {
		c = &call{done: make(chan struct{})}
		s.inflight[u] = c
		go s.resolve(u, c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.e.client, c.e.err
	case <-ctx.Done():
		return authority.Client{}, ctx.Err()
	}
}

// resolve fetches and checks the document at u, under a context of its
// own (one caller giving up does not cancel it for the others), and
// caches the outcome.
func (s *Service) resolve(u string, c *call) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	body, ttl, err := s.fetch(ctx, u)
	var cl authority.Client
	if err == nil {
		cl, err = s.parse(u, body)
	}
	if err != nil {
		s.core.Log().Warn("client ID metadata document refused", "client_id", u, "err", err)
		c.e = entry{err: authority.ErrNotFound, expires: s.core.Now().Add(failureCache)}
	} else {
		c.e = entry{client: cl, expires: s.core.Now().Add(ttl)}
	}
	s.mu.Lock()
	if len(s.entries) >= maxEntries {
		s.entries = map[string]entry{}
	}
	s.entries[u] = c.e
	delete(s.inflight, u)
	s.mu.Unlock()
	close(c.done)
}

// document is the part of a client ID metadata document Sigil reads
// (RFC 7591 client metadata); other members are ignored.
type document struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
}

// maxRedirects bounds a document's redirect URIs.
const maxRedirects = 10

// parse checks a document and returns the client it describes.
func (s *Service) parse(u string, body []byte) (authority.Client, error) {
	var d document
	if err := json.Unmarshal(body, &d); err != nil {
		return authority.Client{}, fmt.Errorf("the document is not a JSON object of client metadata: %w", err)
	}
	if d.ClientID != u {
		return authority.Client{}, fmt.Errorf("its client_id %q is not the URL it was fetched from", d.ClientID)
	}
	if d.TokenEndpointAuthMethod != "" && d.TokenEndpointAuthMethod != "none" {
		return authority.Client{}, fmt.Errorf("token_endpoint_auth_method %q: a metadata document's client is public (none)", d.TokenEndpointAuthMethod)
	}
	if len(d.RedirectURIs) == 0 || len(d.RedirectURIs) > maxRedirects {
		return authority.Client{}, fmt.Errorf("it must list 1 to %d redirect_uris", maxRedirects)
	}
	for _, r := range d.RedirectURIs {
		if err := authority.ValidateRedirectURI(r); err != nil {
			return authority.Client{}, fmt.Errorf("redirect_uris: %w", err)
		}
	}
	grants := []string{"authorization_code", "refresh_token"}
	for _, g := range d.GrantTypes {
		if !slices.Contains(grants, g) {
			return authority.Client{}, fmt.Errorf("grant type %q: a metadata document's client may use authorization_code and refresh_token only", g)
		}
	}
	if len(d.GrantTypes) > 0 {
		grants = slices.Clone(d.GrantTypes)
		if !slices.Contains(grants, "authorization_code") {
			return authority.Client{}, errors.New("grant_types must include authorization_code")
		}
	}
	for _, rt := range d.ResponseTypes {
		if rt != "code" {
			return authority.Client{}, fmt.Errorf("response type %q: only code is supported", rt)
		}
	}
	scopes, err := authority.ParseScope(d.Scope)
	if err != nil {
		return authority.Client{}, fmt.Errorf("scope: %w", err)
	}
	if slices.Contains(scopes, authority.ScopeAdmin) {
		return authority.Client{}, fmt.Errorf("scope: %s is never given to a third-party client", authority.ScopeAdmin)
	}
	name := strings.TrimSpace(d.ClientName)
	host := hostOf(u)
	if name == "" || len(name) > 200 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		name = host
	}
	return authority.Client{ID: u, Name: name, Scopes: scopes, RedirectURIs: slices.Clone(d.RedirectURIs), GrantTypes: grants,
		Public: true, Document: true}, nil
}

// hostOf is the host of a document URL, as the consent page names it.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Host
}
