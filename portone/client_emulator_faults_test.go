package portone_test

// Every emulator fault, through the real client: the error class the client reports, and
// what really happened on the emulator's side. The environment and helpers are in
// client_emulator_test.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

const (
	// hastyTimeout is far shorter than injectedDelay, so a hasty client always gives up
	// first, and still far longer than any loopback exchange.
	hastyTimeout = 300 * time.Millisecond
	// injectedDelay is the latency of faults the client is meant to give up on; the emulator
	// stops waiting as soon as the client leaves, so no test waits for it.
	injectedDelay  = 10 * time.Second
	declineReason  = "[네이버페이] 카드 한도가 초과되었습니다."
	refundReason   = "고객 요청 환불"
	deletionReason = "구독 해지"
)

// hasty returns a client for e's emulator that gives up after hastyTimeout.
func (e *env) hasty() api {
	return e.client(portone.Credentials{Key: emuKey, Secret: emuSecret}, portone.WithTimeout(hastyTimeout))
}

func TestClientEmulator_FaultDeclines(t *testing.T) {
	t.Run("decline is a failed Payment, not an error", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{CustomerUID: custA, Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: declineReason, Times: 1})

		p, err := e.Again(charge(custA, "ord-declined", 9900))
		require.NoError(t, err, "a decline is an answer")
		require.Equal(t, portone.StatusFailed, p.Status)
		require.Equal(t, declineReason, p.FailReason)
		require.Equal(t, t0.Unix(), p.FailedAt)
		require.Zero(t, p.PaidAt)
		require.Regexp(t, impUIDPattern, p.ImpUID)
		require.Equal(t, portone.KRW(9900), p.Amount)

		led := e.ledgerFor("ord-declined")
		require.Len(t, led, 1, "the failed attempt is stored")
		require.Equal(t, "failed", led[0].Status)
		require.Equal(t, declineReason, led[0].FailReason)
		require.Zero(t, e.emu.PaidCount("ord-declined"))

		// A declined again sends no webhook: the next paid charge's is the only one.
		e.pay(custA, "ord-after-decline", 9900)
		d := e.waitWebhooks(1)
		require.Len(t, d, 1)
		require.Equal(t, "ord-after-decline", d[0].MerchantUID)
	})

	t.Run("decline without a reason uses the emulator's default", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Times: 1})
		p, err := e.Again(charge(custA, "ord-declined", 1000))
		require.NoError(t, err)
		require.Equal(t, portone.StatusFailed, p.Status)
		require.Equal(t, portonetest.DefaultDeclineReason, p.FailReason)
	})

	t.Run("decline_code is a refusal (code -1), not an unknown outcome", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-refused", Op: portonetest.OpAgain, Action: portonetest.FaultDeclineCode, Reason: declineReason, Times: 1})

		p, err := e.Again(charge(custA, "ord-refused", 1000))
		require.Nil(t, p)
		apiErr := requireRefusal(t, err, http.StatusOK, -1, nil)
		require.Equal(t, declineReason, apiErr.Message)
		require.Equal(t, opAgain, apiErr.Op)
		require.False(t, apiErr.Temporary())
		for _, s := range []error{portone.ErrMerchantUIDUsed, portone.ErrCustomerNotRegistered, portone.ErrNotFound} {
			require.NotErrorIs(t, err, s)
		}

		// PortOne still stored the failed attempt; a lookup shows it.
		failed, err := e.FindPayment("ord-refused", "")
		require.NoError(t, err)
		require.Equal(t, portone.StatusFailed, failed.Status)
		require.Equal(t, declineReason, failed.FailReason)
		require.Zero(t, e.emu.PaidCount("ord-refused"))

		// A failed merchant_uid may be charged again.
		paid := e.pay(custA, "ord-refused", 1000)
		require.NotEqual(t, failed.ImpUID, paid.ImpUID)
		require.Equal(t, 1, e.emu.PaidCount("ord-refused"))
		require.Len(t, e.ledgerFor("ord-refused"), 2)
	})

	t.Run("a hard decline makes the key unusable until it is registered again", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		e.emu.AddFault(portonetest.Fault{CustomerUID: custA, Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Hard: true, Times: 1})

		for _, muid := range []string{"ord-h1", "ord-h2"} {
			p, err := e.Again(charge(custA, muid, 1000))
			require.NoError(t, err)
			require.Equal(t, portone.StatusFailed, p.Status, muid)
			require.Equal(t, portonetest.DefaultHardDeclineReason, p.FailReason, muid)
		}
		require.Empty(t, e.emu.Faults(), "the fault fired once; the key stays invalid on its own")
		e.pay(custB, "ord-other-key", 1000)

		e.register(custA)
		e.pay(custA, "ord-h3", 1000)
	})
}

