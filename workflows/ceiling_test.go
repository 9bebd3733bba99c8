package workflows_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/workflows"
)

// The attempt ceiling (README "Dunning"): at most 10 declines per billing key in 24 hours and 20
// reattempts in 30 days, on every path that charges. The bank counts what reached it; the
// checker below knows the rule by itself, not through the workflow's code.

// ceilingViolations reports every attempt the bank saw that passed a ceiling: for each key, a
// decline beyond the 10th within any 24 hours, a reattempt (an attempt of a cycle the bank had
// already declined) beyond the 20th within any 30 days.
func ceilingViolations(b *bank) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	declines := map[string][]time.Time{}
	reattempts := map[string][]time.Time{}
	declinedCycle := map[string]bool{}
	within := func(ts []time.Time, at time.Time, w time.Duration) int {
		n := 0
		for _, t := range ts {
			if t.After(at.Add(-w)) && !t.After(at) {
				n++
			}
		}
		return n
	}
	ledger := append([]attempt(nil), b.ledger...)
	sort.SliceStable(ledger, func(i, j int) bool { return ledger[i].at.Before(ledger[j].at) })
	for _, at := range ledger {
		key := at.in.CustomerUID
		cycleKey := fmt.Sprintf("%s/%d", at.in.SubscriptionID, at.in.Cycle)
		if declinedCycle[cycleKey] {
			reattempts[key] = append(reattempts[key], at.at)
			if n := within(reattempts[key], at.at, 30*24*time.Hour); n > 20 {
				out = append(out, fmt.Sprintf("%s: reattempt %d within 30 days at %s", key, n, at.at.In(calendar.Seoul).Format("01-02 15:04")))
			}
		}
		if at.outcome == billing.OutcomeDeclined || at.outcome == billing.OutcomeDeclinedHard {
			declinedCycle[cycleKey] = true
			declines[key] = append(declines[key], at.at)
			if n := within(declines[key], at.at, 24*time.Hour); n > 10 {
				out = append(out, fmt.Sprintf("%s: decline %d within 24 hours at %s", key, n, at.at.In(calendar.Seoul).Format("01-02 15:04")))
			}
		}
	}
	return out
}

// refusal is why an update was refused, by its validator or when carried out (nil: it was not).
func refusal(a updateResult) error {
	if a.rejected != nil {
		return a.rejected
	}
	return a.err
}

// attemptsOn counts the attempts the bank saw on key in [from, to).
func attemptsOn(b *bank, key string, from, to time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, at := range b.ledger {
		if at.in.CustomerUID == key && !at.at.Before(from) && at.at.Before(to) {
			n++
		}
	}
	return n
}

// counters is a metrics handler that keeps the workflow's counters, by name and tags.
type counters struct {
	mu   sync.Mutex
	tags map[string]string
	vals map[string]int64
	root *counters
}

func newCounters() *counters {
	c := &counters{vals: map[string]int64{}}
	c.root = c
	return c
}

func (c *counters) WithTags(tags map[string]string) client.MetricsHandler {
	merged := map[string]string{}
	for k, v := range c.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &counters{tags: merged, root: c.root}
}

