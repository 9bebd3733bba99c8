// Package gatewaytest is the conformance suite of the gateway seam: what every gateway.Gateway
// must do, checked against the gateway's own emulator. A new gateway is "implement the
// interface, give the suite a Bank over its emulator, and pass Run".
//
// The suite checks the contract billing relies on, not a gateway's wire: every outcome class
// (paid, soft and hard decline, refused request, unknown outcome), lost answers (the write
// happened; the lookup finds it), duplicates (a paid PaymentID is never charged twice),
// refunds that race (a stale expected balance is refused and changes nothing), schedules that
// ran, were revoked or never existed, a paid amount that differs from the one requested (the
// gateway reports the amount it charged), billing keys, the period listing reconciliation
// reads, and, for a gateway that finishes refunds later (AsyncCancels), each refund named and
// listed with its own state.
package gatewaytest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// Fault is an outcome the suite asks a Bank to arrange for the next charge of one PaymentID.
type Fault int

// Faults every Bank must be able to arrange.
const (
	// SoftDecline: the charge is declined for a reason that leaves the key usable.
	SoftDecline Fault = iota + 1
	// HardDecline: the charge is declined and the key is unusable from then on.
	HardDecline
	// LostAnswer: the charge is made (paid) and its answer is lost on the way back.
	LostAnswer
	// FailBeforeCommit: the gateway fails (5xx) before anything is stored: the caller cannot
	// tell it from a lost answer until it looks.
	FailBeforeCommit
	// AmountMismatch: the charge is approved for another amount than the one requested.
	AmountMismatch
)

