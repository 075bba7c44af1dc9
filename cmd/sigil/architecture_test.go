package main

import (
	"bytes"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/sigil-auth/sigil"

// importRules is docs/architecture.md's package map as the test reads it:
// for each package of the module, the module's packages it may import
// and the outside imports it must never have. A package missing here is
// an error, so a new package arrives with its rule.
var importRules = map[string]struct {
	may       []string
	forbidden []string
}{
	"authority":                 {may: []string{"keys", "authority/internal/argon2"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"authority/internal/argon2": {forbidden: []string{"net/http", "database/sql"}},
	"keys":                      {may: []string{"keys/rsasign"}, forbidden: []string{"net/http", "database/sql"}},
	"keys/rsasign":              {forbidden: []string{"net/http", "database/sql"}},
	"keys/keystest":             {may: []string{"keys"}},
	"account":                   {may: []string{"authority"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"cimd":                      {may: []string{"authority"}, forbidden: []string{"database/sql", "html/template"}},
	"inspect":                   {may: []string{"authority", "keys"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"mfa":                       {may: []string{"authority", "keys"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"upstream":                  {may: []string{"authority", "keys"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"upstream/oidcconn":         {may: []string{"upstream"}, forbidden: []string{"database/sql", "html/template"}},
	"upstream/githubconn":       {may: []string{"upstream"}, forbidden: []string{"database/sql", "html/template"}},
	"oidc":                      {may: []string{"authority", "mfa", "keys"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"mail":                      {may: []string{"authority", "keys"}, forbidden: []string{"net/http", "database/sql"}},
	"store":                     {may: []string{"authority", "account", "mfa", "oidc", "upstream", "keys", "mail"}, forbidden: []string{"net/http"}},
	"store/storetest":           {},
	"web":                       {may: []string{"authority", "account", "mfa", "oidc", "upstream"}, forbidden: []string{"database/sql"}},
	"api":                       {may: []string{"authority", "account", "inspect", "mfa", "oidc", "upstream", "keys", "web"}, forbidden: []string{"database/sql"}},
	// A resource server imports verify: go-jose and the standard library
	// only, no database driver.
	"verify":                {forbidden: []string{"database/sql", "github.com/lib/pq", "github.com/jmoiron/sqlx", "modernc.org/sqlite"}},
	"cmd/sigil":             {may: []string{"*"}},
	"cmd/sigil-load":        {may: []string{"*"}},
	"cmd/feed":              {may: []string{"verify"}},
	"bench/rs":              {may: []string{"verify"}},
	"examples/go-oidc":      {},
	"examples/oidc-webapp":  {},
	"examples/mcp-server":   {may: []string{"verify"}},
	"examples/device-login": {},
}

// Dependencies point inward, as docs/architecture.md draws them: the
// domain knows no HTTP or SQL, pages and HTTP never reach the store or
// the keys' storage, and a resource server's package pulls in no
// database driver. The test reads every package's imports (test files
// aside) and fails on an edge the map does not allow; it also wants a
// doc.go in every package and no hand-written file over 500 lines.
func TestImportsFollowTheArchitecture(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		rel, _ := filepath.Rel(root, path)
		if rel != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "bin" || rel == "deploy") {
			return filepath.SkipDir
		}
		pkg, err := build.Default.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		checkPackageFiles(t, rel, path, pkg)
		rule, ok := importRules[rel]
		if !ok {
			t.Errorf("package %s is not in the package map (docs/architecture.md, importRules)", rel)
			return nil
		}
		for _, imp := range pkg.Imports {
			if slices.Contains(rule.forbidden, imp) {
				t.Errorf("%s imports %s, which it must never do", rel, imp)
			}
			own, ok := strings.CutPrefix(imp, modulePath+"/")
			if !ok || slices.Contains(rule.may, "*") || slices.Contains(rule.may, own) {
				continue
			}
			t.Errorf("%s imports %s: not an edge of the package map (docs/architecture.md)", rel, own)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range importRules {
		if !seen[p] {
			t.Errorf("the package map names %s, which does not exist", p)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "docs", "architecture.md")); err != nil {
		t.Errorf("docs/architecture.md: %v", err)
	}
}

// maxFileLines is the most lines a Go file written by hand may have:
// beyond it, a file holds more than one concern and is split along them.
const maxFileLines = 500

// checkPackageFiles fails when the package has no doc.go (saying what it
// owns and what it never does) or a hand-written Go file, test files
// included, longer than maxFileLines.
func checkPackageFiles(t *testing.T, rel, dir string, pkg *build.Package) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
		t.Errorf("package %s has no doc.go", rel)
	}
	files := slices.Concat(pkg.GoFiles, pkg.CgoFiles, pkg.TestGoFiles, pkg.XTestGoFiles, pkg.IgnoredGoFiles)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Error(err)
			continue
		}
		if generated.Match(b) {
			continue
		}
		if n := bytes.Count(b, []byte("\n")); n > maxFileLines {
			t.Errorf("%s/%s has %d lines, more than %d: split it along its concerns", rel, f, n, maxFileLines)
		}
	}
}

// generated matches the line that marks a generated Go file.
var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)