func (c *counters) key(name string) string {
	var parts []string
	for k, v := range c.tags {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func (c *counters) Counter(name string) client.MetricsCounter { return counter{c.root, c.key(name)} }
func (c *counters) Gauge(string) client.MetricsGauge          { return client.MetricsNopHandler.Gauge("") }
func (c *counters) Timer(string) client.MetricsTimer          { return client.MetricsNopHandler.Timer("") }

// get returns the counter of name whose tags include tag (k=v), summed.
func (c *counters) get(name, tag string) int64 {
	c.root.mu.Lock()
	defer c.root.mu.Unlock()
	var n int64
	for k, v := range c.root.vals {
		if strings.HasPrefix(k, name+"{") && strings.Contains(k, tag) {
			n += v
		}
	}
	return n
}

// withheld returns every withheld-attempt counter, to show that no customer is ever a label.
func (c *counters) series(name string) []string {
	c.root.mu.Lock()
	defer c.root.mu.Unlock()
	var out []string
	for k := range c.root.vals {
		if strings.HasPrefix(k, name+"{") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

type counter struct {
	root *counters
	key  string
}

func (c counter) Inc(d int64) {
	c.root.mu.Lock()
	defer c.root.mu.Unlock()
	c.root.vals[c.key] += d
}

// newEnvWithMetrics is newEnv with a metrics handler.
func newEnvWithMetrics(t *testing.T, start time.Time, h client.MetricsHandler) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	if os.Getenv("WF_DEBUG") == "" {
		s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	}
	s.SetMetricsHandler(h)
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.WorkflowID("sub-1"), TaskQueue: billing.TaskQueue})
	env.SetWorkflowRunTimeout(100 * 365 * 24 * time.Hour)
	env.RegisterWorkflowWithOptions(workflows.Subscription, workflowRegisterOptions())
	env.SetTestTimeout(30 * time.Second)
	return env
}

// TestAttemptCeiling drives each path that charges a billing key past the card networks'
// ceilings and checks that what reached the bank stays within them, that a caller is told why
// and until when, and that dunning waits (or parks) instead of charging.
func TestAttemptCeiling(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	due := kst(2025, time.April, 10, 10, 0) // cycle 2, declined on every attempt
	days := func(n int) billing.Duration { return billing.Duration(time.Duration(n) * 24 * time.Hour) }
	hours := func(n int) billing.Duration { return billing.Duration(time.Duration(n) * time.Hour) }
	noDelete := false

	type call struct {
		at      time.Time
		name    string
		payload any
	}
	// chargeNows are n charge_now updates every step from first.
	chargeNows := func(first time.Time, step time.Duration, n int) []call {
		var out []call
		for i := range n {
			out = append(out, call{at: first.Add(time.Duration(i) * step), name: billing.MsgChargeNow, payload: billing.ChargeNowRequest{}})
		}
		return out
	}
	tests := []struct {
		name    string
		input   func() billing.SubscriptionInput
		keys    []string
		calls   []call
		check   func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters)
		refused int // updates refused by the ceiling
	}{
		{
			name:    "charge_now: 11 in one day, the 10th and 11th refused",
			calls:   chargeNows(due.Add(time.Hour), 30*time.Minute, 11),
			refused: 2,
			check: func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters) {
				require.Equal(t, 10, attemptsOn(b, "cust-1", due, due.Add(24*time.Hour)), "the first charge and 9 charge_now")
				require.ErrorContains(t, refusal(answers[9]), "10 declines in 24 hours")
				require.ErrorContains(t, refusal(answers[9]), "2025-04-11 10:00:00 KST", "names when the next attempt is allowed")
				require.Equal(t, int64(2), m.get(billing.MetricAttemptsWithheld, "reason="+billing.CeilingDeclines24h))
			},
		},
		{
			name: "charge_now: 25 in 30 days, from the 21st refused; the last policy retry parks",
			input: func() billing.SubscriptionInput {
				in := monthly()
				grace := days(29)
				in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{days(28)}, Grace: &grace}
				return in
			},
			calls:   chargeNows(due.Add(2*time.Hour), 24*time.Hour, 25),
			refused: 5,
			check: func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters) {
				require.Equal(t, 21, attemptsOn(b, "cust-1", due, due.AddDate(0, 1, 0)), "the first charge and 20 reattempts")
				require.ErrorContains(t, refusal(answers[20]), "20 reattempts in 30 days")
				require.ErrorContains(t, refusal(answers[20]), "2025-05-10 12:00:00 KST")
				// The D+28 retry (May 8) would be the 21st reattempt and the window allows one only
				// after the next cycle's charge: the subscription was parked, not retried.
				require.NotNil(t, st.Attention)
				require.Equal(t, billing.AttentionAttemptCeiling, st.Attention.Kind)
				require.Equal(t, int64(6), m.get(billing.MetricAttemptsWithheld, "reason="+billing.CeilingReattempts30d))
			},
		},
		{
			name: "dunning: a policy retry the ceiling withholds waits for the window on a timer",
			input: func() billing.SubscriptionInput {
				in := monthly()
				in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{hours(20), days(3)}}
				return in
			},
			calls: chargeNows(due.Add(time.Hour), time.Hour, 9),
			check: func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters) {
				// Due Apr 11 06:00 (D+20h), it is made at 10:00, when the first decline left the window.
				require.Zero(t, attemptsOn(b, "cust-1", due.Add(10*time.Hour), due.Add(24*time.Hour)))
				require.Equal(t, 1, attemptsOn(b, "cust-1", due.Add(24*time.Hour), due.Add(24*time.Hour+time.Second)))
				require.Equal(t, 1, attemptsOn(b, "cust-1", due.AddDate(0, 0, 3), due.AddDate(0, 0, 3).Add(time.Second)), "the D+3 retry follows")
				require.Equal(t, int64(1), m.get(billing.MetricAttemptsWithheld, "reason="+billing.CeilingDeclines24h))
				require.Nil(t, st.Attention)
			},
		},
		{
			name: "replace_billing_key: a new key starts a fresh count, the old key back is withheld",
			keys: []string{"cust-1", "cust-2"},
			calls: append(chargeNows(due.Add(time.Hour), time.Hour, 9),
				call{at: due.Add(10 * time.Hour), name: billing.MsgReplaceBillingKey, payload: billing.ReplaceBillingKeyRequest{CustomerUID: "cust-2", DeleteOld: &noDelete}},
				call{at: due.Add(11 * time.Hour), name: billing.MsgReplaceBillingKey, payload: billing.ReplaceBillingKeyRequest{CustomerUID: "cust-1", DeleteOld: &noDelete}}),
			check: func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters) {
				require.Equal(t, 1, attemptsOn(b, "cust-2", due, due.Add(24*time.Hour)), "the new key's retry was made")
				require.Equal(t, 10, attemptsOn(b, "cust-1", due, due.Add(24*time.Hour)), "the old key's retry waited for the window")
				require.Contains(t, answers[10].receipt.Message, "10 declines in 24 hours")
				require.Equal(t, int64(1), m.get(billing.MetricAttemptsWithheld, "reason="+billing.CeilingDeclines24h))
			},
		},
		{
			name: "resume restart: the new cycle's charge is held until the window allows it, at its own amount",
			input: func() billing.SubscriptionInput {
				in := monthly()
				grace := hours(12)
				in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{}, Grace: &grace, FinalAction: billing.FinalActionPause}
				return in
			},
			// 10 declines by 14:30; paused by dunning at 22:00; resumed the next morning.
			calls: append(chargeNows(due.Add(30*time.Minute), 30*time.Minute, 9),
				call{at: due.Add(23 * time.Hour), name: billing.MsgResume, payload: billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "topped up"}},
				call{at: due.AddDate(0, 0, 10), name: billing.MsgCancel, payload: billing.CancelRequest{When: billing.Now, Reason: "test over"}}),
			check: func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters) {
				require.Zero(t, attemptsOn(b, "cust-1", due.Add(23*time.Hour), due.Add(24*time.Hour)), "no attempt before the window allows it")
				b.mu.Lock()
				last := b.ledger[len(b.ledger)-1]
				b.mu.Unlock()
				require.Equal(t, due.Add(24*time.Hour).UTC(), last.at.UTC(), "made when the first decline left the window")
				require.Equal(t, 3, last.in.Cycle)
				require.Equal(t, int64(9900), last.in.Amount)
				require.Equal(t, billing.StatusCanceled, st.Status)
				require.Equal(t, int64(1), m.get(billing.MetricAttemptsWithheld, "reason="+billing.CeilingDeclines24h))
			},
		},
		{
			name: "schedule mode: PortOne's failed scheduled charge counts",
			input: func() billing.SubscriptionInput {
				in := monthly()
				in.Plan.ChargeMode = billing.ChargeModeSchedule
				return in
			},
			calls:   chargeNows(due.Add(time.Hour), time.Hour, 10),
			refused: 1,
			check: func(t *testing.T, b *bank, st billing.State, answers []updateResult, m *counters) {
				require.Equal(t, 10, attemptsOn(b, "cust-1", due, due.Add(24*time.Hour)))
				require.ErrorContains(t, refusal(answers[9]), "10 declines in 24 hours")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCounters()
			env := newEnvWithMetrics(t, start, m)
			keys := tt.keys
			if keys == nil {
				keys = []string{"cust-1"}
			}
			b := newBank(t, env, keys...)
			b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
				if in.Cycle >= 2 {
					return billing.OutcomeDeclined, "잔액부족"
				}
				return billing.OutcomePaid, ""
			}
			answers := make([]updateResult, len(tt.calls))
			for i, c := range tt.calls {
				env.RegisterDelayedCallback(func() { update(env, c.name, c.payload, &answers[i]) }, c.at.Sub(start))
			}
			in := monthly()
			if tt.input != nil {
				in = tt.input()
			}
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.Empty(t, ceilingViolations(b), "attempts that passed the ceiling reached the bank:\n%s", strings.Join(kstTimes(b), "\n"))
			refused := 0
			for i, a := range answers {
				require.True(t, a.done, "call %d answered", i)
				if err := refusal(a); err != nil && strings.Contains(err.Error(), "ceiling") {
					refused++
				}
			}
			require.Equal(t, tt.refused, refused)
			if tt.check != nil {
				tt.check(t, b, st, answers, m)
			}
			for _, s := range m.series(billing.MetricAttemptsWithheld) {
				require.NotContains(t, s, "cust-", "no customer in a label")
			}
			b.checkInvariants(st)
		})
	}
}

