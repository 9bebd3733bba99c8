package portone_test

// Client against emulator: charges (again), payment lookups and refunds (cancel).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

func TestClientEmulator_Again(t *testing.T) {
	t.Run("paid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)

		req := charge(custA, "ord-paid-1", 9900)
		req.TaxFree = 900
		req.Buyer = portone.Buyer{Name: "홍길동"}
		req.CustomData = `{"plan":"basic"}`
		req.NaverUseCfm = "20261102"
		p, err := e.Again(req)
		require.NoError(t, err)

		require.Equal(t, portone.StatusPaid, p.Status)
		require.Regexp(t, impUIDPattern, p.ImpUID)
		require.Equal(t, "ord-paid-1", p.MerchantUID)
		require.Equal(t, portone.KRW(9900), p.Amount)
		require.Equal(t, portone.KRW(0), p.CancelAmount)
		require.Equal(t, "KRW", p.Currency)
		require.Equal(t, orderName, p.Name)
		require.Equal(t, custA, p.CustomerUID)
		require.Equal(t, "payment", p.CustomerUIDUsage)
		require.Equal(t, "api", p.Channel)
		require.Equal(t, "naverpay", p.PayMethod)
		require.Equal(t, portonetest.PGNaverPay, p.PGProvider)
		require.NotEmpty(t, p.ApplyNum)
		require.NotEmpty(t, p.PGTID)
		require.Equal(t, t0.Unix(), p.PaidAt)
		require.Equal(t, t0.Unix(), p.StartedAt)
		require.Zero(t, p.FailedAt)
		require.Empty(t, p.FailReason)
		require.Equal(t, "홍길동", p.BuyerName, "the request's buyer wins")
		require.Equal(t, "01012345678", p.BuyerTel, "missing buyer fields come from the customer")
		require.Equal(t, `{"plan":"basic"}`, p.CustomData)
		require.Empty(t, p.CancelHistory)

		// The emulator's side: one paid charge in the ledger, one webhook to the console URL.
		led := e.ledgerFor("ord-paid-1")
		require.Len(t, led, 1)
		require.Equal(t, p.ImpUID, led[0].ImpUID)
		require.Equal(t, "paid", led[0].Status)
		require.Equal(t, int64(9900), led[0].Amount)
		require.Equal(t, "payment", led[0].Usage)
		require.Equal(t, custA, led[0].CustomerUID)
		require.Equal(t, 1, e.emu.PaidCount("ord-paid-1"))

		d := e.waitWebhooks(1)
		require.Len(t, d, 1)
		require.True(t, d[0].OK(), d[0].Err)
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.Equal(t, "paid", d[0].Status)
		var body map[string]string
		require.NoError(t, json.Unmarshal([]byte(e.webhookBodies()[0]), &body))
		require.Equal(t, map[string]string{"imp_uid": p.ImpUID, "merchant_uid": "ord-paid-1", "status": "paid"}, body)

		// What Again answered is what a lookup answers.
		again, err := e.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Equal(t, p, again)
	})

	t.Run("extra.naverUseCfm", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			cfm   string
			check func(t *testing.T, e *env, p *portone.Payment, err error)
		}{
			{name: "the payment day (KST) is accepted", cfm: "20261102", check: wantPaid},
			{name: "a later day is accepted", cfm: "20261231", check: wantPaid},
			{name: "a past day is refused by PortOne", cfm: "20261101", check: func(t *testing.T, e *env, p *portone.Payment, err error) {
				apiErr := requireRefusal(t, err, http.StatusOK, -1, nil)
				require.Contains(t, apiErr.Message, "naverUseCfm")
				require.Empty(t, e.ledgerFor("ord-cfm"), "nothing was charged")
				require.Equal(t, 1, e.requests(http.MethodPost, pathAgain))
			}},
			{name: "not yyyyMMdd is refused by the client", cfm: "2026-11-02", check: func(t *testing.T, e *env, p *portone.Payment, err error) {
				requireValidation(t, err, "extra.naverUseCfm")
				require.Empty(t, e.seen(), "nothing was sent")
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.register(custA)
				req := charge(custA, "ord-cfm", 1000)
				req.NaverUseCfm = tt.cfm
				p, err := e.Again(req)
				tt.check(t, e, p, err)
			})
		}
	})

	t.Run("an amount below NaverPay's minimum is refused before sending", func(t *testing.T) {
		t.Parallel()
		for _, amount := range []portone.KRW{9, 0, -100} {
			t.Run(fmt.Sprint(amount), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.register(custA)
				_, err := e.Again(charge(custA, "ord-small", amount))
				requireValidation(t, err, "amount")
				require.Empty(t, e.seen(), "no request (not even for a token) reached the emulator")
				led := e.emu.Ledger()
				require.Len(t, led, 1, "the ledger holds only the registration")
				require.Equal(t, "issue", led[0].Usage)
			})
		}
		t.Run("10 is the minimum", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			p := e.pay(custA, "ord-ten", 10)
			require.Equal(t, portone.KRW(10), p.Amount)
		})
		t.Run("the emulator refuses it too", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			lax := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret}, portone.WithMinimumAmount(1))
			_, err := lax.Again(charge(custA, "ord-small", 9))
			apiErr := requireRefusal(t, err, http.StatusOK, -1, nil)
			require.Contains(t, apiErr.Message, "10원")
			require.Empty(t, e.ledgerFor("ord-small"))
		})
	})

	t.Run("a paid merchant_uid is never charged again", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		first := e.pay(custA, "ord-dup", 1000)

		_, err := e.Again(charge(custA, "ord-dup", 1000))
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)
		_, err = e.Again(charge(custA, "ord-dup", 2000))
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)

		require.Equal(t, 1, e.emu.PaidCount("ord-dup"))
		led := e.ledgerFor("ord-dup")
		require.Len(t, led, 1)
		require.Equal(t, first.ImpUID, led[0].ImpUID)
	})

	t.Run("notice_url overrides the console URL", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		req := charge(custA, "ord-notice", 1000)
		req.NoticeURL = e.hookURL + "/hooks/order"
		p, err := e.Again(req)
		require.NoError(t, err)
		d := e.waitWebhooks(1)
		require.Equal(t, req.NoticeURL, d[0].URL)
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.True(t, d[0].OK(), d[0].Err)
	})

	t.Run("unknown customer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.Again(charge(custUnknown, "ord-nobody", 1000))
		apiErr := requireRefusal(t, err, http.StatusOK, -1, portone.ErrCustomerNotRegistered)
		require.False(t, apiErr.Temporary())
		require.Empty(t, e.ledgerFor("ord-nobody"))
	})
}

