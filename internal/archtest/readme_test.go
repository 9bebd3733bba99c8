package archtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The project's Markdown pages send readers to sections by name ("see Gateway protection") and
// by anchor ("](#trials-…)"). A merge once dropped two README sections that other sections
// still pointed to; this test fails when a reference names a heading that does not exist.

var (
	headingLine = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	// seeSection is "see Name" or `see "Name"`: a capitalised section name (lower-case
	// phrases such as "see below" are prose, not references).
	seeSection = regexp.MustCompile(`\bsee "?([A-Z][A-Za-z ]*[a-z])"?`)
	anchorLink = regexp.MustCompile(`\]\(#([^)]+)\)`)
	// nonSlug is what GitHub drops from a heading to make its anchor.
	nonSlug = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// markdownPages are the project's Markdown pages: the README, every page of docs/ and the
// components' READMEs.
func markdownPages(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	pages := []string{"README.md", "BENCHMARKS.md", "deploy/README.md", "starter/README.md", "edge/README.md", "devserver/README.md", "portone/portonetest/README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, filepath.ToSlash(rel))
	}
	return pages
}

func TestMarkdownSectionReferencesExist(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, page := range markdownPages(t, root) {
		raw, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		text := string(raw)
		var headings []string
		anchors := map[string]bool{}
		for _, m := range headingLine.FindAllStringSubmatch(stripCodeBlocks(text), -1) {
			headings = append(headings, m[1])
			anchors[slug(m[1])] = true
		}
		for _, m := range seeSection.FindAllStringSubmatch(text, -1) {
			if !hasHeading(headings, m[1]) {
				t.Errorf("%s: %q points to a section %q that the page does not have", page, m[0], m[1])
			}
		}
		for _, m := range anchorLink.FindAllStringSubmatch(text, -1) {
			if !anchors[m[1]] {
				t.Errorf("%s: link to #%s, which no heading of the page makes", page, m[1])
			}
		}
	}
}

// hasHeading reports whether a heading is name, or starts with it followed by more words
// ("Merchant event stream (webhooks)"), or is it after a step number ("2. Namespace …").
func hasHeading(headings []string, name string) bool {
	for _, h := range headings {
		h = strings.TrimLeft(h, "0123456789. ")
		if h == name || strings.HasPrefix(h, name+" ") {
			return true
		}
	}
	return false
}

// slug is GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
func slug(heading string) string {
	s := strings.ToLower(strings.ReplaceAll(heading, "`", ""))
	s = nonSlug.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

// relativeLink is a Markdown link's target: `](target)`, the target without spaces.
var relativeLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestMarkdownLinksResolve: every relative link of every page names a file or folder that
// exists, and a link to a section of another page (`](page.md#anchor)`) names a heading that
// page has, as GitHub makes its anchor. Moving text between pages (the README was split into
// docs/ by reader) must not leave a reader at a dead link.
func TestMarkdownLinksResolve(t *testing.T) {
	root := filepath.Join("..", "..")
	anchorsOf := map[string]map[string]bool{}
	anchors := func(page string) (map[string]bool, error) {
		if a, ok := anchorsOf[page]; ok {
			return a, nil
		}
		raw, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			return nil, err
		}
		a := map[string]bool{}
		for _, m := range headingLine.FindAllStringSubmatch(stripCodeBlocks(string(raw)), -1) {
			a[slug(m[1])] = true
		}
		anchorsOf[page] = a
		return a, nil
	}
	checked := 0
	for _, page := range markdownPages(t, root) {
		raw, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		for _, m := range relativeLink.FindAllStringSubmatch(stripCodeBlocks(string(raw)), -1) {
			target := m[1]
			if strings.HasPrefix(target, "#") || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue // in-page anchors: TestMarkdownSectionReferencesExist
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(page), file)))
			if _, err := os.Stat(filepath.Join(root, path)); err != nil {
				t.Errorf("%s: link to %s: %s does not exist", page, target, path)
				continue
			}
			checked++
			if anchor == "" {
				continue
			}
			a, err := anchors(path)
			if err != nil {
				t.Errorf("%s: link to %s: %v", page, target, err)
				continue
			}
			if !a[anchor] {
				t.Errorf("%s: link to %s: %s has no heading whose anchor is #%s", page, target, path, anchor)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d relative links checked: the link pattern no longer matches the pages", checked)
	}
}

// stripCodeBlocks drops fenced code, whose "# comment" lines are not headings.
func stripCodeBlocks(text string) string {
	var b strings.Builder
	fenced := false
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