// TestAttemptCeilingCarriedAcrossContinueAsNew: the attempt log survives continue-as-new,
// pruned to what the windows need and naming keys only by fingerprint, and the next run counts
// with it: 20 reattempts in April leave no room for a 21st on May 10 before 12:00.
func TestAttemptCeilingCarriedAcrossContinueAsNew(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	due := kst(2025, time.April, 10, 10, 0)
	grace := billing.Duration(29 * 24 * time.Hour)
	in := monthly()
	in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{}, Grace: &grace}

	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var mu sync.Mutex
	paying := false
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		mu.Lock()
		defer mu.Unlock()
		if in.Cycle >= 2 && !paying {
			return billing.OutcomeDeclined, "잔액부족"
		}
		return billing.OutcomePaid, ""
	}
	// 19 daily charge_now decline; the 20th pays, and the run continues as new right after.
	answers := make([]updateResult, 20)
	for i := range answers {
		env.RegisterDelayedCallback(func() {
			if i == len(answers)-1 {
				mu.Lock()
				paying = true
				mu.Unlock()
				env.SetContinueAsNewSuggested(true)
			}
			update(env, billing.MsgChargeNow, billing.ChargeNowRequest{}, &answers[i])
		}, due.Add(2*time.Hour).AddDate(0, 0, i).Sub(start))
	}
	env.ExecuteWorkflow(billing.WorkflowType, in)
	next := continued(t, env)
	for i, a := range answers {
		require.NoError(t, refusal(a), "charge_now %d", i+1)
	}
	carried := next.Continued.CardAttempts
	require.Len(t, carried, 20, "the 20 reattempts of the last 30 days; the first decline left the 24-hour window")
	for _, a := range carried {
		require.True(t, a.Retry)
		require.Equal(t, billing.KeyFingerprint("cust-1"), a.Key)
		require.NotContains(t, a.Key, "cust")
	}

	env2 := newEnv(t, env.Now())
	b2 := newBank(t, env2, "cust-1")
	b2.decide = func(activities.ChargeInput) (billing.Outcome, string) { return billing.OutcomeDeclined, "잔액부족" }
	env2.SetContinuedExecutionRunID("run-0")
	may10 := kst(2025, time.May, 10, 10, 0)
	calls := []struct {
		at      time.Time
		name    string
		payload any
	}{
		{may10.Add(time.Hour), billing.MsgChargeNow, billing.ChargeNowRequest{}},
		{may10.Add(2 * time.Hour), billing.MsgChargeNow, billing.ChargeNowRequest{}},
		{may10.AddDate(0, 0, 1), billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"}},
	}
	answers2 := make([]updateResult, len(calls))
	for i, c := range calls {
		env2.RegisterDelayedCallback(func() { update(env2, c.name, c.payload, &answers2[i]) }, c.at.Sub(env.Now()))
	}
	env2.ExecuteWorkflow(billing.WorkflowType, next)
	st := result(t, env2)
	require.ErrorContains(t, refusal(answers2[0]), "20 reattempts in 30 days")
	require.ErrorContains(t, refusal(answers2[0]), "2025-05-10 12:00:00 KST")
	require.NoError(t, refusal(answers2[1]), "allowed once the first April reattempt left the window")
	require.Equal(t, 2, attemptsOn(b2, "cust-1", may10, may10.AddDate(0, 0, 1)), "cycle 3's charge and the 12:00 charge_now")
	require.Equal(t, billing.StatusCanceled, st.Status)
}
