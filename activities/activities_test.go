package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// fixture is the real activities with the real PortOne client against the emulator.
type fixture struct {
	t    *testing.T
	emu  *portonetest.Emulator
	clk  *portonetest.ManualClock
	acts *activities.Activities
	env  *testsuite.TestActivityEnvironment
	reg  portonetest.RegisteredCustomer
}

func newFixture(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	clk := portonetest.NewManualClock(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC))
	emu, srv := portonetest.NewServer(t, portonetest.Options{Clock: clk})
	client, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(timeout))
	require.NoError(t, err)
	reg, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-1", CustomerTel: "010-1234-5678"})
	require.NoError(t, err)
	acts := &activities.Activities{Gateway: portonev1.New(client)}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &fixture{t: t, emu: emu, clk: clk, acts: acts, env: env, reg: reg}
}

func (f *fixture) charge(in activities.ChargeInput) (activities.ChargeResult, error) {
	f.t.Helper()
	v, err := f.env.ExecuteActivity(f.acts.Charge, in)
	if err != nil {
		return activities.ChargeResult{}, err
	}
	var res activities.ChargeResult
	require.NoError(f.t, v.Get(&res))
	return res, nil
}

func chargeIn(uid string, attempt int, prior ...string) activities.ChargeInput {
	return activities.ChargeInput{
		SubscriptionID: "sub-1", Cycle: 1, Attempt: attempt, CustomerUID: "cust-1",
		MerchantUID: uid, PriorMerchantUIDs: prior, Amount: 9900, Name: "Premium",
	}
}

func errType(t *testing.T, err error) string {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	return appErr.Type()
}

func (f *fixture) paidCount(uid string) int { return f.emu.PaidCount(uid) }

func TestChargeOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		fault      *portonetest.Fault
		customer   string
		wantOut    billing.Outcome
		wantReason string
		wantPaid   int
	}{
		{name: "paid", wantOut: billing.OutcomePaid, wantPaid: 1},
		{name: "soft decline is a result", fault: &portonetest.Fault{Action: portonetest.FaultDecline, Reason: "한도초과"},
			wantOut: billing.OutcomeDeclined, wantReason: "한도초과"},
		{name: "hard decline", fault: &portonetest.Fault{Action: portonetest.FaultDecline, Hard: true},
			wantOut: billing.OutcomeDeclinedHard, wantReason: "유효하지 않은 빌링키"},
		{name: "code -1 refusal by the PG", fault: &portonetest.Fault{Action: portonetest.FaultDeclineCode, Reason: "카드정보 인증에 실패하였습니다. [F113]거래거절"},
			wantOut: billing.OutcomeDeclined, wantReason: "F113"},
		{name: "unknown customer is hard", customer: "nobody", wantOut: billing.OutcomeDeclinedHard, wantReason: "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 5*time.Second)
			if tt.fault != nil {
				f.emu.AddFault(*tt.fault)
			}
			in := chargeIn("sub-1-abcd-1-1", 1)
			if tt.customer != "" {
				in.CustomerUID = tt.customer
			}
			res, err := f.charge(in)
			require.NoError(t, err, "a decline is never an error")
			require.Equal(t, tt.wantOut, res.Outcome)
			require.Contains(t, res.Reason, tt.wantReason)
			require.Equal(t, tt.wantPaid, f.paidCount(in.MerchantUID))
			if tt.wantOut == billing.OutcomePaid {
				require.NotEmpty(t, res.ImpUID)
				require.Equal(t, int64(9900), res.Amount)
			}
		})
	}
}

func TestHardDeclineStaysHard(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	f.emu.AddFault(portonetest.Fault{CustomerUID: "cust-1", Action: portonetest.FaultDecline, Hard: true, Times: 1})
	first, err := f.charge(chargeIn("sub-1-abcd-1-1", 1))
	require.NoError(t, err)
	require.Equal(t, billing.OutcomeDeclinedHard, first.Outcome)
	// The key stays unusable: a later attempt declines hard again, without any fault left.
	second, err := f.charge(chargeIn("sub-1-abcd-1-2", 2, "sub-1-abcd-1-1"))
	require.NoError(t, err)
	require.Equal(t, billing.OutcomeDeclinedHard, second.Outcome)
}

