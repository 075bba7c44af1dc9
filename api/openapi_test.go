package api

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/web"
)

// fullRouter is the router `serve` runs: the API and the hosted pages.
func fullRouter(t *testing.T) *mux.Router {
	t.Helper()
	s := &Server{metrics: NewMetrics(&keys.Ring{})}
	s.router = s.routes()
	if err := s.MountPages(web.Config{Issuer: "http://sigil.test"}); err != nil {
		t.Fatal(err)
	}
	return s.router
}

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// prefixRoutes names, for a PathPrefix route, the path it has in the
// document.
var prefixRoutes = map[string]string{"/static/": "/static/{file}"}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

// Every route of the router is documented with each of its methods, and
// every documented operation is answered by a route of that path and
// method (not the not-found or method-not-allowed handler).
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	r := fullRouter(t)
	documented := map[string]bool{} // "METHOD path"
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var routes []string
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		if p, ok := prefixRoutes[path]; ok {
			path = p
		}
		methods, err := route.GetMethods()
		if err != nil { // any method: at least one must be documented
			if !slices.ContainsFunc(slices.Collect(maps.Keys(documented)), func(k string) bool { return strings.HasSuffix(k, " "+path) }) {
				t.Errorf("route %s (any method) is not in openapi.yaml", path)
			}
			routes = append(routes, "* "+path)
			return nil
		}
		for _, m := range methods {
			if m == http.MethodHead {
				continue // answered like GET
			}
			routes = append(routes, m+" "+path)
			if !documented[m+" "+path] {
				t.Errorf("route %s %s is not in openapi.yaml", m, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for op := range documented {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, paramRE.ReplaceAllString(path, "x"), nil)
		req.Header.Set("Accept", "text/html") // the landing page at / answers browsers only
		var m mux.RouteMatch
		if !r.Match(req, &m) || m.MatchErr != nil || m.Route == nil {
			t.Errorf("openapi.yaml documents %s, which no route serves", op)
			continue
		}
		tpl, _ := m.Route.GetPathTemplate()
		if p, ok := prefixRoutes[tpl]; ok {
			tpl = p
		}
		if tpl != path {
			t.Errorf("openapi.yaml documents %s, served by route %s", op, tpl)
		}
	}
	if len(routes) < 30 {
		t.Errorf("walked only %d routes: %v", len(routes), routes)
	}
}
