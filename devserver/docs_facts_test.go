package main

import (
	"io"
	"strings"
	"testing"

	"github.com/paycycle/paycycle/internal/docstest"
)

// TestREADMEAddressesAreTheDefaults: the README's table of what make run starts, and where,
// prints devserver's default ports and demo billing keys.
func TestREADMEAddressesAreTheDefaults(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what, pattern string
		want          int64
	}{
		{"Web UI", `\| Temporal Web UI \| http://127\.0\.0\.1:(\d+) `, int64(c.uiPort)},
		{"frontend", `\| Temporal frontend \(gRPC\) \| 127\.0\.0\.1:(\d+),`, int64(c.temporalPort)},
		{"emulator", `\| PortOne emulator \| http://127\.0\.0\.1:(\d+) `, int64(c.emulatorPort)},
		{"emulator, V2", `\| PortOne emulator, V2 \| http://127\.0\.0\.1:(\d+) `, int64(c.emulatorV2Port)},
		{"edge", `\| HTTP edge \| http://127\.0\.0\.1:(\d+) `, int64(c.edgePort)},
		{"codec", `\| payload codec \(for the UI\) \| http://127\.0\.0\.1:(\d+) `, int64(c.codecPort)},
		{"worker health", `\| worker health \| http://127\.0\.0\.1:(\d+)/healthz`, int64(c.workerHealthPort)},
	}
	for _, tc := range cases {
		if got := docstest.Int(t, "README.md", tc.pattern); got != tc.want {
			t.Errorf("README.md: %s on port %d, devserver's default %d", tc.what, got, tc.want)
		}
	}
	keys := docstest.Match(t, "README.md", "demo billing keys `([^`]+)`")
	if want := strings.Split(c.seedCustomers, ","); keys != want[0]+".."+strings.TrimPrefix(want[len(want)-1], "demo-cust-") {
		t.Errorf("README.md: demo billing keys %s, devserver seeds %s", keys, c.seedCustomers)
	}
	v2 := docstest.Match(t, "README.md", "demo V2 billing keys `([^`]+)`")
	if want := strings.Split(demoV2Keys, ","); v2 != want[0]+".."+strings.TrimPrefix(want[len(want)-1], "demo-v2-key-") {
		t.Errorf("README.md: demo V2 billing keys %s, the emulator issues %s", v2, demoV2Keys)
	}
}
