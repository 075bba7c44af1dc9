package web

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every embedded page renders inside the layout.
func TestEveryPageRenders(t *testing.T) {
	tm, err := loadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	for name := range tm.pages {
		var buf bytes.Buffer
		if err := tm.execute(&buf, name, view{Product: "Sigil", CSRF: "tok"}); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(buf.String(), "<!doctype html>") || !strings.Contains(buf.String(), `href="/static/sigil.css"`) {
			t.Errorf("%s: not inside the layout:\n%s", name, buf.String())
		}
	}
}

// A file in the template directory replaces the embedded page of the same
// name; a broken one is an error at load time.
func TestTemplateDirOverrides(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "login.html"), []byte(`{{define "title"}}Welcome{{end}}{{define "content"}}<p>ACME sign-in {{.CSRF}}</p>{{end}}`), 0o644)
	tm, err := loadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tm.execute(&buf, "login", view{Product: "Sigil", CSRF: "tok"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "ACME sign-in tok") || !strings.Contains(buf.String(), "<title>Welcome") {
		t.Errorf("override not used:\n%s", buf.String())
	}
	os.WriteFile(filepath.Join(dir, "consent.html"), []byte(`{{define "content"}}{{.Nope`), 0o644)
	if _, err := loadTemplates(dir); err == nil || !strings.Contains(err.Error(), "consent.html") {
		t.Errorf("broken template: %v", err)
	}
}