// writeCase is one write endpoint in the fault matrix.
type writeCase struct {
	name string
	op   portonetest.FaultOp
	// clientOp and merchantUID are what the UnknownOutcomeError must say.
	clientOp    string
	merchantUID string
	// scope limits the fault to this case's subject.
	scope func(*portonetest.Fault)
	// prepare creates what the write needs and returns the imp_uid involved, if any.
	prepare func(t *testing.T, e *env) string
	do      func(a api, impUID string) error
	// committed looks the outcome up through the client, as a caller settling an unknown
	// outcome would, and cross-checks it against the emulator's records.
	committed func(t *testing.T, e *env, impUID string) bool
	// retry sends the write again, as a caller may after the lookup, and checks that the
	// end state is the same whichever way the first attempt went.
	retry func(t *testing.T, e *env, impUID string, committed bool)
}

func writeCases() []writeCase {
	ptr := func(k portone.KRW) *portone.KRW { return &k }
	refund := func(impUID string) portone.CancelRequest {
		return portone.CancelRequest{ImpUID: impUID, Amount: 400, Checksum: ptr(1000), Reason: refundReason, Requester: portone.RequesterCustomer}
	}
	twoSchedules := portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
		entry("ord-w1", t0.Add(time.Hour), 1000), entry("ord-w2", t0.AddDate(0, 1, 0), 1000),
	}}
	byMerchantUID := func(muid string) func(*portonetest.Fault) {
		return func(f *portonetest.Fault) { f.MerchantUID = muid }
	}
	byCustomer := func(f *portonetest.Fault) { f.CustomerUID = custA }

	return []writeCase{
		{
			name: "again", op: portonetest.OpAgain, clientOp: opAgain, merchantUID: "ord-w",
			scope:   byMerchantUID("ord-w"),
			prepare: func(t *testing.T, e *env) string { e.register(custA); return "" },
			do: func(a api, _ string) error {
				_, err := a.Again(charge(custA, "ord-w", 1000))
				return err
			},
			committed: func(t *testing.T, e *env, _ string) bool {
				p, err := e.FindPayment("ord-w", "")
				if errors.Is(err, portone.ErrNotFound) {
					require.Empty(t, e.ledgerFor("ord-w"), "the ledger shows nothing committed")
					return false
				}
				require.NoError(t, err)
				require.Equal(t, portone.StatusPaid, p.Status)
				led := e.ledgerFor("ord-w")
				require.Len(t, led, 1)
				require.Equal(t, p.ImpUID, led[0].ImpUID)
				return true
			},
			retry: func(t *testing.T, e *env, _ string, committed bool) {
				_, err := e.Again(charge(custA, "ord-w", 1000))
				if committed {
					requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)
				} else {
					require.NoError(t, err)
				}
				require.Equal(t, 1, e.emu.PaidCount("ord-w"), "exactly one paid payment in the ledger")
				require.Len(t, e.ledgerFor("ord-w"), 1)
			},
		},
		{
			name: "cancel", op: portonetest.OpCancel, clientOp: opCancel, merchantUID: "",
			scope: byMerchantUID("ord-w"),
			prepare: func(t *testing.T, e *env) string {
				e.register(custA)
				return e.pay(custA, "ord-w", 1000).ImpUID
			},
			do: func(a api, impUID string) error {
				_, err := a.CancelPayment(refund(impUID))
				return err
			},
			committed: func(t *testing.T, e *env, impUID string) bool {
				p, err := e.GetPayment(impUID)
				require.NoError(t, err)
				require.Equal(t, int64(p.CancelAmount), e.ledgerFor("ord-w")[0].CancelAmount)
				return len(p.CancelHistory) == 1 && p.CancelAmount == 400
			},
			retry: func(t *testing.T, e *env, impUID string, committed bool) {
				_, err := e.CancelPayment(refund(impUID))
				if committed {
					apiErr := requireRefusal(t, err, http.StatusOK, 1, nil)
					require.Contains(t, apiErr.Message, "checksum", "the checksum stops a second refund")
				} else {
					require.NoError(t, err)
				}
				p, err := e.GetPayment(impUID)
				require.NoError(t, err)
				require.Equal(t, portone.KRW(400), p.CancelAmount)
				require.Len(t, p.CancelHistory, 1)
				require.Equal(t, portone.StatusPaid, p.Status)
			},
		},
		{
			// Scoped by customer: see TestClientEmulator_FaultScope for merchant_uid scoping
			// of schedule faults.
			name: "schedule", op: portonetest.OpSchedule, clientOp: opSchedule, merchantUID: "ord-w1,ord-w2",
			scope:   byCustomer,
			prepare: func(t *testing.T, e *env) string { e.register(custA); return "" },
			do: func(a api, _ string) error {
				_, err := a.Schedule(twoSchedules)
				return err
			},
			committed: func(t *testing.T, e *env, _ string) bool {
				n := 0
				for _, muid := range []string{"ord-w1", "ord-w2"} {
					s, err := e.GetSchedule(muid)
					if errors.Is(err, portone.ErrNotFound) {
						continue
					}
					require.NoError(t, err)
					require.Equal(t, portone.ScheduleScheduled, s.ScheduleStatus)
					n++
				}
				require.Contains(t, []int{0, 2}, n, "a batch is all or nothing")
				require.Len(t, e.emu.Schedules(), n)
				return n == 2
			},
			retry: func(t *testing.T, e *env, _ string, committed bool) {
				_, err := e.Schedule(twoSchedules)
				if committed {
					requireRefusal(t, err, http.StatusOK, 1, nil)
				} else {
					require.NoError(t, err)
				}
				recs := e.emu.Schedules()
				require.Len(t, recs, 2)
				for _, r := range recs {
					require.Equal(t, "scheduled", r.Status)
				}
			},
		},
		{
			name: "unschedule", op: portonetest.OpUnschedule, clientOp: opUnschedule, merchantUID: "ord-w1,ord-w2",
			scope: byMerchantUID("ord-w1"),
			prepare: func(t *testing.T, e *env) string {
				e.register(custA)
				_, err := e.Schedule(twoSchedules)
				require.NoError(t, err)
				return ""
			},
			do: func(a api, _ string) error {
				_, err := a.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-w1", "ord-w2"}})
				return err
			},
			committed: func(t *testing.T, e *env, _ string) bool {
				s, err := e.GetSchedule("ord-w1")
				require.NoError(t, err)
				require.Equal(t, string(s.ScheduleStatus), e.scheduleRecord("ord-w1").Status)
				return s.ScheduleStatus == portone.ScheduleRevoked
			},
			retry: func(t *testing.T, e *env, _ string, committed bool) {
				_, err := e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-w1", "ord-w2"}})
				if committed {
					requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)
				} else {
					require.NoError(t, err)
				}
				for _, muid := range []string{"ord-w1", "ord-w2"} {
					require.Equal(t, "revoked", e.scheduleRecord(muid).Status)
				}
			},
		},
		{
			name: "delete_customer", op: portonetest.OpDeleteCustomer, clientOp: opDeleteCustomer, merchantUID: "",
			scope:   byCustomer,
			prepare: func(t *testing.T, e *env) string { e.register(custA); e.register(custB); return "" },
			do: func(a api, _ string) error {
				_, err := a.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: deletionReason, Requester: portone.RequesterCustomer})
				return err
			},
			committed: func(t *testing.T, e *env, _ string) bool {
				_, err := e.GetCustomer(custA)
				if errors.Is(err, portone.ErrNotFound) {
					return true
				}
				require.NoError(t, err)
				return false
			},
			retry: func(t *testing.T, e *env, _ string, committed bool) {
				_, err := e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: deletionReason, Requester: portone.RequesterCustomer})
				if committed {
					requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
				} else {
					require.NoError(t, err)
				}
				_, err = e.GetCustomer(custA)
				requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
				_, err = e.GetCustomer(custB)
				require.NoError(t, err, "the other key is untouched")
			},
		},
	}
}

