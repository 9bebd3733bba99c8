package workflows

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEMessageTable holds the message table the backend developers read (README.md, or
// the page of docs/ it moved to) to the workflow's messageTable: the same names, and the same
// ones marked as signals only. A message added to the workflow without its row, or a row for a
// message the workflow does not read, fails here.
func TestREADMEMessageTable(t *testing.T) {
	rows := readmeMessageRows(t)
	want := map[string]bool{}
	for _, m := range messageTable {
		want[m.name] = m.signalOnly
	}
	for name, signalOnly := range rows {
		wantSignalOnly, ok := want[name]
		switch {
		case !ok:
			t.Errorf("the README's message table has %q, which the workflow does not read", name)
		case signalOnly != wantSignalOnly:
			t.Errorf("the README's message table says %q is signal-only: %v; the workflow's table: %v", name, signalOnly, wantSignalOnly)
		}
	}
	for name := range want {
		if _, ok := rows[name]; !ok {
			t.Errorf("the workflow reads %q, but the README's message table has no row for it", name)
		}
	}
}

// readmeMessageRows finds the message table (header "| name | payload | effect |") in the
// README or a page under docs/, and returns its names and whether each is marked "(signal".
func readmeMessageRows(t *testing.T) map[string]bool {
	t.Helper()
	pages := []string{filepath.Join("..", "README.md")}
	docs, _ := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	docsNested, _ := filepath.Glob(filepath.Join("..", "docs", "*", "*.md"))
	pages = append(append(pages, docs...), docsNested...)
	name := regexp.MustCompile("^\\| `([a-z_]+)`([^|]*)\\|")
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if strings.TrimSpace(l) != "| name | payload | effect |" {
				continue
			}
			rows := map[string]bool{}
			for _, r := range lines[i+2:] {
				m := name.FindStringSubmatch(r)
				if m == nil {
					break
				}
				if _, dup := rows[m[1]]; dup {
					t.Errorf("%s: two rows for %q", p, m[1])
				}
				rows[m[1]] = strings.Contains(m[2], "(signal")
			}
			if len(rows) == 0 {
				t.Fatalf("%s: the message table has no rows", p)
			}
			return rows
		}
	}
	t.Fatalf("no message table (| name | payload | effect |) in the README or docs/")
	return nil
}
