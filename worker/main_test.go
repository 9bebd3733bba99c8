package main

import (
	"io"
	"strings"
	"testing"
	"time"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
)

func TestParseFlags(t *testing.T) {
	keys := map[string]string{"PORTONE_API_KEY": "k", "PORTONE_API_SECRET": "s"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range keys {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c config)
		wantErr string
	}{
		{"one PortOne client setting for worker and edge", with(map[string]string{"PORTONE_INCLUDE_SANDBOX": "true", "PORTONE_TIMEOUT": "7s",
			"BILLING_WORKER_SERVE_EDGE": "true", "BILLING_EDGE_ADDR": "127.0.0.1:0"}), nil, func(t *testing.T, c config) {
			if !c.portone.IncludeSandbox || c.portone.Timeout != 7*time.Second || !c.serveEdge {
				t.Fatalf("portone %+v serveEdge %v", c.portone, c.serveEdge)
			}
			if c.edge.Addr != "127.0.0.1:0" {
				t.Fatalf("edge addr %q", c.edge.Addr)
			}
		}, ""},
		{"the edge has no PortOne flags of its own in the worker", keys, []string{"-edge-portone-url", "http://x"}, nil, "flag provided but not defined: -edge-portone-url"},
		{"demo mode not a boolean", with(map[string]string{"BILLING_DEMO_MODE": "yes"}), nil, nil, `BILLING_DEMO_MODE="yes"`},
		{"activity timeout without a unit", with(map[string]string{"BILLING_ACTIVITY_TIMEOUT": "90"}), nil, nil, "BILLING_ACTIVITY_TIMEOUT"},
		{"no key pair", nil, nil, nil, "PORTONE_API_KEY and PORTONE_API_SECRET must be set"},
		{"stray argument", keys, []string{"run"}, nil, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard, cfgpkg.MapLookup(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