func TestPriorAttemptPaidIsAdoptedNotCharged(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	_, err := f.charge(chargeIn("sub-1-abcd-1-1", 1))
	require.NoError(t, err)
	res, err := f.charge(chargeIn("sub-1-abcd-1-2", 2, "sub-1-abcd-1-1"))
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, res.Outcome)
	require.True(t, res.Adopted)
	require.Equal(t, "sub-1-abcd-1-1", res.MerchantUID)
	require.Zero(t, f.paidCount("sub-1-abcd-1-2"))
	require.Len(t, paidEntries(f.emu), 1)
}

func TestLookup(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	v, err := f.env.ExecuteActivity(f.acts.Lookup, activities.LookupInput{MerchantUIDs: []string{"sub-1-abcd-1-1"}})
	require.NoError(t, err)
	var lr activities.LookupResult
	require.NoError(t, v.Get(&lr))
	require.False(t, lr.Found, "not found is a definite answer")
	_, err = f.charge(chargeIn("sub-1-abcd-1-1", 1))
	require.NoError(t, err)
	v, err = f.env.ExecuteActivity(f.acts.Lookup, activities.LookupInput{MerchantUIDs: []string{"sub-1-abcd-1-1", "sub-1-abcd-1-2"}})
	require.NoError(t, err)
	require.NoError(t, v.Get(&lr))
	require.True(t, lr.Found)
	require.Equal(t, billing.OutcomePaid, lr.Charge.Outcome)
}

func TestRefundIsIdempotentThroughTheChecksum(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	paid, err := f.charge(chargeIn("sub-1-abcd-1-1", 1))
	require.NoError(t, err)
	in := activities.RefundInput{ImpUID: paid.ImpUID, Amount: 6600, PaymentAmount: 9900, Reason: "중도 해지", Requester: billing.RequesterCustomer}
	v, err := f.env.ExecuteActivity(f.acts.Refund, in)
	require.NoError(t, err)
	var res activities.RefundResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, int64(6600), res.Refunded)
	require.False(t, res.AlreadyDone)
	// The same refund again (a retry after a lost answer) must not refund twice.
	v, err = f.env.ExecuteActivity(f.acts.Refund, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	require.True(t, res.AlreadyDone)
	var entry portonetest.LedgerEntry
	for _, e := range f.emu.Ledger() {
		if e.ImpUID == paid.ImpUID {
			entry = e
		}
	}
	require.Equal(t, int64(6600), entry.CancelAmount)
	require.Empty(t, f.emu.Warnings(), "reason and requester were sent, as NaverPay's review requires")
	// More than the balance is refused before sending.
	_, err = f.env.ExecuteActivity(f.acts.Refund, activities.RefundInput{ImpUID: paid.ImpUID, Amount: 5000, PaymentAmount: 9900, PriorCancelled: 6600, Reason: "x", Requester: billing.RequesterAdmin})
	require.Equal(t, activities.ErrTypeInvalidRequest, errType(t, err))
}

func TestBillingKeyChecksAndDeletion(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	v, err := f.env.ExecuteActivity(f.acts.CheckBillingKey, activities.BillingKeyInput{CustomerUID: "cust-1"})
	require.NoError(t, err)
	var key activities.BillingKeyResult
	require.NoError(t, v.Get(&key))
	require.True(t, key.Exists)
	require.Equal(t, "naverpay", key.PGProvider)

	in := activities.DeleteBillingKeyInput{CustomerUID: "cust-1", Reason: "해지", Requester: billing.RequesterCustomer}
	v, err = f.env.ExecuteActivity(f.acts.DeleteBillingKey, in)
	require.NoError(t, err)
	var del activities.DeleteBillingKeyResult
	require.NoError(t, v.Get(&del))
	require.True(t, del.Deleted)
	require.False(t, del.AlreadyGone)
	v, err = f.env.ExecuteActivity(f.acts.DeleteBillingKey, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&del))
	require.True(t, del.AlreadyGone, "deleting twice is harmless")

	v, err = f.env.ExecuteActivity(f.acts.CheckBillingKey, activities.BillingKeyInput{CustomerUID: "cust-1"})
	require.NoError(t, err)
	require.NoError(t, v.Get(&key))
	require.False(t, key.Exists)
}

