package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// TestWorkerVersioningOnPostgres runs the documented rollout with the real worker binary
// (-deployment-name, -build-id, -default-versioning-behavior) on the real server: v1 current,
// v2 deployed beside it and ramped, then made current; an auto-upgrade subscription moves to
// v2 at its next task, a pinned one stays on v1 until it is moved by a versioning override,
// v1 is drained, and every cycle is still paid exactly once and every history replays.
func TestWorkerVersioningOnPostgres(t *testing.T) {
	requireClusterTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ph := &phases{}
	tc := startTestCluster(ctx, t, ph)
	c := tc.client
	const auto, pinned = "paycycle", "paycycle-pinned"
	const pinnedQueue = "billing-pinned"
	version := func(dep, build string) []string {
		return []string{"BILLING_DEPLOYMENT_NAME=" + dep, "BILLING_BUILD_ID=" + build}
	}
	pinnedEnv := []string{"BILLING_VERSIONING_BEHAVIOR=pinned", "BILLING_TASK_QUEUE=" + pinnedQueue}

	autoV1 := tc.startWorker(t, "auto-v1", version(auto, "v1")...)
	pinnedV1 := tc.startWorker(t, "pinned-v1", append(version(pinned, "v1"), pinnedEnv...)...)
	setCurrent(ctx, t, c, auto, "v1")
	setCurrent(ctx, t, c, pinned, "v1")

	start := func(id, queue string) {
		emuPost(t, tc.emulator, "/__emulator/customers", map[string]any{"customer_uid": "cust-" + id})
		in := billing.SubscriptionInput{SubscriptionID: id, CustomerUID: "cust-" + id,
			Plan: billing.Plan{Name: "Versioned", Code: "ver", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Second, Count: 3}}}
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: queue,
			WorkflowExecutionErrorWhenAlreadyStarted: true}, billing.WorkflowType, in)
		require.NoError(t, err)
	}
	start("ver-auto", billing.TaskQueue)
	start("ver-pinned", pinnedQueue)
	waitCycle(ctx, t, c, "ver-auto", 2)
	waitCycle(ctx, t, c, "ver-pinned", 2)
	requireOn(ctx, t, c, "ver-auto", "v1", enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE)
	requireOn(ctx, t, c, "ver-pinned", "v1", enumspb.VERSIONING_BEHAVIOR_PINNED)

	// v2 beside v1: ramp 50 %, then current.
	tc.startWorker(t, "auto-v2", version(auto, "v2")...)
	tc.startWorker(t, "pinned-v2", append(version(pinned, "v2"), pinnedEnv...)...)
	t0 := time.Now()
	retry(t, 30*time.Second, "ramp v2 to 50%", func() error {
		_, err := c.WorkerDeploymentClient().GetHandle(auto).SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: "v2", Percentage: 50})
		return err
	})
	d, err := c.WorkerDeploymentClient().GetHandle(auto).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	require.NoError(t, err)
	require.Equal(t, "v2", d.Info.RoutingConfig.RampingVersion.BuildID)
	require.InDelta(t, 50, d.Info.RoutingConfig.RampingVersionPercentage, 0.01)
	setCurrent(ctx, t, c, auto, "v2")
	setCurrent(ctx, t, c, pinned, "v2")
	ph.add("ramp + set current v2", time.Since(t0))

	// Auto-upgrade: the sleeping subscription's next timer task runs on v2.
	eventuallyOn(ctx, t, c, "ver-auto", "v2", 20*time.Second)
	// Pinned: the run does not move on its own task by task, but the workflow continues as new
	// at its next cycle boundary once the server says a new build is the target
	// (can-on-target-version-change), so it reaches v2 without an operator; a new subscription
	// starts on v2.
	eventuallyOn(ctx, t, c, "ver-pinned", "v2", 30*time.Second)
	start("ver-pinned-new", pinnedQueue)
	waitCycle(ctx, t, c, "ver-pinned-new", 1)
	requireOn(ctx, t, c, "ver-pinned-new", "v2", enumspb.VERSIONING_BEHAVIOR_PINNED)

	// What the drain step of the runbook counts: runs still on a build, by the system search
	// attribute the server keeps.
	onBuild := func(build string) int64 {
		res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: tc.namespace,
			Query: fmt.Sprintf("TemporalWorkerDeploymentVersion = '%s:%s' AND ExecutionStatus = 'Running'", pinned, build)})
		require.NoError(t, err)
		return res.GetCount()
	}
	retry(t, 20*time.Second, "no run left on "+pinned+":v1", func() error {
		if n := onBuild("v1"); n != 0 {
			return fmt.Errorf("%d runs", n)
		}
		return nil
	})

	// v1 drained: stop its workers; everything keeps charging on v2.
	require.NoError(t, autoV1.Stop(30*time.Second))
	require.NoError(t, pinnedV1.Stop(30*time.Second))
	ids := []string{"ver-auto", "ver-pinned", "ver-pinned-new"}
	for _, id := range ids {
		st := waitCycle(ctx, t, c, id, 0)
		waitCycle(ctx, t, c, id, st.Cycle+1)
	}

	// Then: every cycle paid exactly once, and every run replays on today's code.
	for _, id := range ids {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: billing.WorkflowID(id), UpdateName: billing.MsgCancel,
			Args:         []any{billing.CancelRequest{When: billing.Now, Reason: "versioning test end", Requester: billing.RequesterAdmin, Refund: billing.RefundNone}},
			WaitForStage: client.WorkflowUpdateStageCompleted})
		require.NoError(t, err)
		var r billing.Receipt
		require.NoError(t, h.Get(ctx, &r), "%s: cancel accepted", id)
	}
	for _, id := range ids {
		var st billing.State
		retry(t, 30*time.Second, id+" canceled", func() error {
			var err error
			st, err = queryState(ctx, c, id)
			if err == nil && st.Status != billing.StatusCanceled {
				err = fmt.Errorf("status %s", st.Status)
			}
			return err
		})
		ledger := emuLedger(t, tc.emulator)
		paid := map[int]int{}
		for _, e := range ledger {
			uid, err := billing.ParseMerchantUID(e.MerchantUID)
			if err != nil || uid.SubscriptionID != id || e.Usage == "issue" || e.Status == "failed" {
				continue
			}
			paid[uid.Charge.Cycle]++
		}
		for cycle := 1; cycle <= st.Cycle; cycle++ {
			require.Equal(t, 1, paid[cycle], "%s cycle %d paid exactly once across the version change", id, cycle)
		}
		require.Len(t, paid, st.Cycle, "%s: nothing paid beyond its last cycle", id)
	}
	runs := replayAll(ctx, t, c, tc.dc, ids)
	t.Logf("versioning rollout on PostgreSQL: %d runs replayed; timings:\n%s", runs, joinLines(ph.lines))
}

