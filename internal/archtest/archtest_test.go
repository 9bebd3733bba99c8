package archtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pkg is the part of `go list` output the rules need (Imports and Deps for the module's own
// packages only).
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// graph caches one listing for both tests: `go list -deps` over the Temporal server's tree takes
// seconds.
var graph struct {
	once sync.Once
	own  []pkg
	all  map[string]pkg
	err  error
}

// listed returns the module's own packages and every package by import path (the standard
// library included), from one `go list -deps -json ./...` at the module root.
func listed(t *testing.T) (own []pkg, all map[string]pkg) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH, so the import graph cannot be listed")
	}
	graph.once.Do(func() { graph.own, graph.all, graph.err = list() })
	require.NoError(t, graph.err)
	require.NotEmpty(t, graph.own, "go list found none of the module's packages")
	return graph.own, graph.all
}

func list() (own []pkg, all map[string]pkg, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A template rather than -json: the JSON of the whole graph (the Temporal server's tree) is
	// about 18 MB, slow to decode under -race; these four fields are all the rules need.
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f",
		"{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	all = map[string]pkg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			return nil, nil, fmt.Errorf("go list: unexpected line %q", sc.Text())
		}
		p := pkg{ImportPath: f[0], Standard: f[1] == "true"}
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			p.Imports, p.Deps = strings.Fields(f[2]), strings.Fields(f[3])
			own = append(own, p)
		}
		all[p.ImportPath] = p
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read go list output: %w", err)
	}
	return own, all, nil
}

func rel(path string) string { return strings.TrimPrefix(path, module+"/") }

// TestImportsFollowTheArchitecture checks every package's direct project imports against the
// table, and the transitive rules.
func TestImportsFollowTheArchitecture(t *testing.T) {
	own, all := listed(t)
	for _, p := range own {
		name := rel(p.ImportPath)
		may, ok := allowed[name]
		if !ok {
			t.Errorf("%s has no row in docs/architecture.md's package table (and in internal/archtest/rules_test.go): add one", name)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if !slices.Contains(may, "*") && !slices.Contains(may, rel(imp)) {
				t.Errorf("%s imports %s, which docs/architecture.md does not allow (may import: %v)", name, rel(imp), may)
			}
		}
	}
	for _, name := range stdlibOnly {
		p, ok := all[module+"/"+name]
		require.True(t, ok, "%s is not in the module any more: update the rules", name)
		for _, d := range p.Deps {
			if dep, ok := all[d]; ok && !dep.Standard {
				t.Errorf("%s must depend on the standard library only, but depends on %s", name, d)
			}
		}
	}
	for _, p := range own {
		name := rel(p.ImportPath)
		if slices.Contains(mayDependOnServer, name) {
			continue
		}
		for _, d := range p.Deps {
			if d == serverPrefix || strings.HasPrefix(d, serverPrefix+"/") {
				t.Errorf("%s depends on the Temporal server (%s); only %v may (outside tests)", name, d, mayDependOnServer)
				break
			}
		}
	}
	for _, p := range own {
		name := rel(p.ImportPath)
		for _, d := range p.Deps {
			prefix := ""
			for _, f := range testOrToolOnly {
				if strings.HasPrefix(d, f) {
					prefix = f
				}
			}
			if prefix == "" || slices.Contains(mayDependOnTestOnly[name], prefix) ||
				(slices.Contains(mayDependOnServer, name) && slices.Contains([]string{"k8s.io/", "sigs.k8s.io/", "modernc.org/"}, prefix)) {
				continue
			}
			t.Errorf("%s depends on %s (outside tests): %s* is for tests and tools; move the code that needs it behind a package only tests import", name, d, prefix)
			break
		}
		if slices.Contains(testHelpers, name) {
			continue
		}
		for _, imp := range p.Imports {
			for _, f := range testingFrameworks {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s imports the testing framework %s in non-test code, so every binary that links it links the framework", name, imp)
				}
			}
		}
	}
	wf, ok := all[module+"/workflows"]
	require.True(t, ok)
	for _, imp := range wf.Imports {
		if slices.Contains(forbiddenInWorkflows, imp) {
			t.Errorf("workflows imports %s: workflow code reaches the world only through activities", imp)
		}
	}
}

// docRow matches the first cell of a row of the package table: | `path/` | ...
var docRow = regexp.MustCompile("(?m)^\\| `([a-z0-9_/]+?)/?` \\|")

// TestDocListsEveryPackage keeps the doc's package table equal to the module's packages and to
// the rules here, so that neither can go stale.
func TestDocListsEveryPackage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	require.NoError(t, err)
	section := string(b)
	if i := strings.Index(section, "## Packages"); i >= 0 {
		section = section[i:]
	}
	if i := strings.Index(section[1:], "\n## "); i >= 0 {
		section = section[:i+1]
	}
	var inDoc []string
	for _, m := range docRow.FindAllStringSubmatch(section, -1) {
		inDoc = append(inDoc, m[1])
	}
	var inRules []string
	for name := range allowed {
		inRules = append(inRules, name)
	}
	own, _ := listed(t)
	var inModule []string
	for _, p := range own {
		inModule = append(inModule, rel(p.ImportPath))
	}
	slices.Sort(inDoc)
	slices.Sort(inRules)
	slices.Sort(inModule)
	require.Equal(t, inModule, inDoc, "docs/architecture.md's package table versus go list ./...")
	require.Equal(t, inModule, inRules, "internal/archtest/rules_test.go versus go list ./...")
}

// TestRulebookStaysApart keeps the rulebook independent of what it checks (none of
// rulebookMustNotImport among its dependencies, direct or not) and test-only (no package imports
// it outside its _test files; `go list` without -test lists non-test imports only).
func TestRulebookStaysApart(t *testing.T) {
	own, all := listed(t)
	rb, ok := all[module+"/"+rulebook]
	require.True(t, ok, "%s is not in the module any more: update the rules", rulebook)
	for _, d := range rb.Deps {
		for _, banned := range rulebookMustNotImport {
			if d == module+"/"+banned || strings.HasPrefix(d, module+"/"+banned+"/") {
				t.Errorf("%s depends on %s: it must compute dates, money and validity on its own, or the sweep cannot find a bug there", rulebook, rel(d))
			}
		}
	}
	for _, p := range own {
		if slices.Contains(p.Imports, module+"/"+rulebook) {
			t.Errorf("%s imports %s outside its tests: the rulebook is test-only (its user is the sweep)", rel(p.ImportPath), rulebook)
		}
	}
}