// TestClientEmulator_FaultsOnWrites drives every write endpoint into every fault that leaves
// the outcome unknown. The client must report *UnknownOutcomeError every time, whether or
// not the write happened; the lookup then tells which, and the end state is the same either
// way. "commit_then_drop on again, then a lookup, ends with exactly one paid payment in the
// ledger" is the again × commit_then_drop case.
func TestClientEmulator_FaultsOnWrites(t *testing.T) {
	actions := []struct {
		action    portonetest.FaultAction
		status    int           // error_before_commit
		latency   time.Duration // latency, latency_after_commit
		hasty     bool          // the client gives up before the emulator answers
		committed bool          // what the emulator really did
		cause     func(t *testing.T, err error)
	}{
		{action: portonetest.FaultErrorBeforeCommit, committed: false, cause: func(t *testing.T, err error) {
			require.Contains(t, err.Error(), "HTTP 500")
		}},
		{action: portonetest.FaultErrorBeforeCommit, status: http.StatusBadGateway, committed: false, cause: func(t *testing.T, err error) {
			require.Contains(t, err.Error(), "HTTP 502")
		}},
		{action: portonetest.FaultCommitThenDrop, committed: true, cause: func(t *testing.T, err error) {
			require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "the connection was dropped: %v", err)
		}},
		{action: portonetest.FaultLatencyAfterCommit, latency: injectedDelay, hasty: true, committed: true, cause: func(t *testing.T, err error) {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{action: portonetest.FaultLatency, latency: injectedDelay, hasty: true, committed: false, cause: func(t *testing.T, err error) {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
	}
	for _, wc := range writeCases() {
		for _, ac := range actions {
			name := fmt.Sprintf("%s/%s", wc.name, ac.action)
			if ac.status != 0 {
				name += fmt.Sprintf("_%d", ac.status)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				impUID := wc.prepare(t, e)
				f := portonetest.Fault{Op: wc.op, Action: ac.action, HTTPStatus: ac.status, Latency: ac.latency, Times: 1}
				wc.scope(&f)
				e.emu.AddFault(f)

				caller := e.api
				if ac.hasty {
					caller = e.hasty()
				}
				start := time.Now()
				err := wc.do(caller, impUID)
				requireUnknown(t, err, wc.clientOp, wc.merchantUID)
				ac.cause(t, err)
				require.Less(t, time.Since(start), injectedDelay/2, "the client did not wait for the injected delay")
				require.Len(t, e.emu.FaultFirings(), 1)
				require.Empty(t, e.emu.Faults(), "Times: 1 fires once")

				require.Equal(t, ac.committed, wc.committed(t, e, impUID), "what the lookup finds")
				wc.retry(t, e, impUID, ac.committed)
			})
		}
	}
}

// TestClientEmulator_FaultsOnWrites4xx: an error status below 500 on a write is PortOne
// refusing it (nothing done), not an unknown outcome.
func TestClientEmulator_FaultsOnWrites4xx(t *testing.T) {
	tests := []struct {
		status    int
		temporary bool
	}{
		{status: http.StatusTooManyRequests, temporary: true},
		{status: http.StatusBadRequest, temporary: false},
		{status: http.StatusForbidden, temporary: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			e.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: tt.status, Times: 1})
			_, err := e.Again(charge(custA, "ord-4xx", 1000))
			apiErr := requireRefusal(t, err, tt.status, -1, nil)
			require.Equal(t, tt.temporary, apiErr.Temporary())
			require.Empty(t, e.ledgerFor("ord-4xx"))
			e.pay(custA, "ord-4xx", 1000)
			require.Equal(t, 1, e.emu.PaidCount("ord-4xx"))
		})
	}
}

