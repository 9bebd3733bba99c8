package main

import (
	"io"
	"strconv"
	"testing"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/docstest"
)

// TestDocsCycleSearchAttributesDefault: the per-cycle search attributes' default, which
// BENCHMARKS.md weighs and the billing team's list queries depend on, is the one the
// operators' configuration table and the Kubernetes manifest print.
func TestDocsCycleSearchAttributesDefault(t *testing.T) {
	c, err := parseFlags(nil, io.Discard, cfgpkg.MapLookup(map[string]string{"PORTONE_API_KEY": "k", "PORTONE_API_SECRET": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatBool(c.cycleSAs)
	for _, tc := range []struct{ page, pattern string }{
		{"docs/operators.md", "\\| `BILLING_CYCLE_SEARCH_ATTRIBUTES` / `-cycle-search-attributes` \\| worker \\| `(true|false)` \\|"},
		{"deploy/k8s/base/config.yaml", `BILLING_CYCLE_SEARCH_ATTRIBUTES: "(true|false)"`},
	} {
		if got := docstest.Match(t, tc.page, tc.pattern); got != want {
			t.Errorf("%s says the per-cycle search attributes default to %s; the worker's default is %s", tc.page, got, want)
		}
	}
}