func (f Fault) String() string {
	switch f {
	case SoftDecline:
		return "soft decline"
	case HardDecline:
		return "hard decline"
	case LostAnswer:
		return "lost answer"
	case FailBeforeCommit:
		return "fail before commit"
	case AmountMismatch:
		return "amount mismatch"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Bank is the emulator behind a gateway under test.
type Bank interface {
	// NewKey registers a fresh billing key (a NaverPay registration) and returns it.
	NewKey(t *testing.T) string
	// Arrange makes the next charge of paymentID (made by Charge or by a schedule's execution)
	// end as f.
	Arrange(t *testing.T, paymentID string, f Fault)
	// Advance moves the emulator's clock by d and runs what fell due.
	Advance(t *testing.T, d time.Duration)
	// Now is the emulator's clock.
	Now() time.Time
}

// AsyncCancels is a Bank whose gateway may finish a refund later (V2's asynchronous cancel:
// REQUESTED, then SUCCEEDED or FAILED). A gateway that does must name each cancellation in its
// REQUESTED answer (gateway.RequestedCancellation) and list every cancellation of a payment
// with its state (gateway.Payment.Cancellations), so that two refunds held at once are followed
// apart; the suite checks it only for such a Bank.
type AsyncCancels interface {
	// ArrangeAsyncCancel makes the next refund asked end after d, FAILED when fail.
	ArrangeAsyncCancel(t *testing.T, d time.Duration, fail bool)
}

// Setup is one gateway under test and the emulator it talks to.
type Setup struct {
	Gateway gateway.Gateway
	Bank    Bank
}

// amount is what the suite charges; every gateway accepts it (V1's and V2's NaverPay minimums
// are 10 and 100 KRW).
const amount = 1000

type suite struct {
	t   *testing.T
	ctx context.Context
	gw  gateway.Gateway
	b   Bank
	key string
}

func (s *suite) charge(paymentID string, amt int64) (gateway.Payment, error) {
	return s.gw.Charge(s.ctx, s.request(paymentID, amt))
}

func (s *suite) request(paymentID string, amt int64) gateway.ChargeRequest {
	return gateway.ChargeRequest{Key: s.key, PaymentID: paymentID, Amount: amt, Name: "conformance",
		Buyer: billing.Buyer{Name: "홍길동", Tel: "010-1234-5678"}, CustomData: `{"suite":"gatewaytest"}`}
}

func (s *suite) mustPay(paymentID string) gateway.Payment {
	s.t.Helper()
	p, err := s.charge(paymentID, amount)
	require.NoError(s.t, err)
	require.Equal(s.t, gateway.StatusPaid, p.Status, "%+v", p)
	return p
}

// paid returns the attempts under paymentID that were approved (paid or since refunded).
func (s *suite) paid(paymentID string) []gateway.Payment {
	s.t.Helper()
	ps, err := s.gw.Payments(s.ctx, paymentID)
	require.NoError(s.t, err)
	var out []gateway.Payment
	for _, p := range ps {
		require.Equal(s.t, paymentID, p.PaymentID, "Payments returns only the PaymentID's attempts")
		if p.Status == gateway.StatusPaid || p.Status == gateway.StatusCancelled {
			out = append(out, p)
		}
	}
	return out
}

// class is the one error class err is in.
func class(err error) error {
	for _, c := range []error{gateway.ErrUnknownOutcome, gateway.ErrRefused, gateway.ErrInvalidRequest, gateway.ErrUnauthorized, gateway.ErrUnavailable} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// Run runs the suite; newSetup makes a fresh gateway and emulator for each case.
func Run(t *testing.T, newSetup func(t *testing.T) Setup) {
	cases := []struct {
		name string
		run  func(s *suite)
	}{
		{"paid", func(s *suite) {
			p := s.mustPay("gwt-paid-1")
			require.Equal(s.t, "gwt-paid-1", p.PaymentID)
			require.Equal(s.t, s.key, p.Key)
			require.NotEmpty(s.t, p.TxID)
			require.EqualValues(s.t, amount, p.Amount)
			require.Zero(s.t, p.Cancelled)
			require.False(s.t, p.PaidAt.IsZero(), "a paid attempt says when")
			got, err := s.gw.Payment(s.ctx, p.TxID)
			require.NoError(s.t, err)
			require.Equal(s.t, p.TxID, got.TxID)
			require.Equal(s.t, gateway.StatusPaid, got.Status)
			require.Equal(s.t, []string{p.TxID}, txIDs(s.paid("gwt-paid-1")))
		}},
		{"answer only: the approval is the Payment, for the amount asked", func(s *suite) {
			// ChargeRequest.AnswerOnly: a gateway whose answer names no attempt (V2) leaves
			// TxID empty, and a lookup names it; one whose answer does (V1) may fill it.
			req := s.request("gwt-answer-1", amount)
			req.AnswerOnly = true
			p, err := s.gw.Charge(s.ctx, req)
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.StatusPaid, p.Status)
			require.Equal(s.t, "gwt-answer-1", p.PaymentID)
			require.Equal(s.t, s.key, p.Key)
			require.EqualValues(s.t, amount, p.Amount)
			require.False(s.t, p.PaidAt.IsZero(), "a paid attempt says when")
			paid := s.paid("gwt-answer-1")
			require.Len(s.t, paid, 1)
			require.NotEmpty(s.t, paid[0].TxID, "the lookup names the attempt")
			if p.TxID != "" {
				require.Equal(s.t, paid[0].TxID, p.TxID)
			}
			require.EqualValues(s.t, amount, paid[0].Amount)
			_, err = s.gw.Charge(s.ctx, req)
			require.ErrorIs(s.t, err, gateway.ErrAlreadyPaid)
		}},
		{"soft decline is a result and leaves the key usable", func(s *suite) {
			s.b.Arrange(s.t, "gwt-soft-1", SoftDecline)
			p, err := s.charge("gwt-soft-1", amount)
			require.NoError(s.t, err, "a decline is a result, not an error")
			require.Equal(s.t, gateway.StatusFailed, p.Status)
			require.NotEmpty(s.t, p.FailReason)
			require.Empty(s.t, s.paid("gwt-soft-1"))
			s.mustPay("gwt-soft-2")
		}},
		{"a declined PaymentID is charged again under the same PaymentID", func(s *suite) {
			// A cycle's retries may reuse its PaymentID (V2's one paymentId per cycle): a decline
			// does not use the PaymentID up, and once paid it is paid once.
			s.b.Arrange(s.t, "gwt-retry-1", SoftDecline)
			p, err := s.charge("gwt-retry-1", amount)
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.StatusFailed, p.Status)
			paid := s.mustPay("gwt-retry-1")
			require.Equal(s.t, []string{paid.TxID}, txIDs(s.paid("gwt-retry-1")))
			_, err = s.charge("gwt-retry-1", amount)
			require.ErrorIs(s.t, err, gateway.ErrAlreadyPaid)
		}},
		{"hard decline is a result and the key stays unusable", func(s *suite) {
			s.b.Arrange(s.t, "gwt-hard-1", HardDecline)
			p, err := s.charge("gwt-hard-1", amount)
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.StatusFailed, p.Status)
			require.NotEmpty(s.t, p.FailReason)
			next, err := s.charge("gwt-hard-2", amount)
			if err != nil {
				require.ErrorIs(s.t, err, gateway.ErrKeyNotFound)
			} else {
				require.Equal(s.t, gateway.StatusFailed, next.Status, "a hard-declined key does not pay again")
			}
			require.Empty(s.t, s.paid("gwt-hard-2"))
		}},
		{"refused request: an invalid amount charges nothing", func(s *suite) {
			_, err := s.charge("gwt-refused-1", 0)
			require.Error(s.t, err)
			require.Contains(s.t, []error{gateway.ErrInvalidRequest, gateway.ErrRefused}, class(err), "%v", err)
			require.Empty(s.t, s.paid("gwt-refused-1"))
		}},
		{"refused request: an unknown key charges nothing", func(s *suite) {
			s.key = "gwt-no-such-key"
			_, err := s.charge("gwt-nokey-1", amount)
			require.ErrorIs(s.t, err, gateway.ErrKeyNotFound)
			require.ErrorIs(s.t, err, gateway.ErrRefused)
			require.Empty(s.t, s.paid("gwt-nokey-1"))
		}},
		{"unknown outcome settled by the lookup: nothing was stored", func(s *suite) {
			s.b.Arrange(s.t, "gwt-unknown-1", FailBeforeCommit)
			_, err := s.charge("gwt-unknown-1", amount)
			require.ErrorIs(s.t, err, gateway.ErrUnknownOutcome)
			require.Empty(s.t, s.paid("gwt-unknown-1"), "the lookup is a definite answer")
			s.mustPay("gwt-unknown-1") // so charging again is safe
		}},
		{"lost answer: the lookup finds the payment and a retry is refused", func(s *suite) {
			s.b.Arrange(s.t, "gwt-lost-1", LostAnswer)
			_, err := s.charge("gwt-lost-1", amount)
			require.ErrorIs(s.t, err, gateway.ErrUnknownOutcome)
			paid := s.paid("gwt-lost-1")
			require.Len(s.t, paid, 1, "the write happened")
			require.EqualValues(s.t, amount, paid[0].Amount)
			_, err = s.charge("gwt-lost-1", amount)
			require.ErrorIs(s.t, err, gateway.ErrAlreadyPaid)
			require.Len(s.t, s.paid("gwt-lost-1"), 1)
		}},
		{"duplicate: a paid PaymentID is never charged again", func(s *suite) {
			first := s.mustPay("gwt-dup-1")
			for range 2 {
				_, err := s.charge("gwt-dup-1", amount)
				require.ErrorIs(s.t, err, gateway.ErrAlreadyPaid)
				require.ErrorIs(s.t, err, gateway.ErrRefused)
			}
			require.Equal(s.t, []string{first.TxID}, txIDs(s.paid("gwt-dup-1")))
		}},
		{"amount mismatch: the gateway reports the amount it charged", func(s *suite) {
			s.b.Arrange(s.t, "gwt-mismatch-1", AmountMismatch)
			p, err := s.charge("gwt-mismatch-1", amount)
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.StatusPaid, p.Status)
			require.NotEqual(s.t, int64(amount), p.Amount, "the caller must be able to see the difference")
			got, err := s.gw.Payment(s.ctx, p.TxID)
			require.NoError(s.t, err)
			require.Equal(s.t, p.Amount, got.Amount)
			// What billing does next: cancel everything that remains.
			r, err := s.gw.Refund(s.ctx, gateway.RefundRequest{TxID: p.TxID, ExpectedRemaining: p.Amount, Reason: "결제 금액 불일치",
				Requester: billing.RequesterAdmin})
			require.NoError(s.t, err)
			require.Equal(s.t, p.Amount, r.Cancelled)
			require.Equal(s.t, gateway.StatusCancelled, r.Status)
		}},
		{"refunds that race: a stale expected balance is refused and changes nothing", func(s *suite) {
			p := s.mustPay("gwt-refund-1")
			refund := func(amt, remaining int64) (gateway.Payment, error) {
				return s.gw.Refund(s.ctx, gateway.RefundRequest{TxID: p.TxID, Amount: amt, ExpectedRemaining: remaining,
					Reason: "부분 환불", Requester: billing.RequesterCustomer})
			}
			r, err := refund(300, amount)
			require.NoError(s.t, err)
			require.EqualValues(s.t, 300, r.Cancelled)
			require.Equal(s.t, gateway.StatusPaid, r.Status, "a partly refunded payment stays paid")

			_, err = refund(300, amount) // the same refund again, as a racing or retried one
			require.ErrorIs(s.t, err, gateway.ErrRefused)
			got, err := s.gw.Payment(s.ctx, p.TxID)
			require.NoError(s.t, err)
			require.EqualValues(s.t, 300, got.Cancelled, "the stale refund changed nothing")

			r, err = refund(0, amount-300) // everything that remains
			require.NoError(s.t, err)
			require.EqualValues(s.t, amount, r.Cancelled)
			require.Equal(s.t, gateway.StatusCancelled, r.Status)

			_, err = refund(0, amount-300)
			require.ErrorIs(s.t, err, gateway.ErrRefused, "nothing is left to refund")
		}},
		{"schedule that ran: revoke reports nothing to revoke, the lookup shows the attempt", func(s *suite) {
			at := s.b.Now().Add(time.Hour).Truncate(time.Second)
			require.NoError(s.t, s.gw.Schedule(s.ctx, gateway.ScheduleRequest{ChargeRequest: s.request("gwt-sched-1", amount), At: at}))
			sc, err := s.gw.ScheduleOf(s.ctx, s.key, "gwt-sched-1")
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.SchedulePending, sc.Status)
			require.True(s.t, at.Equal(sc.At), "at %v, want %v", sc.At, at)
			require.Empty(s.t, s.paid("gwt-sched-1"), "nothing charged before its time")

			s.b.Advance(s.t, time.Hour+time.Minute)
			err = s.gw.Revoke(s.ctx, s.key, "gwt-sched-1")
			require.ErrorIs(s.t, err, gateway.ErrNothingToRevoke)
			sc, err = s.gw.ScheduleOf(s.ctx, s.key, "gwt-sched-1")
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.ScheduleExecuted, sc.Status)
			require.NotEmpty(s.t, sc.TxID)
			p, err := s.gw.Payment(s.ctx, sc.TxID)
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.StatusPaid, p.Status)
			require.EqualValues(s.t, amount, p.Amount)
			require.Len(s.t, s.paid("gwt-sched-1"), 1)
		}},
		{"schedule that ran into a decline", func(s *suite) {
			s.b.Arrange(s.t, "gwt-sched-decline-1", SoftDecline)
			require.NoError(s.t, s.gw.Schedule(s.ctx, gateway.ScheduleRequest{ChargeRequest: s.request("gwt-sched-decline-1", amount),
				At: s.b.Now().Add(time.Hour)}))
			s.b.Advance(s.t, time.Hour+time.Minute)
			sc, err := s.gw.ScheduleOf(s.ctx, s.key, "gwt-sched-decline-1")
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.ScheduleExecuted, sc.Status)
			p, err := s.gw.Payment(s.ctx, sc.TxID)
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.StatusFailed, p.Status)
			require.NotEmpty(s.t, p.FailReason)
		}},
		{"schedule revoked before it ran never charges", func(s *suite) {
			require.NoError(s.t, s.gw.Schedule(s.ctx, gateway.ScheduleRequest{ChargeRequest: s.request("gwt-revoke-1", amount),
				At: s.b.Now().Add(time.Hour)}))
			require.NoError(s.t, s.gw.Revoke(s.ctx, s.key, "gwt-revoke-1"))
			sc, err := s.gw.ScheduleOf(s.ctx, s.key, "gwt-revoke-1")
			require.NoError(s.t, err)
			require.Equal(s.t, gateway.ScheduleRevoked, sc.Status)
			require.False(s.t, sc.RevokedAt.IsZero())
			s.b.Advance(s.t, 2*time.Hour)
			require.Empty(s.t, s.paid("gwt-revoke-1"))
			require.ErrorIs(s.t, s.gw.Revoke(s.ctx, s.key, "gwt-revoke-1"), gateway.ErrNothingToRevoke)
		}},
		{"no schedule, no payment: definite answers", func(s *suite) {
			_, err := s.gw.ScheduleOf(s.ctx, s.key, "gwt-never-1")
			require.ErrorIs(s.t, err, gateway.ErrNotFound)
			ps, err := s.gw.Payments(s.ctx, "gwt-never-1")
			require.NoError(s.t, err)
			require.Empty(s.t, ps)
		}},
		{"schedule on an unknown key is refused", func(s *suite) {
			s.key = "gwt-no-such-key"
			err := s.gw.Schedule(s.ctx, gateway.ScheduleRequest{ChargeRequest: s.request("gwt-sched-nokey-1", amount), At: s.b.Now().Add(time.Hour)})
			require.ErrorIs(s.t, err, gateway.ErrKeyNotFound)
		}},
		{"billing key: verify, delete, gone", func(s *suite) {
			k, err := s.gw.BillingKey(s.ctx, s.key)
			require.NoError(s.t, err)
			require.Equal(s.t, s.key, k.Key)
			require.NotEmpty(s.t, k.PGProvider)
			del := gateway.DeleteKeyRequest{Key: s.key, Reason: "구독 해지", Requester: billing.RequesterCustomer}
			require.NoError(s.t, s.gw.DeleteBillingKey(s.ctx, del))
			_, err = s.gw.BillingKey(s.ctx, s.key)
			require.ErrorIs(s.t, err, gateway.ErrKeyNotFound)
			require.ErrorIs(s.t, s.gw.DeleteBillingKey(s.ctx, del), gateway.ErrKeyNotFound, "a second delete finds it gone")
			_, err = s.charge("gwt-deleted-1", amount)
			require.ErrorIs(s.t, err, gateway.ErrKeyNotFound)
		}},
		{"pending schedules of a window: not the ran, the revoked or the later ones", func(s *suite) {
			now := s.b.Now().Truncate(time.Second)
			sched := func(id string, in time.Duration) {
				require.NoError(s.t, s.gw.Schedule(s.ctx, gateway.ScheduleRequest{ChargeRequest: s.request(id, amount), At: now.Add(in)}))
			}
			sched("gwt-pend-ran", time.Hour)
			sched("gwt-pend-a", 2*time.Hour)
			sched("gwt-pend-b", 3*time.Hour)
			sched("gwt-pend-revoked", 3*time.Hour)
			sched("gwt-pend-later", 6*time.Hour)
			require.NoError(s.t, s.gw.Revoke(s.ctx, s.key, "gwt-pend-revoked"))
			s.b.Advance(s.t, time.Hour+time.Minute) // gwt-pend-ran runs

			got := map[string]gateway.Schedule{}
			q := gateway.ListQuery{From: now, To: now.Add(5 * time.Hour)}
			for pages := 0; ; pages++ {
				require.Less(s.t, pages, 50, "the cursor ends")
				page, err := s.gw.PendingSchedules(s.ctx, q)
				require.NoError(s.t, err)
				for _, sc := range page.Schedules {
					got[sc.PaymentID] = sc
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			require.ElementsMatch(s.t, []string{"gwt-pend-a", "gwt-pend-b"}, keysOf(got))
			a := got["gwt-pend-a"]
			require.Equal(s.t, gateway.SchedulePending, a.Status)
			require.Equal(s.t, s.key, a.Key)
			require.EqualValues(s.t, amount, a.Amount)
			require.True(s.t, now.Add(2*time.Hour).Equal(a.At))
		}},
		{"billing keys in bulk: the held ones, unknown ones absent", func(s *suite) {
			other := s.b.NewKey(s.t)
			found, err := s.gw.BillingKeys(s.ctx, []string{s.key, other, "gwt-no-such-key"})
			require.NoError(s.t, err)
			require.ElementsMatch(s.t, []string{s.key, other}, keyNames(found))
			require.NoError(s.t, s.gw.DeleteBillingKey(s.ctx, gateway.DeleteKeyRequest{Key: other, Reason: "구독 해지", Requester: billing.RequesterCustomer}))
			found, err = s.gw.BillingKeys(s.ctx, []string{s.key, other})
			require.NoError(s.t, err)
			require.Equal(s.t, []string{s.key}, keyNames(found))
			found, err = s.gw.BillingKeys(s.ctx, []string{"gwt-no-such-key"})
			require.NoError(s.t, err, "none held is an answer, not an error")
			require.Empty(s.t, found)
		}},
		{"listing a period finds every settled attempt once", func(s *suite) {
			from := s.b.Now().Add(-time.Minute)
			paid := s.mustPay("gwt-list-paid")
			s.b.Arrange(s.t, "gwt-list-failed", SoftDecline)
			failed, err := s.charge("gwt-list-failed", amount)
			require.NoError(s.t, err)
			refunded := s.mustPay("gwt-list-refunded")
			_, err = s.gw.Refund(s.ctx, gateway.RefundRequest{TxID: refunded.TxID, ExpectedRemaining: amount, Reason: "환불",
				Requester: billing.RequesterAdmin})
			require.NoError(s.t, err)

			seen := map[string]gateway.Payment{}
			q := gateway.ListQuery{From: from, To: s.b.Now().Add(time.Minute)}
			for pages := 0; ; pages++ {
				require.Less(s.t, pages, 50, "the cursor ends")
				page, err := s.gw.ListPayments(s.ctx, q)
				require.NoError(s.t, err)
				for _, p := range page.Payments {
					_, dup := seen[p.TxID]
					require.False(s.t, dup, "%s listed twice", p.TxID)
					seen[p.TxID] = p
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			require.Equal(s.t, gateway.StatusPaid, seen[paid.TxID].Status)
			require.Equal(s.t, gateway.UsageCharge, seen[paid.TxID].Usage)
			require.False(s.t, seen[paid.TxID].PaidAt.IsZero())
			r := seen[refunded.TxID]
			require.Equal(s.t, gateway.StatusCancelled, r.Status)
			require.False(s.t, r.CancelledAt.IsZero())
			var sum int64
			for _, x := range r.Refunds {
				sum += x.Amount
			}
			require.Equal(s.t, r.Cancelled, sum, "the refunds add up to the cancelled amount")
			require.EqualValues(s.t, amount, sum)
			if failed.TxID != "" { // a decline answered without an attempt has nothing to list
				require.Equal(s.t, gateway.StatusFailed, seen[failed.TxID].Status)
			}
		}},
		{"refunds finished later are each named and listed with their own state", func(s *suite) {
			async, ok := s.b.(AsyncCancels)
			if !ok {
				s.t.Skip("this gateway refunds at once")
			}
			p := s.mustPay("gwt-async-1")
			ask := func(amt, remaining int64) string {
				s.t.Helper()
				_, err := s.gw.Refund(s.ctx, gateway.RefundRequest{TxID: p.TxID, PaymentID: "gwt-async-1", Amount: amt, ExpectedRemaining: remaining,
					Reason: "부분 환불", Requester: billing.RequesterCustomer})
				require.ErrorIs(s.t, err, gateway.ErrUnknownOutcome, "not finished: nothing is given back yet")
				var requested *gateway.RequestedCancellation
				require.ErrorAs(s.t, err, &requested, "the answer names its cancellation")
				require.NotEmpty(s.t, requested.ID)
				return requested.ID
			}
			async.ArrangeAsyncCancel(s.t, 2*time.Hour, true)
			first := ask(300, amount)
			async.ArrangeAsyncCancel(s.t, time.Hour, false)
			second := ask(200, amount-300) // the first is spoken for
			require.NotEqual(s.t, first, second)

			got, err := s.gw.Payment(s.ctx, p.TxID)
			require.NoError(s.t, err)
			require.EqualValues(s.t, 500, got.Pending)
			require.Zero(s.t, got.Cancelled)
			s.b.Advance(s.t, 3*time.Hour)
			got, err = s.gw.Payment(s.ctx, p.TxID)
			require.NoError(s.t, err)
			require.EqualValues(s.t, 200, got.Cancelled, "the second was given back")
			require.Zero(s.t, got.Pending)
			c1, ok1 := got.Cancellation(first)
			c2, ok2 := got.Cancellation(second)
			require.True(s.t, ok1 && ok2, "both listed: %+v", got.Cancellations)
			require.Equal(s.t, gateway.CancellationFailed, c1.Status)
			require.EqualValues(s.t, 300, c1.Amount)
			require.Equal(s.t, gateway.CancellationSucceeded, c2.Status)
			require.EqualValues(s.t, 200, c2.Amount)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setup := newSetup(t)
			s := &suite{t: t, ctx: context.Background(), gw: setup.Gateway, b: setup.Bank}
			s.key = setup.Bank.NewKey(t)
			c.run(s)
		})
	}
}

func keysOf(m map[string]gateway.Schedule) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func keyNames(ks []gateway.BillingKey) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.Key)
	}
	return out
}

func txIDs(ps []gateway.Payment) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.TxID)
	}
	return out
}
