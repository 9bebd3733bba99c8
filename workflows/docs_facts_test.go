package workflows

import (
	"testing"
	"time"

	"github.com/paycycle/paycycle/internal/docstest"
)

// TestDocsCarriedStateIsTheCode: what docs/architecture.md says a continue-as-new carries is
// what newRunner's carried state keeps (the constants are this package's own, so the check
// lives here; internal/docstest checks the exported ones).
func TestDocsCarriedStateIsTheCode(t *testing.T) {
	const arch = "docs/architecture.md"
	cases := []struct {
		name    string
		pattern string
		want    int64
	}{
		{"charges and refunds carried, days", "the charges and refunds of the last (\\d+) days", int64(carryChargeWindow / (24 * time.Hour))},
		{"audit events carried", "the last (\\d+) audit events and the counters", leanCarryEvents},
		{"cycles a run before lean-run", "; (\\d+) in runs recorded before the `lean-run` change", cyclesPerRun},
	}
	for _, tc := range cases {
		if got := docstest.Int(t, arch, tc.pattern); got != tc.want {
			t.Errorf("%s: %s is %d, the code %d", arch, tc.name, got, tc.want)
		}
	}
}
