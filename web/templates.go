package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

//go:embed templates/*.html
var embedded embed.FS

//go:embed static
var staticFS embed.FS

// templates holds one parsed template set per page: the layout, the
// page, and the partials every page may use.
type templates struct {
	pages map[string]*template.Template
}

// layoutFiles are parsed into every page's set: the layout and the
// templates several pages share.
var layoutFiles = []string{"layout.html", "console_nav.html", "console_upstream_fields.html"}

// funcs are the functions every template may call.
var funcs = template.FuncMap{
	"join":     strings.Join,
	"has":      has,
	"duration": durationOf,
	"device":   deviceName,
	// when writes a time (a time.Time or a *time.Time) in UTC to the
	// minute, or a dash for none.
	"when": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}

// loadTemplates parses every embedded page. A file of the same name in
// dir (when set) replaces the embedded one; a file in dir that is not an
// embedded name adds a page.
func loadTemplates(dir string) (*templates, error) {
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("SIGIL_TEMPLATE_DIR: %w", err)
			}
		}
		b, err := embedded.ReadFile("templates/" + name)
		return string(b), err
	}
	names := map[string]bool{}
	entries, _ := fs.ReadDir(embedded, "templates")
	for _, e := range entries {
		names[e.Name()] = true
	}
	if dir != "" {
		local, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("SIGIL_TEMPLATE_DIR: %w", err)
		}
		for _, e := range local {
			if strings.HasSuffix(e.Name(), ".html") && !e.IsDir() {
				names[e.Name()] = true
			}
		}
	}
	var base []string
	for _, f := range layoutFiles {
		src, err := read(f)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		base = append(base, src)
	}
	t := &templates{pages: map[string]*template.Template{}}
	for name := range names {
		if isLayout(name) {
			continue
		}
		src, err := read(name)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		set := template.New("page").Funcs(funcs)
		for i, b := range base {
			if _, err := set.New(layoutFiles[i]).Parse(b); err != nil {
				return nil, fmt.Errorf("template %s: %w", layoutFiles[i], err)
			}
		}
		if _, err := set.New(name).Parse(src); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		t.pages[strings.TrimSuffix(name, ".html")] = set
	}
	return t, nil
}

// has reports whether list (a []string, or nothing) holds s.
func has(list any, s string) bool {
	l, _ := list.([]string)
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func isLayout(name string) bool {
	for _, f := range layoutFiles {
		if f == name {
			return true
		}
	}
	return false
}

// execute renders page name inside the layout.
func (t *templates) execute(w io.Writer, name string, data any) error {
	set, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	return set.ExecuteTemplate(w, "layout", data)
}

// staticHandler serves the embedded stylesheet and scripts, cacheable for
// a day.
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
