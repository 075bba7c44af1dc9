package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The hosted login page under load. loginpage is a browser's whole first
// sign-in: GET /login, which sets the CSRF cookie and carries its token
// in the form, then POST /login with the email, the password and the
// token, which answers 303 and sets the session cookie. loginpage-post is
// the POST alone: the form is fetched once in set-up and its cookie and
// token reused (the double-submit token stays valid while its cookie
// does), which isolates the sign-in from the page rendering. One ok
// answer is one 303 that set a session cookie. No cookie of a sign-in is
// kept: every sign-in starts signed out, as a new browser does (a
// signed-in one is sent to its account by GET /login).

// loginForm is what a worker posts: the CSRF cookie and the form body.
type loginForm struct {
	cookie *http.Cookie
	body   string
}

// pageClient is the load generator's client reading redirects instead of
// refusing them, without a cookie jar: each request carries only the
// cookie it is given.
func pageClient(l *loader) *http.Client {
	c := *l.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// fetchLoginForm is GET /login from a new browser: it returns the CSRF
// cookie the page set and the form to post with it.
func fetchLoginForm(ctx context.Context, c *http.Client, l *loader) (loginForm, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+"/login", nil)
	if err != nil {
		return loginForm{}, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return loginForm{}, 0, err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return loginForm{}, resp.StatusCode, nil
	}
	m := csrfFieldRE.FindSubmatch(page)
	if m == nil {
		return loginForm{}, resp.StatusCode, fmt.Errorf("GET /login: no CSRF token in the page")
	}
	for _, ck := range resp.Cookies() {
		if ck.Value == string(m[1]) {
			body := url.Values{"csrf_token": {ck.Value}, "email": {l.email}, "password": {l.password}}.Encode()
			return loginForm{cookie: &http.Cookie{Name: ck.Name, Value: ck.Value}, body: body}, resp.StatusCode, nil
		}
	}
	return loginForm{}, resp.StatusCode, fmt.Errorf("GET /login: no cookie holds the form's CSRF token")
}

// postLogin is POST /login with f. It returns the status; a 303 without
// a session cookie is an error.
func postLogin(ctx context.Context, c *http.Client, l *loader, f loginForm) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/login", strings.NewReader(f.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(f.cookie)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, nil
	}
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "sigil_session") && ck.Value != "" && ck.MaxAge >= 0 {
			return resp.StatusCode, nil
		}
	}
	return resp.StatusCode, fmt.Errorf("POST /login: 303 to %q without a session cookie", resp.Header.Get("Location"))
}

func prepareLoginPage(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	c := pageClient(l)
	do := func(ctx context.Context) (int, error) {
		f, st, err := fetchLoginForm(ctx, c, l)
		if err != nil || st != http.StatusOK {
			return st, err
		}
		return postLogin(ctx, c, l, f)
	}
	return probeLoginPage(ctx, do)
}

func prepareLoginPagePost(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	c := pageClient(l)
	f, st, err := fetchLoginForm(ctx, c, l)
	if err != nil {
		return nil, err
	}
	if st == http.StatusNotFound {
		return nil, errUnavailable
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET /login: status %d", st)
	}
	return probeLoginPage(ctx, func(ctx context.Context) (int, error) { return postLogin(ctx, c, l, f) })
}

// probeLoginPage runs one sign-in before the load, as probe does for the
// scenarios that answer 200.
func probeLoginPage(ctx context.Context, do request) (func(int) request, error) {
	st, err := retrying(ctx, func() (int, error) { return do(ctx) })
	if err != nil {
		return nil, err
	}
	if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
		return nil, errUnavailable
	}
	if st != http.StatusSeeOther {
		return nil, fmt.Errorf("probe sign-in on /login: status %d, want 303", st)
	}
	return func(int) request { return do }, nil
}
