package textfmt_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/textfmt"
)

func TestFormatKRW(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give int64
		want string
	}{
		{0, "0"},
		{10, "10"},
		{999, "999"},
		{1000, "1,000"},
		{9900, "9,900"},
		{123456, "123,456"},
		{1234567, "1,234,567"},
		{100000000, "100,000,000"},
		{-1500, "-1,500"},
		{-4950, "-4,950"},
		{-999, "-999"},
		{9223372036854775807, "9,223,372,036,854,775,807"},
		{-9223372036854775808, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, textfmt.FormatKRW(tt.give), tt.give)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		give string
		n    int
		want string
	}{
		{"short ASCII unchanged", "abc", 5, "abc"},
		{"exactly n unchanged", "abcde", 5, "abcde"},
		{"ASCII cut", "abcdef", 3, "abc…"},
		{"empty", "", 3, ""},
		{"zero keeps nothing", "abc", 0, "…"},
		{"negative counts as zero", "abc", -2, "…"},
		// 잔액부족 is 4 runes but 12 bytes: a byte cut at 5 would split 액.
		{"Korean counted in runes", "잔액부족입니다", 4, "잔액부족…"},
		{"Korean shorter than n", "잔액부족", 5, "잔액부족"},
		{"mixed", "error: 한도초과", 9, "error: 한도…"},
		{"emoji is one rune", "😀😀😀", 2, "😀😀…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := textfmt.Truncate(tt.give, tt.n)
			require.Equal(t, tt.want, got)
			require.True(t, utf8.ValidString(got))
		})
	}
}

// TestTruncateNeverSplitsARune cuts a Korean sentence at every length: every result is valid
// UTF-8, a prefix of the input plus the ellipsis, and at most n runes before it.
func TestTruncateNeverSplitsARune(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("결제가 거절되었습니다 (한도초과). ", 4)
	total := utf8.RuneCountInString(s)
	for n := range total + 2 {
		got := textfmt.Truncate(s, n)
		require.True(t, utf8.ValidString(got), "n=%d", n)
		if n >= total {
			require.Equal(t, s, got)
			continue
		}
		head := strings.TrimSuffix(got, textfmt.Ellipsis)
		require.True(t, strings.HasPrefix(s, head), "n=%d", n)
		require.Equal(t, n, utf8.RuneCountInString(head), "n=%d", n)
	}
}

func TestMaskUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give string
		want string
	}{
		{"", "****"},
		{"abcd", "****"},
		{"abcde", "****bcde"},
		{"cust_0012345", "****2345"},
		{"한국고객번호다", "****객번호다"},
		{"한국", "****"},
	}
	for _, tt := range tests {
		got := textfmt.MaskUID(tt.give)
		require.Equal(t, tt.want, got, tt.give)
		require.True(t, utf8.ValidString(got))
	}
}
