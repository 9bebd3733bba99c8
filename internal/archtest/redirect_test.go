package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every outbound HTTP client of the project sets its redirect policy on purpose. Go's default
// follows up to ten redirects, turning a POST into a GET without its body (301, 302, 303) and
// keeping most headers: the event outbox once counted a receiver's 302 as a delivery (the GET to
// the redirect's target answered 200), and the PortOne client read a proxy's 302 with a
// decline-shaped body as a decline of a charge PortOne had taken. The rule, over non-test Go code
// (generated or hand-written, test helpers included; testdata excluded, as the go tool does):
//
//   - an http.Client composite literal names CheckRedirect (internal/nofollow has the usual
//     value, nofollow.CheckRedirect; nofollow.Client and nofollow.Strict build such clients);
//   - no new(http.Client) and no `var c http.Client` (a zero client follows);
//   - no http.Get, http.Post, http.PostForm, http.Head or http.DefaultClient (they follow).

// redirectBanned are the net/http identifiers that use the default client.
var redirectBanned = []string{"Get", "Post", "PostForm", "Head", "DefaultClient"}

// redirectViolations lists where one file's source breaks the rule, as "file:line: what".
func redirectViolations(fset *token.FileSet, f *ast.File) []string {
	httpName := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "net/http" {
			httpName = "http"
			if imp.Name != nil {
				httpName = imp.Name.Name
			}
		}
	}
	if httpName == "" || httpName == "_" {
		return nil
	}
	isHTTP := func(e ast.Expr, name string) bool {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != name {
			return false
		}
		id, ok := sel.X.(*ast.Ident)
		return ok && id.Name == httpName
	}
	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if n.Type == nil || !isHTTP(n.Type, "Client") {
				return true
			}
			named := slices.ContainsFunc(n.Elts, func(e ast.Expr) bool {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					return false
				}
				k, ok := kv.Key.(*ast.Ident)
				return ok && k.Name == "CheckRedirect"
			})
			if !named {
				report(n, "%s.Client{...} without CheckRedirect follows redirects (use nofollow.Client, or set CheckRedirect on purpose)", httpName)
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "new" && len(n.Args) == 1 && isHTTP(n.Args[0], "Client") {
				report(n, "new(%s.Client) follows redirects (use nofollow.Client)", httpName)
			}
		case *ast.ValueSpec:
			if n.Type != nil && isHTTP(n.Type, "Client") {
				report(n, "a %s.Client value declared without CheckRedirect follows redirects (use nofollow.Client)", httpName)
			}
		case *ast.SelectorExpr:
			for _, b := range redirectBanned {
				if isHTTP(n, b) {
					report(n, "%s.%s uses the default client, which follows redirects (use nofollow.Client)", httpName, b)
				}
			}
		}
		return true
	})
	return out
}

// TestOutboundHTTPClientsDoNotFollowRedirects applies the rule to the module's non-test Go files.
func TestOutboundHTTPClientsDoNotFollowRedirects(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		bad = append(bad, redirectViolations(fset, f)...)
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 100, "the walk found too few Go files: is the root right?")
	for _, b := range bad {
		t.Error(strings.TrimPrefix(b, root+string(filepath.Separator)))
	}
}

// TestRedirectRuleCatchesEachForm proves the checker on small sources, so that the walk above
// cannot pass by seeing nothing.
func TestRedirectRuleCatchesEachForm(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"client without CheckRedirect", `var _ = &http.Client{Timeout: 1}`, 1},
		{"client with CheckRedirect", `var _ = &http.Client{Timeout: 1, CheckRedirect: nil}`, 0},
		{"empty client", `var _ = http.Client{}`, 1},
		{"new client", `var _ = new(http.Client)`, 1},
		{"zero client value", `var c http.Client`, 1},
		{"pointer field is fine", `type T struct{ C *http.Client }`, 0},
		{"http.Get", `func f() { _, _ = http.Get("x") }`, 1},
		{"http.Post", `func f() { _, _ = http.Post("x", "", nil) }`, 1},
		{"http.PostForm", `func f() { _, _ = http.PostForm("x", nil) }`, 1},
		{"http.Head", `func f() { _, _ = http.Head("x") }`, 1},
		{"http.DefaultClient", `func f() { _, _ = http.DefaultClient.Do(nil) }`, 1},
		{"a client's own Get is fine", `func f(c *http.Client) { _, _ = c.Get("x") }`, 0},
		{"renamed import", `var _ = &nethttp.Client{}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp := `"net/http"`
			if strings.Contains(tc.body, "nethttp") {
				imp = `nethttp "net/http"`
			}
			src := "package p\nimport " + imp + "\n" + tc.body + "\n"
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", src, 0)
			require.NoError(t, err)
			got := redirectViolations(fset, f)
			require.Len(t, got, tc.want, "%v", got)
		})
	}
}
