package workerset_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/workerset"
)

// TestStartRefusesBadOptions: the checks run before any worker is created, so no server is
// needed; the running wiring is covered by the worker's real-Prometheus test and loadtest's
// burst test.
func TestStartRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       workerset.Options
		wantErr string
	}{
		{"no billing queue", workerset.Options{PortOneTaskQueue: "p"}, "TaskQueue is required"},
		{"same queue", workerset.Options{TaskQueue: "billing", PortOneTaskQueue: "billing"}, "must differ"},
		{"negative rate", workerset.Options{TaskQueue: "billing", PortOneTaskQueue: "p", PortOneRate: -1}, "PortOneRate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := workerset.Start(nil, tt.o, &activities.Activities{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
