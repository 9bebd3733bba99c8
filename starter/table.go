package main

import (
	"bytes"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// table lays out tab-separated cells in columns like text/tabwriter (padding 2), but measures
// cells by their width on a terminal: text/tabwriter counts runes, so every Hangul plan name or
// reason (two columns wide each) pushed the rest of its row out of line.
type table struct {
	w   io.Writer
	buf bytes.Buffer
}

func newTable(w io.Writer) *table { return &table{w: w} }

// Write buffers until Flush.
func (t *table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the buffered lines with every tab-terminated cell padded to its column's width.
// As with text/tabwriter, the text after a line's last tab is not part of any column.
func (t *table) Flush() {
	text := strings.TrimSuffix(t.buf.String(), "\n")
	t.buf.Reset()
	if text == "" {
		return
	}
	lines := strings.Split(text, "\n")
	var widths []int
	rows := make([][]string, len(lines))
	for i, l := range lines {
		rows[i] = strings.Split(l, "\t")
		for j, c := range rows[i][:len(rows[i])-1] {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], runewidth.StringWidth(c))
		}
	}
	var out strings.Builder
	for _, cells := range rows {
		last := len(cells) - 1
		for j, c := range cells[:last] {
			out.WriteString(c)
			out.WriteString(strings.Repeat(" ", widths[j]-runewidth.StringWidth(c)+2))
		}
		out.WriteString(cells[last])
		out.WriteByte('\n')
	}
	_, _ = io.WriteString(t.w, out.String())
}
