package web

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/upstream"
)

// Config holds the hosted pages' settings.
type Config struct {
	// Issuer is SIGIL_ISSUER: links, cookie security (https) and the iss
	// parameter of authorization responses derive from it.
	Issuer string
	// TemplateDir, when set, holds templates that replace the embedded
	// ones of the same name.
	TemplateDir string
	// Product is the name shown on the pages (default "Sigil").
	Product string
	// Sealer (the key-encryption keys) protects the console's cookies;
	// nil leaves the console unavailable.
	Sealer Sealer
}

// Limiter is the per-client request limit of the credential endpoints,
// shared with the REST API: Allow reports whether r may proceed and, if
// not, after how long it may.
type Limiter interface {
	Allow(r *http.Request) (bool, time.Duration)
}

// Hooks connect the pages to the HTTP layer's observability.
type Hooks struct {
	// ClientIP is the address used for rate limits and audit events.
	ClientIP func(r *http.Request) string
	// Limiter limits sign-in and sign-up posts (nil: no limit).
	Limiter Limiter
	// Authorize counts the outcome of each authorization request.
	Authorize func(outcome string)
	// LoginResult counts the outcome of each sign-in attempt (an error,
	// or nil for success).
	LoginResult func(err error)
	// RefuseOverloaded writes the busy page to a sign-in or sign-up post
	// refused at admission (its headers are set), after holding it for
	// the queue wait as the API holds its own refusals; nil writes it at
	// once.
	RefuseOverloaded func(w http.ResponseWriter, r *http.Request, body []byte)
}

// Pages serves the hosted pages.
type Pages struct {
	cfg      Config
	auth     *authority.Service
	factors  *mfa.Service
	accounts *account.Service
	oidc     *oidc.Service
	// upstreams is sign-in through other identity providers; nil for
	// none.
	upstreams *upstream.Service
	log       *slog.Logger
	hooks     Hooks
	tmpl      *templates
	secure    bool // the issuer is https: cookies are Secure and __Host-
}

// Services are the domain services the pages call.
type Services struct {
	Auth     *authority.Service
	Factors  *mfa.Service
	Accounts *account.Service
	Flow     *oidc.Service
	// Upstreams is sign-in through other identity providers; nil offers
	// none.
	Upstreams *upstream.Service
}

