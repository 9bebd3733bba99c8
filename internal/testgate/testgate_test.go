package testgate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/testgate"
)

// TestSlowFollowsShort runs Slow in a subtest and checks that it skipped exactly when -short is
// set; `make test` runs it one way and `make test-short` the other.
func TestSlowFollowsShort(t *testing.T) {
	ran := false
	t.Run("gated", func(t *testing.T) {
		testgate.Slow(t, "checks the gate")
		ran = true
	})
	require.Equal(t, !testing.Short(), ran)
}
