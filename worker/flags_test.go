package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
)

func TestParseFlagsGatewaySettings(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantErr   string
		wantQueue string
		wantRate  float64
		wantMax   int
		// wantNoCycleSAs is the setting the workflow reads (Settings.NoCycleSearchAttributes).
		wantNoCycleSAs bool
	}{
		{name: "defaults", wantQueue: "billing-portone", wantRate: 20, wantMax: 200},
		{name: "no per-cycle search attributes", env: map[string]string{"BILLING_CYCLE_SEARCH_ATTRIBUTES": "false"},
			wantQueue: "billing-portone", wantRate: 20, wantMax: 200, wantNoCycleSAs: true},
		{name: "per-cycle search attributes misspelt", env: map[string]string{"BILLING_CYCLE_SEARCH_ATTRIBUTES": "flase"},
			wantErr: "BILLING_CYCLE_SEARCH_ATTRIBUTES"},
		{name: "from the environment", env: map[string]string{"BILLING_PORTONE_TASK_QUEUE": "po", "BILLING_PORTONE_RATE": "7.5", "BILLING_MAX_CONCURRENT_ACTIVITIES": "9"},
			wantQueue: "po", wantRate: 7.5, wantMax: 9},
		{name: "flags win", env: map[string]string{"BILLING_PORTONE_RATE": "7"}, args: []string{"-portone-rate", "3", "-portone-task-queue", ""},
			wantQueue: "", wantRate: 3, wantMax: 200},
		{name: "negative rate", args: []string{"-portone-rate", "-1"}, wantErr: "-portone-rate (BILLING_PORTONE_RATE)"},
		{name: "no slots", args: []string{"-max-concurrent-activities", "0"}, wantErr: "-max-concurrent-activities (BILLING_MAX_CONCURRENT_ACTIVITIES)"},
		{name: "same queue", args: []string{"-portone-task-queue", "billing"}, wantErr: "-portone-task-queue (BILLING_PORTONE_TASK_QUEUE)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"PORTONE_API_KEY": "k", "PORTONE_API_SECRET": "s"}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := parseFlags(tt.args, io.Discard, cfgpkg.MapLookup(env))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantQueue, c.portoneTaskQueue)
			assert.Equal(t, tt.wantRate, c.portoneRate)
			assert.Equal(t, tt.wantMax, c.maxActivities)
			assert.Equal(t, tt.wantNoCycleSAs, c.activitiesConfig().NoCycleSearchAttributes)
		})
	}
}

// TestParseFlagsWebhookSettings: the event stream is off without endpoints; endpoints need a
// signing secret; a bad URL, a weak secret or a nonsensical window refuses to start, naming the
// variable and never echoing the secret.
func TestParseFlagsWebhookSettings(t *testing.T) {
	good := "whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5"
	tests := []struct {
		name      string
		env       map[string]string
		wantErr   string
		wantOn    bool
		wantNotic string
	}{
		{name: "off by default", wantNotic: "72h0m0s"},
		{name: "on with a secret", env: map[string]string{"BILLING_WEBHOOK_URLS": "https://shop.example/hooks", "PAYCYCLE_WEBHOOK_SECRETS": good,
			"BILLING_RENEWAL_NOTICE": "24h"}, wantOn: true, wantNotic: "24h0m0s"},
		{name: "endpoint without a secret", env: map[string]string{"BILLING_WEBHOOK_URLS": "https://shop.example/hooks"},
			wantErr: "PAYCYCLE_WEBHOOK_SECRETS: no webhook signing secret"},
		{name: "weak secret", env: map[string]string{"BILLING_WEBHOOK_URLS": "https://shop.example/hooks", "PAYCYCLE_WEBHOOK_SECRETS": "whsec_c2hvcnQ="},
			wantErr: "at least 24"},
		{name: "not a URL", env: map[string]string{"BILLING_WEBHOOK_URLS": "shop.example/hooks", "PAYCYCLE_WEBHOOK_SECRETS": good},
			wantErr: "-webhook-urls (BILLING_WEBHOOK_URLS)"},
		{name: "window too short", env: map[string]string{"BILLING_WEBHOOK_DELIVERY_WINDOW": "10s"}, wantErr: "BILLING_WEBHOOK_DELIVERY_WINDOW"},
		{name: "notice not a duration", env: map[string]string{"BILLING_RENEWAL_NOTICE": "3 days"}, wantErr: "BILLING_RENEWAL_NOTICE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"PORTONE_API_KEY": "k", "PORTONE_API_SECRET": "s"}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := parseFlags(nil, io.Discard, cfgpkg.MapLookup(env))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "MDEyMzQ1", "the secret is never echoed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantOn, c.webhooks.enabled())
			assert.Equal(t, tt.wantNotic, c.webhooks.renewalNotice.String())
			assert.Equal(t, tt.wantOn, c.webhooks.options().Deliverer != nil)
		})
	}
}
