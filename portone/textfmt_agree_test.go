package portone

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/textfmt"
)

// TestMaskUIDAgreesWithTextfmt keeps the client's private copy of the customer_uid mask equal to
// the project's one (internal/textfmt): the client imports nothing of the project, so it cannot
// call it, but the two must never show a key differently.
func TestMaskUIDAgreesWithTextfmt(t *testing.T) {
	t.Parallel()
	for _, uid := range []string{"", "a", "abcd", "abcde", "cust_0012345", "한국고객번호다", "한국", "😀abc😀"} {
		require.Equal(t, textfmt.MaskUID(uid), maskUID(uid), uid)
	}
}