func wantPaid(t *testing.T, e *env, p *portone.Payment, err error) {
	t.Helper()
	require.NoError(t, err)
	require.Equal(t, portone.StatusPaid, p.Status)
	require.Equal(t, 1, e.emu.PaidCount(p.MerchantUID))
}

func TestClientEmulator_PaymentLookups(t *testing.T) {
	// ord-retry: a declined attempt, then a paid one a minute later (a failed merchant_uid
	// may be charged again).
	seed := func(t *testing.T) (e *env, failed, paid *portone.Payment) {
		t.Helper()
		e = newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-retry", Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "한도초과", Times: 1})
		failed, err := e.Again(charge(custA, "ord-retry", 1000))
		require.NoError(t, err)
		require.Equal(t, portone.StatusFailed, failed.Status)
		e.clk.Advance(time.Minute)
		paid = e.pay(custA, "ord-retry", 1000)
		require.NotEqual(t, failed.ImpUID, paid.ImpUID)
		return e, failed, paid
	}

	t.Run("GetPayment", func(t *testing.T) {
		t.Parallel()
		e, failed, paid := seed(t)
		for _, want := range []*portone.Payment{failed, paid} {
			got, err := e.GetPayment(want.ImpUID)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		_, err := e.GetPayment(unknownImpUID)
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
	})

	t.Run("FindPayment", func(t *testing.T) {
		t.Parallel()
		e, failed, paid := seed(t)
		tests := []struct {
			status portone.PaymentStatus
			want   *portone.Payment // nil: not found
		}{
			{status: "", want: paid}, // the most recently started
			{status: portone.StatusPaid, want: paid},
			{status: portone.StatusFailed, want: failed},
			{status: portone.StatusCancelled},
		}
		for _, tt := range tests {
			got, err := e.FindPayment("ord-retry", tt.status)
			if tt.want == nil {
				requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
				continue
			}
			require.NoError(t, err, "status %q", tt.status)
			require.Equal(t, tt.want, got, "status %q", tt.status)
		}
		_, err := e.FindPayment("ord-never", "")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
	})

	t.Run("FindAllPayments", func(t *testing.T) {
		t.Parallel()
		e, failed, paid := seed(t)
		imps := func(p *portone.Page[portone.Payment]) []string {
			out := []string{}
			for _, x := range p.List {
				out = append(out, x.ImpUID)
			}
			return out
		}
		tests := []struct {
			name      string
			q         portone.FindAllQuery
			want      []string
			wantTotal int
			wantPrev  int
			wantNext  int
		}{
			{name: "all, newest first", want: []string{paid.ImpUID, failed.ImpUID}, wantTotal: 2},
			{name: "oldest first", q: portone.FindAllQuery{Sorting: "started"}, want: []string{failed.ImpUID, paid.ImpUID}, wantTotal: 2},
			{name: "failed only", q: portone.FindAllQuery{Status: portone.StatusFailed}, want: []string{failed.ImpUID}, wantTotal: 1},
			{name: "page 2 of 1", q: portone.FindAllQuery{Limit: 1, Page: 2}, want: []string{failed.ImpUID}, wantTotal: 2, wantPrev: 1},
			{name: "page 1 of 1", q: portone.FindAllQuery{Limit: 1}, want: []string{paid.ImpUID}, wantTotal: 2, wantNext: 2},
		}
		for _, tt := range tests {
			got, err := e.FindAllPayments("ord-retry", tt.q)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.want, imps(got), tt.name)
			require.Equal(t, tt.wantTotal, got.Total, tt.name)
			require.Equal(t, tt.wantPrev, got.Previous, tt.name)
			require.Equal(t, tt.wantNext, got.Next, tt.name)
		}
		_, err := e.FindAllPayments("ord-retry", portone.FindAllQuery{Status: portone.StatusCancelled})
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
		_, err = e.FindAllPayments("ord-never", portone.FindAllQuery{})
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		// The ledger agrees: two records, one charge.
		led := e.ledgerFor("ord-retry")
		require.Len(t, led, 2)
		require.Equal(t, "failed", led[0].Status)
		require.Equal(t, "한도초과", led[0].FailReason)
		require.Equal(t, "paid", led[1].Status)
		require.Equal(t, 1, e.emu.PaidCount("ord-retry"))
	})
}