// New loads the templates (embedded, overridden from cfg.TemplateDir) and
// returns the pages. A template that does not parse is an error here, at
// start, rather than on first use.
func New(cfg Config, d Services, hooks Hooks, log *slog.Logger) (*Pages, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Product == "" {
		cfg.Product = "Sigil"
	}
	if hooks.ClientIP == nil {
		hooks.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	if hooks.Authorize == nil {
		hooks.Authorize = func(string) {}
	}
	if hooks.LoginResult == nil {
		hooks.LoginResult = func(error) {}
	}
	t, err := loadTemplates(cfg.TemplateDir)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	return &Pages{cfg: cfg, auth: d.Auth, factors: d.Factors, accounts: d.Accounts, oidc: d.Flow, upstreams: d.Upstreams, log: log, hooks: hooks, tmpl: t, secure: u.Scheme == "https"}, nil
}

// Register adds the pages' routes to r.
func (p *Pages) Register(r *mux.Router) {
	r.HandleFunc("/login", p.handleLoginPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login", p.admitHashing(p.handleLogin)).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa", p.handleLoginMFA).Methods(http.MethodPost)
	r.HandleFunc("/signup", p.handleSignupPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/signup", p.admitHashing(p.handleSignup)).Methods(http.MethodPost)
	r.HandleFunc("/account", p.handleAccount).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/consent", p.handleConsent).Methods(http.MethodPost)
	r.HandleFunc("/account/consents/revoke", p.handleRevokeConsent).Methods(http.MethodPost)
	r.HandleFunc("/oauth2/authorize", p.handleAuthorize).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/oauth2/logout", p.handleLogout).Methods(http.MethodGet, http.MethodPost)
	r.PathPrefix("/static/").Handler(staticHandler()).Methods(http.MethodGet, http.MethodHead)
	p.registerAccountPages(r)
	p.registerTOTPPages(r)
	p.registerPasskeyPages(r)
	p.registerHome(r)
	p.registerSetup(r)
	p.registerDevicePages(r)
	p.registerUpstreamPages(r)
}

// IsPage reports whether path is served by the pages (their errors are
// pages too, not problem+json).
func IsPage(path string) bool {
	switch path {
	case "/login", "/signup", "/setup", "/account", "/consent", "/account/consents/revoke", "/oauth2/authorize", "/oauth2/logout":
		return true
	}
	return strings.HasPrefix(path, "/static/") || isAccountPage(path) || slices.Contains(totpPaths, path) || slices.Contains(passkeyPaths, path) || slices.Contains(devicePaths, path) || isConsolePage(path)
}

// view is what every template receives.
type view struct {
	Product string
	Title   string
	CSRF    string
	Alert   string
	Notice  string
	Wide    bool
	// Authz carries an authorization request through the sign-in,
	// sign-up and consent forms (its query string), or a device
	// authorization (oidc.DeviceAuthz).
	Authz      string
	Email      string
	Name       string
	ClientName string
	Scopes     []scopeView
	User       authority.User
	Session    oidc.BrowserSession
	Consents   []oidc.Consent
	Hidden     []hiddenField
	// Errors maps a form field's name to the message shown next to it.
	Errors  map[string]string
	Error   errorView
	Scripts []string
	// Styles are extra stylesheets (from /static/) after the common one.
	Styles []string
	// Upstreams are the identity providers the sign-in and sign-up
	// pages offer.
	Upstreams []upstreamButton
	// Data holds what pages added by other features need.
	Data map[string]any
}

type hiddenField struct{ Name, Value string }

type errorView struct {
	Title       string
	Description string
	Code        string
	// Back, when set, is the way back to the sign-in page; BackText
	// its words when it leads elsewhere.
	Back, BackText string
}

// scriptedPages offer passkeys through /static/passkey.js.
var scriptedPages = map[string]bool{"login": true, "mfa": true, "account": true}

// render writes page name with status. formTargets are the origins a
// form on the page may end up redirecting to (the CSP's form-action).
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v view, formTargets ...string) {
	v.Product = p.cfg.Product
	if scriptedPages[name] && !slices.Contains(v.Scripts, passkeyScript) {
		v.Scripts = append(v.Scripts, passkeyScript)
	}
	if v.CSRF == "" {
		v.CSRF = p.csrfToken(w, r)
	}
	if name == "login" || name == "signup" {
		var origins []string
		v.Upstreams, origins = p.upstreamButtons(r)
		formTargets = append(formTargets, origins...)
	}
	var buf bytes.Buffer
	if err := p.tmpl.execute(&buf, name, v); err != nil {
		p.log.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w, v.Scripts, formTargets)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// renderError shows the error page.
func (p *Pages) renderError(w http.ResponseWriter, r *http.Request, status int, title, desc, code string) {
	p.render(w, r, status, "error", view{Error: errorView{Title: title, Description: desc, Code: code}})
}

// renderFailure shows the error page for an unexpected failure: a 503 for
// a database that does not answer, else a 500 whose cause goes to the log
// only.
func (p *Pages) renderFailure(w http.ResponseWriter, r *http.Request, err error) {
	var te *authority.ThrottledError
	if errors.As(err, &te) {
		secs := retrySeconds(te.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		p.renderError(w, r, http.StatusTooManyRequests, "Too many attempts",
			"Too many wrong passwords for this account. Please wait "+humanSeconds(secs)+" and try again.", "temporarily_unavailable")
		return
	}
	if errors.Is(err, authority.ErrUnavailable) || errors.Is(err, authority.ErrOverloaded) {
		w.Header().Set("Retry-After", "5")
		p.renderError(w, r, http.StatusServiceUnavailable, "Temporarily unavailable", "The service is busy or cannot reach its database. Please try again in a few seconds.", "temporarily_unavailable")
		return
	}
	p.log.Error("page request failed", "path", r.URL.Path, "err", err)
	p.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "The request could not be completed.", "server_error")
}

// setPageHeaders sends the security headers of every page: a CSP that
// allows nothing but the page's own stylesheet (and scripts, for pages
// that declare them), forms posting to this origin or to where they
// redirect, no framing, and no Referer.
func setPageHeaders(w http.ResponseWriter, scripts []string, formTargets []string) {
	h := w.Header()
	csp := "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	for _, t := range formTargets {
		if t != "" {
			csp += " " + t
		}
	}
	if len(scripts) > 0 {
		csp += "; script-src 'self'; connect-src 'self'"
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// meta describes a page request for the audit log.
func (p *Pages) meta(r *http.Request) authority.Meta {
	return authority.Meta{IP: p.hooks.ClientIP(r), UserAgent: r.UserAgent()}
}

// formOrigin returns the CSP source of where a redirect to uri goes: its
// scheme and host, or its scheme alone for a native app's private-use
// scheme.
func formOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}