// TestClientEmulator_FaultsOnReads: a 5xx (or 429) on a read is an *APIError the caller may
// retry; a read that times out is a *TransportError, safe to send again.
func TestClientEmulator_FaultsOnReads(t *testing.T) {
	type seeded struct{ impUID string }
	reads := []struct {
		op   string
		call func(a api, s seeded) error
	}{
		{"GET /subscribe/customers/{customer_uid}", func(a api, _ seeded) error { _, err := a.GetCustomer(custA); return err }},
		{"GET /subscribe/customers", func(a api, _ seeded) error { _, err := a.GetCustomers([]string{custA, custB}); return err }},
		{"GET /subscribe/customers/{customer_uid}/payments", func(a api, _ seeded) error { _, err := a.CustomerPayments(custA, 1); return err }},
		{"GET /subscribe/payments/schedule/{merchant_uid}", func(a api, _ seeded) error { _, err := a.GetSchedule("ord-sch"); return err }},
		{"GET /subscribe/payments/schedule/customers/{customer_uid}", func(a api, _ seeded) error {
			_, err := a.SchedulesByCustomer(custA, portone.ScheduleQuery{From: t0, To: t0.AddDate(0, 1, 0)})
			return err
		}},
		{"GET /subscribe/payments/schedule", func(a api, _ seeded) error {
			_, err := a.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 1, 0)})
			return err
		}},
		{"GET /payments/{imp_uid}", func(a api, s seeded) error { _, err := a.GetPayment(s.impUID); return err }},
		{"GET /payments/find/{merchant_uid}", func(a api, _ seeded) error { _, err := a.FindPayment("ord-paid", ""); return err }},
		{"GET /payments/find/{merchant_uid}/{payment_status}", func(a api, _ seeded) error {
			_, err := a.FindPayment("ord-paid", portone.StatusPaid)
			return err
		}},
		{"GET /payments/findAll/{merchant_uid}", func(a api, _ seeded) error {
			_, err := a.FindAllPayments("ord-paid", portone.FindAllQuery{})
			return err
		}},
	}
	statuses := []struct {
		status    int
		temporary bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusTooManyRequests, true},
		{http.StatusBadRequest, false},
	}
	for _, rd := range reads {
		t.Run(rd.op, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			s := seeded{impUID: e.pay(custA, "ord-paid", 1000).ImpUID}
			_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-sch", t0.Add(time.Hour), 1000)}})
			require.NoError(t, err)
			require.NoError(t, rd.call(e.api, s))

			for _, st := range statuses {
				e.emu.AddFault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: st.status, Times: 1})
				apiErr := requireRefusal(t, rd.call(e.api, s), st.status, -1, nil)
				require.Equal(t, rd.op, apiErr.Op)
				require.Equal(t, st.temporary, apiErr.Temporary(), "HTTP %d", st.status)
				require.NoError(t, rd.call(e.api, s), "Times: 1 fires once")
			}

			e.emu.AddFault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultLatency, Latency: injectedDelay, Times: 1})
			start := time.Now()
			err = rd.call(e.hasty(), s)
			te := requireTransport(t, err, rd.op)
			require.ErrorIs(t, te, context.DeadlineExceeded)
			require.Less(t, time.Since(start), injectedDelay/2)
			require.NoError(t, rd.call(e.api, s))

			require.Len(t, e.emu.FaultFirings(), len(statuses)+1)
			require.Equal(t, 1, e.emu.PaidCount("ord-paid"), "reads changed nothing")
		})
	}
}

