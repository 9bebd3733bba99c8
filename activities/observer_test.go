package activities_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

type observed struct {
	outcome  billing.Outcome
	class    string
	amount   int64
	lateness time.Duration
	due      bool
}

type recordingObserver struct {
	mu       sync.Mutex
	charges  []observed
	refunded int64
}

func (o *recordingObserver) Charge(outcome billing.Outcome, class string, amount int64, lateness time.Duration, due bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.charges = append(o.charges, observed{outcome, class, amount, lateness, due})
}

func (o *recordingObserver) Refunded(amount int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refunded += amount
}

// TestObserverSeesChargesAndRefunds runs the real activities against the emulator and checks
// what the metrics observer is told: outcome, bounded decline class, amount, lateness from the
// due instant (the emulator's clock is the approval time).
func TestObserverSeesChargesAndRefunds(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	obs := &recordingObserver{}
	f.acts.Observer = obs
	now := f.clk.Now()

	in := chargeIn("sub-1-t-1-1", 1)
	in.DueAt = now.Add(-3 * time.Second)
	paid, err := f.charge(in)
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, paid.Outcome)

	f.emu.AddFault(portonetest.Fault{CustomerUID: "cust-1", Action: portonetest.FaultDecline, Reason: "[네이버페이] 결제수단의 잔액이 부족합니다.", Times: 1})
	in2 := chargeIn("sub-1-t-2-1", 1)
	in2.Cycle = 2
	declined, err := f.charge(in2)
	require.NoError(t, err)
	require.Equal(t, billing.OutcomeDeclined, declined.Outcome)

	_, err = f.env.ExecuteActivity(f.acts.Refund, activities.RefundInput{ImpUID: paid.ImpUID, Amount: 4000, PaymentAmount: 9900,
		Reason: "중도 해지", Requester: billing.RequesterCustomer})
	require.NoError(t, err)

	obs.mu.Lock()
	defer obs.mu.Unlock()
	require.Len(t, obs.charges, 2)
	assert.Equal(t, observed{billing.OutcomePaid, "none", 9900, 3 * time.Second, true}, obs.charges[0])
	assert.Equal(t, observed{billing.OutcomeDeclined, "insufficient_funds", 9900, 0, false}, obs.charges[1])
	assert.Equal(t, int64(4000), obs.refunded)
}

func TestDeclineClass(t *testing.T) {
	tests := []struct {
		outcome billing.Outcome
		reason  string
		want    string
	}{
		{billing.OutcomePaid, "", "none"},
		{billing.OutcomeDeclined, "[네이버페이] 결제수단의 잔액이 부족합니다.", "insufficient_funds"},
		{billing.OutcomeDeclined, "카드 한도초과", "limit_exceeded"},
		{billing.OutcomeDeclined, "카드사 승인거부", "pg_refusal"},
		{billing.OutcomeDeclined, "알 수 없는 오류", "other"},
		{billing.OutcomeDeclinedHard, "유효하지 않은 빌링키", "billing_key"},
		{billing.OutcomeDeclinedHard, "anything", "billing_key"},
		{billing.OutcomeAmountMismatch, "paid amount differs", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			assert.Equal(t, tt.want, activities.DeclineClass(tt.outcome, tt.reason))
		})
	}
}

func TestSettingsCarriesThePortOneQueue(t *testing.T) {
	tests := []struct{ queue string }{{""}, {"billing-portone"}}
	for _, tt := range tests {
		a := &activities.Activities{Config: activities.Config{PortOneTaskQueue: tt.queue}}
		s, err := a.Settings(t.Context())
		require.NoError(t, err)
		assert.Equal(t, tt.queue, s.PortOneTaskQueue)
	}
}

// TestPortOneListsEveryActivityButSettings keeps the dedicated queue's activity list complete:
// a new activity method must be added to PortOneActivities (or be the Settings local activity).
func TestPortOneListsEveryActivityButSettings(t *testing.T) {
	a := &activities.Activities{}
	typ := reflect.TypeOf(a)
	got := activities.PortOneActivities(a)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Name == activities.SettingsActivity {
			continue
		}
		if m.Type.NumIn() < 2 || m.Type.In(1).String() != "context.Context" {
			continue
		}
		assert.Contains(t, got, m.Name, "activity %s is not on the PortOne queue", m.Name)
	}
	assert.NotContains(t, got, activities.SettingsActivity)
}
