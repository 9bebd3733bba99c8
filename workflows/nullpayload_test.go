package workflows_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/workflows"
)

// edgeOnlySignals are the signals the HTTP edge sends after verifying a callback; they have no
// update of the same name (a backend has no business sending them).
var edgeOnlySignals = []string{billing.SignalRegistered, billing.SignalRegistrationFailed, billing.SignalPaymentNotification}

// TestNullPayloadIsRefusedForEveryMessage: a literal JSON null is a malformed payload for every
// message, as an update (refused by the validator, so nothing is written to history) and as a
// signal (recorded as refused in the audit trail, nothing else changes). It used to decode as
// {}: a null pause was a pause at period end, a null registration_failed a recorded failure.
func TestNullPayloadIsRefusedForEveryMessage(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	null := json.RawMessage("null")
	names := workflows.SignalNames
	results := make([]updateResult, len(names))
	for i, name := range names {
		env.RegisterDelayedCallback(func() { update(env, name, null, &results[i]) }, time.Hour)
	}
	env.RegisterDelayedCallback(func() {
		for _, name := range names {
			signal(env, name, null)
		}
	}, 2*time.Hour)
	var after billing.State
	env.RegisterDelayedCallback(func() {
		after = query(t, env)
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 3*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	for i, name := range names {
		t.Run("update "+name, func(t *testing.T) {
			r := results[i]
			require.True(t, r.done)
			require.NoError(t, r.err, "the update was accepted and ran")
			require.Error(t, r.rejected, "a null %s update was accepted", name)
			if slices.Contains(edgeOnlySignals, name) {
				require.Contains(t, r.rejected.Error(), "unknown update", "a signal the edge sends has no update")
				return
			}
			require.Contains(t, r.rejected.Error(), "malformed payload")
			require.Contains(t, r.rejected.Error(), "null")
		})
	}
	refused := map[string]string{}
	for _, e := range after.Events {
		if e.Kind == "refused" {
			name, detail, _ := strings.Cut(e.Detail, ": ")
			refused[name] = detail
		}
		require.NotEqual(t, "registration_failed", e.Kind, "a null registration_failed was recorded as a failure")
		require.NotEqual(t, "pause_requested", e.Kind, "a null pause was applied")
	}
	for _, name := range names {
		t.Run("signal "+name, func(t *testing.T) {
			detail, ok := refused[name]
			require.True(t, ok, "a null %s signal was not recorded as refused", name)
			require.Contains(t, detail, "malformed payload")
			require.Contains(t, detail, "null")
		})
	}
	require.Equal(t, billing.StatusActive, after.Status)
	require.Nil(t, after.Pause)
	require.Nil(t, after.PendingCancel)
	require.Len(t, b.paid(), 1)
	b.checkInvariants(st)
}

// TestNullSignalBeforeTheChangeIsDecodedAsBefore: a run that did not take versionRefuseNullSignal
// (recorded with bundle 2, the change not asked yet) handles a null signal as it did when it was
// recorded, so its history replays: a null pause is still a pause at period end there.
func TestNullSignalBeforeTheChangeIsDecodedAsBefore(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	newBank(t, env, "cust-1")
	env.OnGetVersion("paycycle-bundle-2026-12", workflow.DefaultVersion, workflow.Version(3)).Return(workflow.Version(2))
	env.OnGetVersion("refuse-null-signal", workflow.DefaultVersion, workflow.Version(1)).Return(workflow.DefaultVersion)
	var after billing.State
	env.RegisterDelayedCallback(func() { signal(env, billing.MsgPause, json.RawMessage("null")) }, time.Hour)
	env.RegisterDelayedCallback(func() {
		after = query(t, env)
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 2*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	result(t, env)
	require.NotNil(t, after.Pause, "the old run's behaviour: null decoded as {}, a pause at period end")
	require.True(t, after.Pause.Pending)
}