func TestClientEmulator_FaultLatency(t *testing.T) {
	const delay = 200 * time.Millisecond

	t.Run("a slow again within the client's timeout succeeds, slower", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA) // the token first, so only the charge is timed
		require.NoError(t, err)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultLatency, Latency: delay, Times: 1})
		start := time.Now()
		p := e.pay(custA, "ord-slow", 1000)
		require.GreaterOrEqual(t, time.Since(start), delay)
		require.Equal(t, 1, e.emu.PaidCount(p.MerchantUID))
	})

	t.Run("a slow answer after commit within the client's timeout succeeds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultLatencyAfterCommit, Latency: delay, Times: 1})
		start := time.Now()
		e.pay(custA, "ord-slow", 1000)
		require.GreaterOrEqual(t, time.Since(start), delay)
		require.Equal(t, 1, e.emu.PaidCount("ord-slow"))
	})

	t.Run("a slow read within the client's timeout succeeds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultLatency, Latency: delay, Times: 1})
		start := time.Now()
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), delay)
	})

	t.Run("latency_after_commit beyond the client's timeout: unknown, then exactly one paid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-held", Op: portonetest.OpAgain, Action: portonetest.FaultLatencyAfterCommit, Latency: injectedDelay})

		_, err := e.hasty().Again(charge(custA, "ord-held", 1000))
		requireUnknown(t, err, opAgain, "ord-held")
		require.ErrorIs(t, err, context.DeadlineExceeded)

		p, err := e.FindPayment("ord-held", portone.StatusPaid)
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, 1, e.emu.PaidCount("ord-held"))
		require.Len(t, e.ledgerFor("ord-held"), 1)
	})
}

