package edge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/textfmt"
)

func TestDedupeIsBoundedInSizeAndAge(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	d := newDedupe(2, time.Minute)
	d.now = func() time.Time { return now }

	require.True(t, d.reserve("a"))
	require.False(t, d.reserve("a"), "a duplicate within the TTL")
	d.release("a")
	require.True(t, d.reserve("a"), "a released key is relayed again")

	require.True(t, d.reserve("b"))
	require.True(t, d.reserve("c"), "a third key evicts the oldest")
	require.Len(t, d.items, 2)
	require.True(t, d.reserve("a"), "the evicted key is forgotten")

	now = now.Add(2 * time.Minute)
	require.True(t, d.reserve("c"), "an entry older than the TTL is forgotten")
}

func TestRandomStringAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s := randomString(8)
		require.Regexp(t, `^[a-z0-9]{8}$`, s)
		require.False(t, seen[s])
		seen[s] = true
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 10: "10", 999: "999", 1000: "1,000", 9900: "9,900", 1234567: "1,234,567", -1500: "-1,500"} {
		require.Equal(t, want, textfmt.FormatKRW(n))
	}
}
