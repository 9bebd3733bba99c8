package portonetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/textfmt"
)

// TestHelpersAgreeWithTextfmt keeps the emulator's private copies of the amount format and the
// rune-safe truncation equal to the project's ones (internal/textfmt): the emulator imports
// nothing of the project, so it cannot call them.
func TestHelpersAgreeWithTextfmt(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 10, 999, 1000, 9900, 1234567, -5000, -999, 1 << 62} {
		require.Equal(t, textfmt.FormatKRW(n), formatWon(n), n)
	}
	s := strings.Repeat("잔액부족 limit ", 3)
	for n := range len(s) + 1 {
		require.Equal(t, textfmt.Truncate(s, n), truncate(s, n), n)
	}
}
