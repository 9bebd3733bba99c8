package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

func TestTableAlignsHangulByTerminalWidth(t *testing.T) {
	var out bytes.Buffer
	tb := newTable(&out)
	fmt.Fprintln(tb, "PLAN\tAMOUNT\tREASON")
	fmt.Fprintln(tb, "프로 월간\t9,900 KRW\t고객 요청")
	fmt.Fprintln(tb, "Pro monthly\t19,900 KRW\tasked by phone")
	fmt.Fprintln(tb, "데모\t1,000 KRW\t-")
	tb.Flush()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	// The AMOUNT and REASON columns start at the same terminal column on every line.
	for _, col := range []string{"AMOUNT", "REASON"} {
		idx := strings.Index(lines[0], col)
		want := runewidth.StringWidth(lines[0][:idx])
		for i, l := range lines[1:] {
			var marker string
			switch col {
			case "AMOUNT":
				marker = []string{"9,900", "19,900", "1,000"}[i]
			default:
				marker = []string{"고객", "asked", "-"}[i]
			}
			pos := strings.Index(l, marker)
			if got := runewidth.StringWidth(l[:pos]); got != want {
				t.Errorf("line %d: %s starts at column %d, want %d:\n%s", i+1, col, got, want, out.String())
			}
		}
	}
}
