// Package conventions holds the analyzers of oktasync's own conventions.
// Test files are exempt from all of them; the simulator (internal/oktasim,
// cmd/oktasim) may keep package-level tables.
package conventions

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// NoInit reports init functions: wiring is explicit in cmd/ and jobs/.
var NoInit = &analysis.Analyzer{
	Name: "noinit",
	Doc:  "reports init functions; wire explicitly instead",
	Run: func(pass *analysis.Pass) (any, error) {
		for _, f := range productFiles(pass) {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
					pass.Reportf(fd.Pos(), "init function: wire explicitly in cmd/ or jobs/")
				}
			}
		}
		return nil, nil
	},
}

// NoGlobals reports package-level variables outside the simulator. Allowed:
// blank assertions (var _ I = T{}), sentinel errors (var ErrX =
// errors.New(...)), and variables set by the linker (-ldflags -X), which
// carry a "set by the linker" comment.
var NoGlobals = &analysis.Analyzer{
	Name: "noglobals",
	Doc:  "reports package-level variables (mutable package state)",
	Run: func(pass *analysis.Pass) (any, error) {
		if simulator(pass.Pkg.Path()) {
			return nil, nil
		}
		for _, f := range productFiles(pass) {
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					if linkerSet(gd, vs) {
						continue
					}
					for i, name := range vs.Names {
						if name.Name == "_" || (i < len(vs.Values) && sentinelError(pass, name, vs.Values[i])) {
							continue
						}
						pass.Reportf(name.Pos(), "package-level variable %s: pass state explicitly, or make it a constant or a function", name.Name)
					}
				}
			}
		}
		return nil, nil
	},
}

// WrapErrors reports fmt.Errorf calls that format an error without %w, which
// loses it for errors.Is and errors.As.
var WrapErrors = &analysis.Analyzer{
	Name: "wraperrors",
	Doc:  "reports fmt.Errorf with an error argument but no %w",
	Run: func(pass *analysis.Pass) (any, error) {
		errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
		for _, f := range productFiles(pass) {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !isFunc(pass, call.Fun, "fmt", "Errorf") || len(call.Args) < 2 {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || strings.Contains(lit.Value, "%w") {
					return true
				}
				for _, a := range call.Args[1:] {
					if t := pass.TypesInfo.TypeOf(a); t != nil && types.Implements(t, errType) {
						pass.Reportf(a.Pos(), "fmt.Errorf formats an error without %%w: wrap it")
						break
					}
				}
				return true
			})
		}
		return nil, nil
	},
}

// ContextFirst reports functions taking a context.Context anywhere but first.
var ContextFirst = &analysis.Analyzer{
	Name: "contextfirst",
	Doc:  "reports context.Context parameters that are not the first",
	Run: func(pass *analysis.Pass) (any, error) {
		for _, f := range productFiles(pass) {
			ast.Inspect(f, func(n ast.Node) bool {
				var ft *ast.FuncType
				switch x := n.(type) {
				case *ast.FuncDecl:
					ft = x.Type
				case *ast.FuncLit:
					ft = x.Type
				default:
					return true
				}
				i := 0
				for _, field := range ft.Params.List {
					names := max(len(field.Names), 1)
					if t := pass.TypesInfo.TypeOf(field.Type); t != nil && t.String() == "context.Context" && i > 0 {
						pass.Reportf(field.Pos(), "context.Context must be the first parameter")
					}
					i += names
				}
				return true
			})
		}
		return nil, nil
	},
}

func productFiles(pass *analysis.Pass) []*ast.File {
	var out []*ast.File
	for _, f := range pass.Files {
		name := pass.Fset.File(f.Pos()).Name()
		if !strings.HasSuffix(name, "_test.go") {
			out = append(out, f)
		}
	}
	return out
}

// simulator reports the packages that may keep package-level state: the
// simulator and the test-only helpers (imported by tests alone).
func simulator(pkg string) bool {
	return strings.Contains(pkg, "/internal/oktasim") || strings.HasSuffix(pkg, "/cmd/oktasim") ||
		strings.HasSuffix(pkg, "/internal/neo4jtest")
}

func linkerSet(gd *ast.GenDecl, vs *ast.ValueSpec) bool {
	for _, cg := range []*ast.CommentGroup{gd.Doc, vs.Doc, vs.Comment} {
		if cg != nil && strings.Contains(cg.Text(), "set by the linker") {
			return true
		}
	}
	return false
}

func sentinelError(pass *analysis.Pass, name *ast.Ident, value ast.Expr) bool {
	call, ok := value.(*ast.CallExpr)
	return ok && (strings.HasPrefix(name.Name, "Err") || strings.HasPrefix(name.Name, "err")) && isFunc(pass, call.Fun, "errors", "New")
}

func isFunc(pass *analysis.Pass, fun ast.Expr, pkg, name string) bool {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	obj, ok := pass.TypesInfo.Uses[sel.Sel].(*types.Func)
	return ok && obj.Pkg() != nil && obj.Pkg().Path() == pkg
}

// ProductOnly returns a copy of a that reports only in non-test files.
func ProductOnly(a *analysis.Analyzer) *analysis.Analyzer {
	c := *a
	c.Run = func(pass *analysis.Pass) (any, error) {
		report := pass.Report
		p := *pass
		p.Report = func(d analysis.Diagnostic) {
			if !strings.HasSuffix(pass.Fset.File(d.Pos).Name(), "_test.go") {
				report(d)
			}
		}
		return a.Run(&p)
	}
	return &c
}