func TestVerifyRegistration(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	other, err := f.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-2"})
	require.NoError(t, err)
	tests := []struct {
		name, impUID, customer string
		ok                     bool
		reason                 string
	}{
		{"genuine", f.reg.RegistrationImpUID, "cust-1", true, ""},
		{"another customer's registration", other.RegistrationImpUID, "cust-1", false, "another billing key"},
		{"unknown imp_uid", "imp_999999999999", "cust-1", false, "has no payment"},
	}
	for _, tt := range tests {
		v, err := f.env.ExecuteActivity(f.acts.VerifyRegistration, activities.VerifyRegistrationInput{ImpUID: tt.impUID, CustomerUID: tt.customer})
		require.NoError(t, err, tt.name)
		var res activities.VerifyRegistrationResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, tt.ok, res.OK, tt.name)
		require.Contains(t, res.Reason, tt.reason, tt.name)
	}
}

func TestScheduleLifecycle(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	at := f.clk.Now().Add(time.Hour)
	in := activities.ScheduleChargeInput{ChargeInput: chargeIn("sub-1-abcd-2-1", 1), ScheduleAt: at}
	state := func(fn any, arg any) activities.ScheduleState {
		t.Helper()
		v, err := f.env.ExecuteActivity(fn, arg)
		require.NoError(t, err)
		var st activities.ScheduleState
		require.NoError(t, v.Get(&st))
		return st
	}
	st := state(f.acts.ScheduleCharge, in)
	require.Equal(t, activities.SchedulePending, st.Status)
	st = state(f.acts.ScheduleCharge, in) // a retry after a lost answer
	require.Equal(t, activities.SchedulePending, st.Status)
	require.Len(t, f.emu.Schedules(), 1, "scheduled once")

	settle := activities.SettleScheduleInput{CustomerUID: "cust-1", MerchantUID: in.MerchantUID, Amount: 9900}
	require.Equal(t, activities.SchedulePending, state(f.acts.ScheduleStatus, settle).Status)
	f.clk.Advance(2 * time.Hour) // PortOne runs it at schedule_at
	f.emu.RunDue()
	st = state(f.acts.ScheduleStatus, settle)
	require.Equal(t, activities.ScheduleExecuted, st.Status)
	require.Equal(t, billing.OutcomePaid, st.Charge.Outcome)
	// Revoking an executed schedule returns the executed charge: it is never charged again.
	st = state(f.acts.Unschedule, settle)
	require.Equal(t, activities.ScheduleExecuted, st.Status)
	require.Equal(t, billing.OutcomePaid, st.Charge.Outcome)
	require.Equal(t, 1, f.paidCount(in.MerchantUID))

	// A schedule revoked before it runs never charges.
	in2 := activities.ScheduleChargeInput{ChargeInput: chargeIn("sub-1-abcd-3-1", 1), ScheduleAt: f.clk.Now().Add(time.Hour)}
	state(f.acts.ScheduleCharge, in2)
	settle2 := activities.SettleScheduleInput{CustomerUID: "cust-1", MerchantUID: in2.MerchantUID, Amount: 9900}
	st = state(f.acts.Unschedule, settle2)
	require.Equal(t, activities.ScheduleRevoked, st.Status)
	require.Equal(t, billing.OutcomeRevoked, st.Charge.Outcome)
	f.clk.Advance(2 * time.Hour)
	f.emu.RunDue()
	require.Zero(t, f.paidCount(in2.MerchantUID))
}

// fakeGateway returns a paid payment for a different amount than asked, which PortOne should
// never do; the activity must refund it at once.
type fakeGateway struct {
	gateway.Gateway
	cancels []gateway.RefundRequest
}

func (g *fakeGateway) Payments(context.Context, string) ([]gateway.Payment, error) { return nil, nil }