// TestClientEmulator_FaultGetToken: when the token cannot be fetched, the call itself was
// never sent, so even a write is not an unknown outcome.
func TestClientEmulator_FaultGetToken(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpGetToken, Action: portonetest.FaultErrorBeforeCommit, Times: 1})
		_, err := e.Again(charge(custA, "ord-tok", 1000))
		apiErr := requireRefusal(t, err, http.StatusInternalServerError, -1, nil)
		require.Equal(t, opGetToken, apiErr.Op)
		require.True(t, apiErr.Temporary())
		require.Zero(t, e.requests(http.MethodPost, pathAgain), "the charge was never sent")
		require.Empty(t, e.ledgerFor("ord-tok"))
		e.pay(custA, "ord-tok", 1000)
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpGetToken, Action: portonetest.FaultLatency, Latency: injectedDelay, Times: 1})
		_, err := e.hasty().Again(charge(custA, "ord-tok", 1000))
		te := requireTransport(t, err, opGetToken)
		require.ErrorIs(t, te, context.DeadlineExceeded)
		require.Zero(t, e.requests(http.MethodPost, pathAgain), "the charge was never sent")
		e.pay(custA, "ord-tok", 1000)
	})
}

func TestClientEmulator_FaultWebhook(t *testing.T) {
	t.Run("again: the payment succeeds, the webhook is recorded as failed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-nohook", Action: portonetest.FaultWebhookFail})

		p, err := e.Again(charge(custA, "ord-nohook", 1000))
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, p.Status)
		d := e.waitWebhooks(1)
		require.False(t, d[0].OK())
		require.Contains(t, d[0].Err, "webhook_fail")
		require.Zero(t, d[0].StatusCode)
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.Equal(t, 1, e.emu.PaidCount("ord-nohook"))

		// Other payments still notify, and the receiver only ever saw those.
		e.pay(custA, "ord-hook", 1000)
		d = e.waitWebhooks(2)
		require.True(t, d[1].OK(), d[1].Err)
		require.Equal(t, "ord-hook", d[1].MerchantUID)
		bodies := e.webhookBodies()
		require.Len(t, bodies, 1)
		require.Contains(t, bodies[0], "ord-hook")
	})

	t.Run("with PortOne's retries on, the next attempt a minute later arrives", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, webhookRetries())
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Action: portonetest.FaultWebhookFail, Times: 1})
		e.pay(custA, "ord-retry-hook", 1000)
		d := e.waitWebhooks(1)
		require.False(t, d[0].OK())
		e.clk.Advance(time.Minute)
		d = e.waitWebhooks(2)
		require.True(t, d[1].OK(), d[1].Err)
		require.Equal(t, 2, d[1].Attempt)
		require.Equal(t, "ord-retry-hook", d[1].MerchantUID)
	})

	t.Run("schedule_execution: the charge is paid, the webhook failed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, Action: portonetest.FaultWebhookFail})
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-sch-hook", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)
		e.clk.Advance(time.Hour)
		s, err := e.GetSchedule("ord-sch-hook")
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, s.PaymentStatus)
		d := e.waitWebhooks(1)
		require.False(t, d[0].OK())
		require.Equal(t, "paid", d[0].Status)
		require.Empty(t, e.webhookBodies())
	})
}

func TestClientEmulator_FaultScheduleExecution(t *testing.T) {
	tests := []struct {
		name       string
		fault      portonetest.Fault
		wantReason string
	}{
		{name: "decline", fault: portonetest.Fault{Action: portonetest.FaultDecline, Reason: declineReason}, wantReason: declineReason},
		{name: "decline_code", fault: portonetest.Fault{Action: portonetest.FaultDeclineCode, Reason: declineReason}, wantReason: declineReason},
		{name: "error_before_commit", fault: portonetest.Fault{Action: portonetest.FaultErrorBeforeCommit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			f := tt.fault
			f.Op, f.MerchantUID, f.Times = portonetest.OpScheduleExecution, "ord-x1", 1
			e.emu.AddFault(f)
			_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
				entry("ord-x1", t0.Add(time.Hour), 1000), entry("ord-x2", t0.Add(time.Hour), 1000),
			}})
			require.NoError(t, err)
			e.clk.Advance(time.Hour)

			s, err := e.GetSchedule("ord-x1")
			require.NoError(t, err)
			require.Equal(t, portone.ScheduleExecuted, s.ScheduleStatus)
			require.Equal(t, portone.StatusFailed, s.PaymentStatus)
			require.NotEmpty(t, s.FailReason)
			if tt.wantReason != "" {
				require.Equal(t, tt.wantReason, s.FailReason)
			}
			p, err := e.FindPayment("ord-x1", "")
			require.NoError(t, err)
			require.Equal(t, portone.StatusFailed, p.Status)
			require.Equal(t, s.ImpUID, p.ImpUID)
			require.Equal(t, "payment.scheduled", p.CustomerUIDUsage)
			require.Zero(t, e.emu.PaidCount("ord-x1"))

			other, err := e.GetSchedule("ord-x2")
			require.NoError(t, err)
			require.Equal(t, portone.StatusPaid, other.PaymentStatus, "the other schedule is unaffected")

			// A scheduled attempt notifies whatever its outcome.
			statuses := map[string]string{}
			for _, d := range e.waitWebhooks(2) {
				statuses[d.MerchantUID] = d.Status
			}
			require.Equal(t, map[string]string{"ord-x1": "failed", "ord-x2": "paid"}, statuses)
		})
	}
}

