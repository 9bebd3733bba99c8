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
	}{
		{name: "defaults", wantQueue: "billing-portone", wantRate: 20, wantMax: 200},
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
		})
	}
}