func (g *fakeGateway) Charge(_ context.Context, req gateway.ChargeRequest) (gateway.Payment, error) {
	return gateway.Payment{TxID: "imp_1", PaymentID: req.PaymentID, Amount: req.Amount + 1000, Status: gateway.StatusPaid}, nil
}

func (g *fakeGateway) Refund(_ context.Context, req gateway.RefundRequest) (gateway.Payment, error) {
	g.cancels = append(g.cancels, req)
	return gateway.Payment{TxID: req.TxID, Status: gateway.StatusCancelled}, nil
}

func TestAmountMismatchIsRefundedAtOnce(t *testing.T) {
	g := &fakeGateway{}
	acts := &activities.Activities{Gateway: g}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.Charge, chargeIn("sub-1-abcd-1-1", 1))
	require.NoError(t, err)
	var res activities.ChargeResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, billing.OutcomeAmountMismatch, res.Outcome)
	require.Len(t, g.cancels, 1)
	require.Equal(t, int64(10900), g.cancels[0].ExpectedRemaining)
	require.Zero(t, g.cancels[0].Amount, "everything that remains")
	require.Contains(t, g.cancels[0].Reason, "불일치")
	require.Equal(t, billing.RequesterAdmin, g.cancels[0].Requester)
}

// TestAmountMismatchFromTheEmulatorIsRefundedAtOnce is the README's rule end to end against
// the emulator (FaultAmountMismatch), through the V1 gateway: a charge, and a schedule's
// execution, approved for another amount than requested are reported as amount_mismatch and
// the payment is cancelled in full at PortOne.
func TestAmountMismatchFromTheEmulatorIsRefundedAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name     string
		schedule bool
	}{{"charge", false}, {"scheduled execution", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 5*time.Second)
			uid := "sub-1-abcd-4-1"
			f.emu.AddFault(portonetest.Fault{MerchantUID: uid, Action: portonetest.FaultAmountMismatch, PaidAmount: 12900, Times: 1})
			var res activities.ChargeResult
			if tt.schedule {
				in := activities.ScheduleChargeInput{ChargeInput: chargeIn(uid, 1), ScheduleAt: f.clk.Now().Add(time.Hour)}
				_, err := f.env.ExecuteActivity(f.acts.ScheduleCharge, in)
				require.NoError(t, err)
				f.clk.Advance(2 * time.Hour)
				f.emu.RunDue()
				v, err := f.env.ExecuteActivity(f.acts.ScheduleStatus, activities.SettleScheduleInput{CustomerUID: "cust-1", MerchantUID: uid, Amount: 9900})
				require.NoError(t, err)
				var st activities.ScheduleState
				require.NoError(t, v.Get(&st))
				require.True(t, st.Executed())
				res = *st.Charge
			} else {
				var err error
				res, err = f.charge(chargeIn(uid, 1))
				require.NoError(t, err)
			}
			require.Equal(t, billing.OutcomeAmountMismatch, res.Outcome)
			require.EqualValues(t, 12900, res.Amount)
			require.Contains(t, res.Reason, "differs from requested 9900")
			var entries []portonetest.LedgerEntry
			for _, e := range f.emu.Ledger() {
				if e.MerchantUID == uid {
					entries = append(entries, e)
				}
			}
			require.Len(t, entries, 1)
			require.EqualValues(t, 12900, entries[0].Amount)
			require.EqualValues(t, 12900, entries[0].CancelAmount, "cancelled at once, in full")
		})
	}
}

func TestIsHardDecline(t *testing.T) {
	tests := []struct {
		reason string
		hard   bool
	}{
		{portonetest.DefaultHardDeclineReason, true},
		{portonetest.DefaultDeclineReason, false},
		{"한도초과", false},
		{"분실 신고된 카드입니다", true},
		{"등록되지 않은 구매자입니다.", true},
		{"Expired card", true},
		{"일시적인 오류입니다", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.hard, activities.IsHardDecline(tt.reason), tt.reason)
	}
}

func paidEntries(emu *portonetest.Emulator) []portonetest.LedgerEntry {
	var out []portonetest.LedgerEntry
	for _, e := range emu.Ledger() {
		if e.Status == "paid" && e.Usage != "issue" {
			out = append(out, e)
		}
	}
	return out
}
