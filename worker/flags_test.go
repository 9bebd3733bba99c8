package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
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
		// wantCeiling is the attempt ceiling the workflow reads (Settings.AttemptCeiling);
		// zero: the defaults.
		wantCeiling billing.AttemptCeiling
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
		{name: "attempt ceilings from the environment", env: map[string]string{"BILLING_CEILING_DECLINES_24H": "5", "BILLING_CEILING_REATTEMPTS_30D": "15"},
			wantQueue: "billing-portone", wantRate: 20, wantMax: 200, wantCeiling: billing.AttemptCeiling{Declines24h: 5, Reattempts30d: 15}},
		{name: "attempt ceilings off", args: []string{"-ceiling-declines-24h", "0", "-ceiling-reattempts-30d", "0"},
			wantQueue: "billing-portone", wantRate: 20, wantMax: 200, wantCeiling: billing.AttemptCeiling{Declines24h: -1, Reattempts30d: -1}},
		{name: "attempt ceiling misspelt", env: map[string]string{"BILLING_CEILING_DECLINES_24H": "ten"}, wantErr: "BILLING_CEILING_DECLINES_24H"},
		{name: "attempt ceiling negative", env: map[string]string{"BILLING_CEILING_REATTEMPTS_30D": "-3"}, wantErr: "-ceiling-reattempts-30d (BILLING_CEILING_REATTEMPTS_30D)"},
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
			want := tt.wantCeiling
			if want == (billing.AttemptCeiling{}) {
				want = billing.AttemptCeiling{Declines24h: billing.DefaultDeclines24h, Reattempts30d: billing.DefaultReattempts30d}
			}
			a := activities.Activities{Config: c.activitiesConfig()}
			got, err := a.Settings(context.Background())
			require.NoError(t, err)
			assert.Equal(t, want, got.AttemptCeiling)
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

// TestParseFlagsPortOneV2: V2 is off without its variables; a malformed one stops the worker
// at start, by name; a V2 timeout that leaves no room for a charge and its read is refused.
func TestParseFlagsPortOneV2(t *testing.T) {
	secret := "Zk9xQ2J3dGhpc2lzYXRlc3RzZWNyZXQ"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		wantV2  bool
	}{
		{name: "off"},
		{name: "on", env: map[string]string{"PORTONE_V2_API_SECRET": secret}, wantV2: true},
		{name: "a store without the secret", env: map[string]string{"PORTONE_V2_STORE_ID": "store-4f6a3a2e-1c0b-4d6e-9a57-0123456789ab"},
			wantErr: "PORTONE_V2_API_SECRET"},
		{name: "a malformed channel key", env: map[string]string{"PORTONE_V2_API_SECRET": secret, "PORTONE_V2_CHANNEL_KEY": "naverpay"},
			wantErr: "PORTONE_V2_CHANNEL_KEY"},
		{name: "a V2 timeout too long for the activity", env: map[string]string{"PORTONE_V2_API_SECRET": secret}, args: []string{"-portone-v2-timeout", "40s"},
			wantErr: "-portone-v2-timeout"},
		// Every URL setting is refused at start by name: before, a malformed notice URL passed
		// until PortOne refused the first scheduled charge, and a V2 origin until the first call.
		{name: "a V2 notice URL without a scheme", env: map[string]string{"PORTONE_V2_API_SECRET": secret, "BILLING_V2_NOTICE_URL": "edge.example/portone/v2/webhook"},
			wantErr: "BILLING_V2_NOTICE_URL"},
		{name: "a V1 notice URL of another scheme", env: map[string]string{"BILLING_NOTICE_URL": "ftp://edge.example/portone/webhook"},
			wantErr: "BILLING_NOTICE_URL"},
		{name: "a V2 origin that is no URL", env: map[string]string{"PORTONE_V2_API_SECRET": secret, "PORTONE_V2_BASE_URL": "api.portone.io"},
			wantErr: "PORTONE_V2_BASE_URL"},
		{name: "a V1 origin that is no URL", env: map[string]string{"PORTONE_BASE_URL": "api.iamport.kr"},
			wantErr: "PORTONE_BASE_URL"},
		{name: "a health address without a port", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": "localhost"},
			wantErr: "BILLING_WORKER_HEALTH_ADDR"},
		{name: "an edge address that is a URL", env: map[string]string{"BILLING_EDGE_ADDR": "http://127.0.0.1:7790"},
			wantErr: "BILLING_EDGE_ADDR"},
		{name: "notice URLs well formed", env: map[string]string{"PORTONE_V2_API_SECRET": secret, "BILLING_NOTICE_URL": "https://edge.example/portone/webhook",
			"BILLING_V2_NOTICE_URL": "https://edge.example/portone/v2/webhook"}, wantV2: true},
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
				require.Contains(t, err.Error(), tt.wantErr)
				require.NotContains(t, err.Error(), secret)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantV2, c.portoneV2.Enabled())
		})
	}
}
