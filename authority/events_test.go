package authority_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/authority"
)

// sourceFiles parses every non-test Go file of the module (the examples
// are modules of their own).
func sourceFiles(t *testing.T) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "examples" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// eventConstants returns the Event* constants of authority and keys by
// name.
func eventConstants(files []*ast.File) map[string]string {
	consts := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Event") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						consts[n.Name] = v
					}
				}
			}
		}
	}
	return consts
}

// Every audit event Sigil writes has a type from the one list,
// authority.AuditEventTypes: each Event literal's Type (in any package)
// is one of the Event* constants, or a variable or parameter that only
// ever holds them. A string literal, or a constant outside the list,
// fails.
func TestEveryAuditEventWrittenIsInTheList(t *testing.T) {
	files := sourceFiles(t)
	consts := eventConstants(files)
	listed := map[string]bool{}
	for _, typ := range authority.AuditEventTypes {
		if listed[typ] {
			t.Errorf("%s is listed twice", typ)
		}
		listed[typ] = true
	}
	for name, v := range consts {
		if !listed[v] {
			t.Errorf("constant %s (%q) is not in AuditEventTypes", name, v)
		}
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	// calls returns the arguments at index i of every call of name.
	calls := func(name string, i int) []ast.Expr {
		var args []ast.Expr
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok || i >= len(c.Args) {
					return true
				}
				switch fn := c.Fun.(type) {
				case *ast.Ident:
					if fn.Name == name {
						args = append(args, c.Args[i])
					}
				case *ast.SelectorExpr:
					if fn.Sel.Name == name {
						args = append(args, c.Args[i])
					}
				}
				return true
			})
		}
		return args
	}
	var check func(e ast.Expr, in *ast.FuncDecl, where string, depth int)
	check = func(e ast.Expr, in *ast.FuncDecl, where string, depth int) {
		name := ""
		switch v := e.(type) {
		case *ast.BasicLit:
			t.Errorf("%s: audit event type %s written as a literal; use a constant of the list", where, v.Value)
			return
		case *ast.SelectorExpr:
			if v.Sel.Name == "Type" {
				// A copy of another event's type (read back from the
				// database, or a key change's event becoming an audit
				// row): checked where that event is written.
				return
			}
			name = v.Sel.Name
		case *ast.Ident:
			name = v.Name
		default:
			t.Errorf("%s: audit event type from an expression the test cannot follow", where)
			return
		}
		if val, ok := consts[name]; ok {
			if !listed[val] {
				t.Errorf("%s: %s (%q) is not in AuditEventTypes", where, name, val)
			}
			return
		}
		if in == nil || depth > 3 {
			t.Errorf("%s: audit event type %s is not an Event* constant", where, name)
			return
		}
		// A parameter: every call passes a listed type.
		idx := 0
		for _, field := range in.Type.Params.List {
			for _, n := range field.Names {
				if n.Name == name {
					args := calls(in.Name.Name, idx)
					if len(args) == 0 {
						t.Errorf("%s: parameter %s of %s, which nothing calls", where, name, in.Name.Name)
					}
					for _, a := range args {
						check(a, nil, where+" via a call of "+in.Name.Name, depth+1)
					}
					return
				}
				idx++
			}
		}
		// A local variable: every assignment is a listed type.
		found := false
		ast.Inspect(in.Body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != len(as.Rhs) {
				return true
			}
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name {
					found = true
					check(as.Rhs[i], in, where+" via "+name, depth+1)
				}
			}
			return true
		})
		if !found {
			t.Errorf("%s: cannot tell where the audit event type %s comes from", where, name)
		}
	}
	seen := 0
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				cl, ok := n.(*ast.CompositeLit)
				if !ok || !isEventType(cl.Type) {
					return true
				}
				for _, el := range cl.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Type" {
							seen++
							check(kv.Value, fd, f.Name.Name+"."+fd.Name.Name, 0)
						}
					}
				}
				return true
			})
		}
	}
	if seen < 50 {
		t.Fatalf("found only %d audit events written: the scan misses the code", seen)
	}
}

func isEventType(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.Ident:
		return v.Name == "Event"
	case *ast.SelectorExpr:
		x, ok := v.X.(*ast.Ident)
		return ok && v.Sel.Name == "Event" && (x.Name == "authority" || x.Name == "keys")
	}
	return false
}

// docs/security.md lists exactly the audit event types of the list, each
// with its meaning.
func TestAuditEventTypesDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### Audit event types")
	if start < 0 {
		t.Fatal("docs/security.md has no \"### Audit event types\" section")
	}
	section := doc[start+len("### Audit event types"):]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| .+\\|$").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	for _, typ := range authority.AuditEventTypes {
		if !slices.Contains(documented, typ) {
			t.Errorf("docs/security.md does not document the audit event type %s", typ)
		}
	}
	for _, typ := range documented {
		if !slices.Contains(authority.AuditEventTypes, typ) {
			t.Errorf("docs/security.md documents %s, which Sigil never writes", typ)
		}
	}
}