func joinLines(l []string) string {
	out := ""
	for _, s := range l {
		out += s + "\n"
	}
	return out
}

// setCurrent makes build the deployment's current version; the server knows a version only
// once a worker of it has polled, so it retries for a while.
func setCurrent(ctx context.Context, t *testing.T, c client.Client, deployment, build string) {
	retry(t, 30*time.Second, "set current version "+deployment+"/"+build, func() error {
		_, err := c.WorkerDeploymentClient().GetHandle(deployment).SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: build})
		return err
	})
}

func retry(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, within, err)
}

// waitCycle waits until the subscription has billed at least cycle and returns its state.
func waitCycle(ctx context.Context, t *testing.T, c client.Client, id string, cycle int) billing.State {
	t.Helper()
	var st billing.State
	retry(t, 60*time.Second, fmt.Sprintf("%s at cycle %d", id, cycle), func() error {
		var err error
		st, err = queryState(ctx, c, id)
		if err == nil && st.Cycle < cycle {
			err = fmt.Errorf("at cycle %d", st.Cycle)
		}
		return err
	})
	return st
}

func versionOf(ctx context.Context, c client.Client, id string) (string, enumspb.VersioningBehavior, error) {
	d, err := c.DescribeWorkflowExecution(ctx, billing.WorkflowID(id), "")
	if err != nil {
		return "", 0, err
	}
	vi := d.GetWorkflowExecutionInfo().GetVersioningInfo()
	return vi.GetDeploymentVersion().GetBuildId(), vi.GetBehavior(), nil
}

func requireOn(ctx context.Context, t *testing.T, c client.Client, id, build string, behavior enumspb.VersioningBehavior) {
	t.Helper()
	got, b, err := versionOf(ctx, c, id)
	require.NoError(t, err)
	require.Equal(t, build, got, "%s runs on build %s", id, build)
	require.Equal(t, behavior, b, id)
}

func eventuallyOn(ctx context.Context, t *testing.T, c client.Client, id, build string, within time.Duration) {
	t.Helper()
	retry(t, within, id+" on "+build, func() error {
		got, _, err := versionOf(ctx, c, id)
		if err == nil && got != build {
			err = fmt.Errorf("on %q", got)
		}
		return err
	})
}
