// Package prometheus holds the Prometheus scrape configuration (prometheus.yml), the alerting
// rules (alerts.yml) and their unit tests (alerts_test.yml); this test runs Debian's promtool
// over them.
package prometheus

import (
	"os/exec"
	"testing"
)

// TestAlertRules runs `promtool check config` (the scrape jobs, and the rule files they load),
// `promtool check rules` and `promtool test rules`: every alert has at least one case that fires
// and, where a false alarm is plausible, one that must not.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: install Debian's prometheus package (apt-get install prometheus) to test the alerting rules")
	}
	tests := []struct {
		name string
		args []string
	}{
		{"config", []string{"check", "config", "prometheus.yml"}},
		{"check", []string{"check", "rules", "alerts.yml"}},
		{"unit tests", []string{"test", "rules", "alerts_test.yml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(promtool, tt.args...).CombinedOutput()
			t.Logf("promtool %v:\n%s", tt.args, out)
			if err != nil {
				t.Fatalf("promtool %v: %v", tt.args, err)
			}
		})
	}
}
