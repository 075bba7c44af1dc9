package main

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
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
	"mfa":                       {may: []string{"authority", "keys"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"oidc":                      {may: []string{"authority", "mfa", "keys"}, forbidden: []string{"net/http", "database/sql", "html/template"}},
	"mail":                      {may: []string{"authority", "keys"}, forbidden: []string{"net/http", "database/sql"}},
	"store":                     {may: []string{"authority", "mfa", "oidc", "keys", "mail"}, forbidden: []string{"net/http"}},
	"store/storetest":           {},
	"web":                       {may: []string{"authority", "mfa", "oidc"}, forbidden: []string{"database/sql"}},
	"api":                       {may: []string{"authority", "mfa", "oidc", "keys", "web"}, forbidden: []string{"database/sql"}},
	// A resource server imports verify: go-jose and the standard library
	// only, no database driver.
	"verify":               {forbidden: []string{"database/sql", "github.com/lib/pq", "github.com/jmoiron/sqlx", "modernc.org/sqlite"}},
	"cmd/sigil":            {may: []string{"*"}},
	"cmd/sigil-load":       {may: []string{"*"}},
	"cmd/feed":             {may: []string{"verify"}},
	"examples/go-oidc":     {},
	"examples/oidc-webapp": {},
}

// Dependencies point inward, as docs/architecture.md draws them: the
// domain knows no HTTP or SQL, pages and HTTP never reach the store or
// the keys' storage, and a resource server's package pulls in no
// database driver. The test reads every package's imports (test files
// aside) and fails on an edge the map does not allow.
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