func TestClientEmulator_SandboxLookups(t *testing.T) {
	t.Run("test-channel payments need WithIncludeSandbox", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandboxMerchant())
		e.register(custA)
		p := e.pay(custA, "ord-sandbox", 1000)
		require.True(t, p.Sandbox)

		_, err := e.GetPayment(p.ImpUID)
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
		_, err = e.FindPayment("ord-sandbox", "")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
		_, err = e.FindAllPayments("ord-sandbox", portone.FindAllQuery{})
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		sb := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret}, portone.WithIncludeSandbox(true))
		got, err := sb.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Equal(t, p, got)
		got, err = sb.FindPayment("ord-sandbox", portone.StatusPaid)
		require.NoError(t, err)
		require.Equal(t, p, got)
		all, err := sb.FindAllPayments("ord-sandbox", portone.FindAllQuery{})
		require.NoError(t, err)
		require.Len(t, all.List, 1)
		require.True(t, e.emu.Ledger()[1].Sandbox)
	})
}

func TestClientEmulator_Cancel(t *testing.T) {
	ptr := func(k portone.KRW) *portone.KRW { return &k }

	t.Run("partial, wrong checksum, full, already cancelled", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		p := e.pay(custA, "ord-refund", 1000)
		e.clk.Advance(time.Hour)

		part, err := e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Amount: 300, Checksum: ptr(1000),
			Reason: "부분 환불", Requester: portone.RequesterCustomer})
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, part.Status, "a partial refund leaves the payment paid")
		require.Equal(t, portone.KRW(300), part.CancelAmount)
		require.Len(t, part.CancelHistory, 1)
		h := part.CancelHistory[0]
		require.Equal(t, portone.KRW(300), h.Amount)
		require.Equal(t, "부분 환불", h.Reason)
		require.NotEmpty(t, h.CancellationID)
		require.NotEmpty(t, h.PGTID)
		require.Equal(t, t0.Add(time.Hour).Unix(), h.CancelledAt)
		require.Equal(t, int64(300), e.ledgerFor("ord-refund")[0].CancelAmount)

		// The caller still believes 1000 is refundable: PortOne refuses, nothing moves.
		_, err = e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Amount: 300, Checksum: ptr(1000), Reason: "중복 요청", Requester: portone.RequesterAdmin})
		apiErr := requireRefusal(t, err, http.StatusOK, 1, nil)
		require.Contains(t, apiErr.Message, "checksum")
		require.Equal(t, int64(300), e.ledgerFor("ord-refund")[0].CancelAmount)

		// The rest, named by merchant_uid, with the right checksum.
		full, err := e.CancelPayment(portone.CancelRequest{MerchantUID: "ord-refund", Checksum: ptr(700), Reason: "해지", Requester: portone.RequesterCustomer})
		require.NoError(t, err)
		require.Equal(t, portone.StatusCancelled, full.Status)
		require.Equal(t, portone.KRW(1000), full.CancelAmount)
		require.Len(t, full.CancelHistory, 2)
		require.Equal(t, portone.KRW(700), full.CancelHistory[1].Amount)
		require.NotEqual(t, full.CancelHistory[0].CancellationID, full.CancelHistory[1].CancellationID)
		led := e.ledgerFor("ord-refund")
		require.Len(t, led, 1)
		require.Equal(t, "cancelled", led[0].Status)
		require.Equal(t, int64(1000), led[0].CancelAmount)
		require.Equal(t, 1, e.emu.PaidCount("ord-refund"), "a refunded charge still happened")
		require.Empty(t, e.emu.Warnings())

		got, err := e.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Equal(t, full, got)

		_, err = e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: "again", Requester: portone.RequesterAdmin})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrAlreadyCancelled)
		_, err = e.Again(charge(custA, "ord-refund", 1000))
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)
	})

	t.Run("nothing to cancel", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-declined", Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Times: 1})
		declined, err := e.Again(charge(custA, "ord-declined", 1000))
		require.NoError(t, err)
		require.Equal(t, portone.StatusFailed, declined.Status)

		for _, req := range []portone.CancelRequest{
			{ImpUID: unknownImpUID, Reason: "x", Requester: portone.RequesterAdmin},
			{MerchantUID: "ord-never", Reason: "x", Requester: portone.RequesterAdmin},
			{ImpUID: declined.ImpUID, Reason: "x", Requester: portone.RequesterAdmin},
		} {
			_, err := e.CancelPayment(req)
			requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToCancel)
		}
	})

	t.Run("enable_webhook sends a cancel notification", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		p := e.pay(custA, "ord-hook", 1000)
		e.waitWebhooks(1)
		full, err := e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: "해지", Requester: portone.RequesterCustomer, EnableWebhook: true})
		require.NoError(t, err)
		d := e.waitWebhooks(2)
		require.Equal(t, "cancelled", d[1].Status)
		require.Equal(t, full.CancelHistory[0].CancellationID, d[1].CancellationID)
	})
}