// TestClientEmulator_FaultScope: a fault hits only its customer_uid, merchant_uid and op, and
// Times limits how often it fires.
func TestClientEmulator_FaultScope(t *testing.T) {
	t.Run("by customer_uid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		id := e.emu.AddFault(portonetest.Fault{CustomerUID: custA, Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: declineReason})

		for _, muid := range []string{"ord-a1", "ord-a2"} {
			p, err := e.Again(charge(custA, muid, 1000))
			require.NoError(t, err)
			require.Equal(t, portone.StatusFailed, p.Status)
		}
		e.pay(custB, "ord-b1", 1000)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err, "other ops on the same customer are unaffected")

		firings := e.emu.FaultFirings()
		require.Len(t, firings, 2, "Times 0 fires until removed")
		for _, f := range firings {
			require.Equal(t, custA, f.CustomerUID)
		}
		require.True(t, e.emu.RemoveFault(id))
		e.pay(custA, "ord-a3", 1000)
	})

	t.Run("by merchant_uid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-m1", Op: portonetest.OpAgain, Action: portonetest.FaultErrorBeforeCommit})

		for range 2 {
			_, err := e.Again(charge(custA, "ord-m1", 1000))
			requireUnknown(t, err, opAgain, "ord-m1")
		}
		e.pay(custA, "ord-m2", 1000)
		_, err := e.FindPayment("ord-m2", portone.StatusPaid)
		require.NoError(t, err, "lookups are unaffected")
		require.Empty(t, e.ledgerFor("ord-m1"))
		require.Len(t, e.emu.FaultFirings(), 2)
	})

	t.Run("by op", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{Op: portonetest.OpCancel, Action: portonetest.FaultDecline, Times: 1})
		p := e.pay(custA, "ord-op", 1000)
		require.Len(t, e.emu.Faults(), 1, "a cancel fault does not fire on again")

		// On cancel, a decline is the PG refusing the refund.
		_, err := e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: refundReason, Requester: portone.RequesterCustomer})
		requireRefusal(t, err, http.StatusOK, -1, nil)
		got, err := e.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Zero(t, got.CancelAmount)
		_, err = e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: refundReason, Requester: portone.RequesterCustomer})
		require.NoError(t, err)
	})

	t.Run("Times", func(t *testing.T) {
		t.Parallel()
		for _, times := range []int{1, 2} {
			e := newEnv(t)
			e.register(custA)
			e.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultErrorBeforeCommit, Times: times})
			for i := range times {
				_, err := e.Again(charge(custA, "ord-times", 1000))
				requireUnknown(t, err, opAgain, "ord-times")
				require.Len(t, e.emu.FaultFirings(), i+1)
			}
			require.Empty(t, e.emu.Faults())
			e.pay(custA, "ord-times", 1000)
			require.Equal(t, 1, e.emu.PaidCount("ord-times"))
		}
	})

	t.Run("a schedule fault scoped by merchant_uid fires before commit too", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-s1", Op: portonetest.OpSchedule, Action: portonetest.FaultErrorBeforeCommit, Times: 1})
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-s1", t0.Add(time.Hour), 1000)}})
		// The emulator once read merchant_uid only from the top level of the body, so this
		// pre-commit fault never fired for a schedule (merchant_uid sits in schedules[i]).
		require.Len(t, e.emu.FaultFirings(), 1)
		requireUnknown(t, err, opSchedule, "ord-s1")
		require.Empty(t, e.emu.Schedules())
	})
}
