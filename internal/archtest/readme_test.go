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

func TestMarkdownSectionReferencesExist(t *testing.T) {
	root := filepath.Join("..", "..")
	pages := []string{"README.md", "BENCHMARKS.md", "docs/architecture.md", "deploy/README.md", "starter/README.md", "edge/README.md", "devserver/README.md"}
	for _, page := range pages {
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
