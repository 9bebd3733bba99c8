package portone_test

// Client against emulator: schedules, their queries, execution by PortOne's scheduler, and
// unschedule.

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
)

func TestClientEmulator_Schedule(t *testing.T) {
	t.Run("several entries", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		at := []time.Time{t0.Add(time.Hour), t0.AddDate(0, 1, 0), t0.AddDate(0, 2, 0)}
		req := portone.ScheduleRequest{CustomerUID: custA}
		for i, a := range at {
			en := entry(fmt.Sprintf("ord-sch-%d", i+1), a, portone.KRW(9900+i))
			en.CustomData = fmt.Sprintf("cycle-%d", i+1)
			req.Schedules = append(req.Schedules, en)
		}
		got, err := e.Schedule(req)
		require.NoError(t, err)
		require.Len(t, got, 3)
		for i, s := range got {
			require.Equal(t, custA, s.CustomerUID)
			require.Equal(t, fmt.Sprintf("ord-sch-%d", i+1), s.MerchantUID)
			require.Equal(t, at[i].Unix(), s.ScheduleAt)
			require.Equal(t, portone.KRW(9900+i), s.Amount)
			require.Equal(t, portone.ScheduleScheduled, s.ScheduleStatus)
			require.Empty(t, s.PaymentStatus, "null until executed")
			require.Empty(t, s.ImpUID)
			require.Zero(t, s.ExecutedAt)
			require.Zero(t, s.RevokedAt)
			require.Equal(t, fmt.Sprintf("cycle-%d", i+1), s.CustomData)

			rec := e.scheduleRecord(s.MerchantUID)
			require.Equal(t, "scheduled", rec.Status)
			require.Equal(t, at[i].Unix(), rec.ScheduleAt.Unix())
			require.Equal(t, int64(9900+i), rec.Amount)

			one, err := e.GetSchedule(s.MerchantUID)
			require.NoError(t, err)
			require.Equal(t, s, *one)
		}
		require.Empty(t, e.emu.Ledger()[1:], "scheduling charges nothing")
	})

	t.Run("a merchant_uid already scheduled is refused, nothing stored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-s1", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)

		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-s2", t0.Add(2*time.Hour), 1000), entry("ord-s1", t0.Add(3*time.Hour), 1000),
		}})
		apiErr := requireRefusal(t, err, http.StatusOK, 1, nil)
		require.Contains(t, apiErr.Message, "ord-s1")
		require.Len(t, e.emu.Schedules(), 1, "the batch is all or nothing")
		_, err = e.GetSchedule("ord-s2")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		// A paid merchant_uid cannot be scheduled either.
		e.pay(custA, "ord-paid", 1000)
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-paid", t0.Add(time.Hour), 1000)}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)

		// A duplicate inside one batch never leaves the client.
		before := len(e.seen())
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-s3", t0.Add(time.Hour), 1000), entry("ord-s3", t0.Add(2*time.Hour), 1000),
		}})
		requireValidation(t, err, "schedules[1].merchant_uid")
		require.Len(t, e.seen(), before)
	})

	t.Run("unknown customer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custUnknown, Schedules: []portone.ScheduleEntry{entry("ord-s1", t0.Add(time.Hour), 1000)}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrCustomerNotRegistered)
		require.Empty(t, e.emu.Schedules())
	})

	t.Run("GetSchedule of an unknown merchant_uid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.GetSchedule("ord-never-scheduled")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
	})
}

func TestClientEmulator_ScheduleQueries(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	// custA: ord-a1 at +1h, ord-a2 at +2h (revoked), ord-a3 at +3h; custB: ord-b1 at +2h.
	seed := func(t *testing.T) *env {
		t.Helper()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-a1", h(1), 1000), entry("ord-a2", h(2), 1000), entry("ord-a3", h(3), 1000),
		}})
		require.NoError(t, err)
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custB, Schedules: []portone.ScheduleEntry{entry("ord-b1", h(2), 1000)}})
		require.NoError(t, err)
		_, err = e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-a2"}})
		require.NoError(t, err)
		return e
	}
	uids := func(p *portone.Page[portone.ScheduleResult]) []string {
		out := []string{}
		for _, s := range p.List {
			out = append(out, s.MerchantUID)
		}
		return out
	}

	byCustomer := []struct {
		name string
		uid  string
		q    portone.ScheduleQuery
		want []string // in order
	}{
		{name: "window, newest first", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4)}, want: []string{"ord-a3", "ord-a2", "ord-a1"}},
		{name: "to is exclusive", uid: custA, q: portone.ScheduleQuery{From: h(1), To: h(3)}, want: []string{"ord-a2", "ord-a1"}},
		{name: "from is inclusive", uid: custA, q: portone.ScheduleQuery{From: h(3), To: h(3).Add(time.Second)}, want: []string{"ord-a3"}},
		{name: "one second after from", uid: custA, q: portone.ScheduleQuery{From: h(1).Add(time.Second), To: h(3)}, want: []string{"ord-a2"}},
		{name: "status scheduled", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4), Status: portone.ScheduleScheduled}, want: []string{"ord-a3", "ord-a1"}},
		{name: "status revoked", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4), Status: portone.ScheduleRevoked}, want: []string{"ord-a2"}},
		{name: "status executed", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4), Status: portone.ScheduleExecuted}, want: []string{}},
		{name: "other customer", uid: custB, q: portone.ScheduleQuery{From: t0, To: h(4)}, want: []string{"ord-b1"}},
		{name: "unknown customer", uid: custUnknown, q: portone.ScheduleQuery{From: t0, To: h(4)}, want: []string{}},
	}
	for _, tt := range byCustomer {
		t.Run("SchedulesByCustomer/"+tt.name, func(t *testing.T) {
			t.Parallel()
			e := seed(t)
			got, err := e.SchedulesByCustomer(tt.uid, tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, uids(got))
			require.Equal(t, len(tt.want), got.Total)
		})
	}

	byRange := []struct {
		name      string
		q         portone.ScheduleRangeQuery
		want      []string
		wantTotal int
		wantPrev  int
		wantNext  int
	}{
		{name: "window across customers", q: portone.ScheduleRangeQuery{From: t0, To: h(4)}, want: []string{"ord-a3", "ord-b1", "ord-a2", "ord-a1"}, wantTotal: 4},
		{name: "to is exclusive", q: portone.ScheduleRangeQuery{From: h(2), To: h(3)}, want: []string{"ord-b1", "ord-a2"}, wantTotal: 2},
		{name: "status scheduled", q: portone.ScheduleRangeQuery{From: t0, To: h(4), Status: portone.ScheduleScheduled}, want: []string{"ord-a3", "ord-b1", "ord-a1"}, wantTotal: 3},
		{name: "oldest first, second page of 2", q: portone.ScheduleRangeQuery{From: t0, To: h(4), Sorting: "scheduled", Limit: 2, Page: 2}, want: []string{"ord-b1", "ord-a3"}, wantTotal: 4, wantPrev: 1},
		{name: "first page of 3", q: portone.ScheduleRangeQuery{From: t0, To: h(4), Limit: 3}, want: []string{"ord-a3", "ord-b1", "ord-a2"}, wantTotal: 4, wantNext: 2},
	}
	for _, tt := range byRange {
		t.Run("Schedules/"+tt.name, func(t *testing.T) {
			t.Parallel()
			e := seed(t)
			got, err := e.Schedules(tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, uids(got))
			require.Equal(t, tt.wantTotal, got.Total)
			require.Equal(t, tt.wantPrev, got.Previous)
			require.Equal(t, tt.wantNext, got.Next)
		})
	}

	t.Run("paging over 25 schedules", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		req := portone.ScheduleRequest{CustomerUID: custA}
		for i := 1; i <= 25; i++ {
			req.Schedules = append(req.Schedules, entry(fmt.Sprintf("ord-p%02d", i), t0.Add(time.Duration(i)*time.Hour), 1000))
		}
		_, err := e.Schedule(req)
		require.NoError(t, err)
		q := portone.ScheduleQuery{From: t0, To: t0.AddDate(0, 1, 0)}

		p1, err := e.SchedulesByCustomer(custA, q)
		require.NoError(t, err)
		require.Equal(t, 25, p1.Total)
		require.Len(t, p1.List, 20)
		require.Equal(t, "ord-p25", p1.List[0].MerchantUID)
		require.Equal(t, 0, p1.Previous)
		require.Equal(t, 2, p1.Next)

		q.Page = 2
		p2, err := e.SchedulesByCustomer(custA, q)
		require.NoError(t, err)
		require.Equal(t, []string{"ord-p05", "ord-p04", "ord-p03", "ord-p02", "ord-p01"}, uids(p2))
		require.Equal(t, 1, p2.Previous)
		require.Equal(t, 0, p2.Next)

		r3, err := e.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 1, 0), Limit: 10, Page: 3})
		require.NoError(t, err)
		require.Equal(t, 25, r3.Total)
		require.Len(t, r3.List, 5)
		require.Equal(t, 2, r3.Previous)
		require.Equal(t, 0, r3.Next)
	})

	t.Run("a window over 3 months is refused by PortOne", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.SchedulesByCustomer(custA, portone.ScheduleQuery{From: t0, To: t0.AddDate(0, 3, 1)})
		apiErr := requireRefusal(t, err, http.StatusBadRequest, 1, nil)
		require.False(t, apiErr.Temporary())
		_, err = e.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 3, 1)})
		requireRefusal(t, err, http.StatusBadRequest, 1, nil)
		_, err = e.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 3, 0)})
		require.NoError(t, err, "exactly 3 months is allowed")
	})
}

func TestClientEmulator_ScheduleExecution(t *testing.T) {
	t.Run("advancing past schedule_at executes the charge", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		at := t0.Add(time.Hour)
		en := entry("ord-run-1", at, 9900)
		en.CustomData = "cycle-1"
		en.NoticeURL = e.hookURL + "/hooks/schedule"
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{en, entry("ord-run-2", at.AddDate(0, 1, 0), 9900)}})
		require.NoError(t, err)

		e.clk.Advance(59 * time.Minute)
		s, err := e.GetSchedule("ord-run-1")
		require.NoError(t, err)
		require.Equal(t, portone.ScheduleScheduled, s.ScheduleStatus, "not due yet")
		_, err = e.FindPayment("ord-run-1", "")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		e.clk.Advance(time.Minute) // exactly schedule_at: due
		s, err = e.GetSchedule("ord-run-1")
		require.NoError(t, err)
		require.Equal(t, portone.ScheduleExecuted, s.ScheduleStatus)
		require.Equal(t, portone.StatusPaid, s.PaymentStatus)
		require.Equal(t, at.Unix(), s.ExecutedAt)
		require.Regexp(t, impUIDPattern, s.ImpUID)

		p, err := e.FindPayment("ord-run-1", "")
		require.NoError(t, err)
		require.Equal(t, s.ImpUID, p.ImpUID)
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, "payment.scheduled", p.CustomerUIDUsage)
		require.Equal(t, portone.KRW(9900), p.Amount)
		require.Equal(t, at.Unix(), p.PaidAt)
		require.Equal(t, "cycle-1", p.CustomData)
		require.Equal(t, "01012345678", p.BuyerTel, "buyer fields come from the customer")
		paid, err := e.FindPayment("ord-run-1", portone.StatusPaid)
		require.NoError(t, err)
		require.Equal(t, p, paid)

		require.Equal(t, 1, e.emu.PaidCount("ord-run-1"))
		require.Equal(t, "executed", e.scheduleRecord("ord-run-1").Status)
		require.Equal(t, "scheduled", e.scheduleRecord("ord-run-2").Status, "the next month's is still pending")

		d := e.waitWebhooks(1)
		require.Equal(t, "ord-run-1", d[0].MerchantUID)
		require.Equal(t, en.NoticeURL, d[0].URL, "the schedule's own notice_url")
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.Equal(t, "paid", d[0].Status)
		require.True(t, d[0].OK(), d[0].Err)
		require.Len(t, e.webhookBodies(), 1)

		// The client's token expired on the way (1 h > 30 min); it refreshed on its own.
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Zero(t, e.statuses(http.StatusUnauthorized))

		// Nothing runs twice.
		e.clk.Advance(time.Minute)
		require.Equal(t, 1, e.emu.PaidCount("ord-run-1"))
		require.Len(t, e.ledgerFor("ord-run-1"), 1)
	})
}

func TestClientEmulator_Unschedule(t *testing.T) {
	t.Run("by merchant_uids, by customer, then nothing left", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-u1", t0.Add(time.Hour), 1000), entry("ord-u2", t0.Add(2*time.Hour), 1000),
			entry("ord-u3", t0.Add(3*time.Hour), 1000), entry("ord-u4", t0.Add(4*time.Hour), 1000),
		}})
		require.NoError(t, err)
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custB, Schedules: []portone.ScheduleEntry{entry("ord-b1", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)
		e.clk.Advance(10 * time.Minute)

		got, err := e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA, MerchantUIDs: []string{"ord-u1", "ord-u2"}})
		require.NoError(t, err)
		require.Len(t, got, 2)
		for _, s := range got {
			require.Equal(t, portone.ScheduleRevoked, s.ScheduleStatus)
			require.Equal(t, t0.Add(10*time.Minute).Unix(), s.RevokedAt)
			require.Equal(t, "revoked", e.scheduleRecord(s.MerchantUID).Status)
		}
		require.Equal(t, "scheduled", e.scheduleRecord("ord-u3").Status)

		got, err = e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA})
		require.NoError(t, err)
		var revoked []string
		for _, s := range got {
			revoked = append(revoked, s.MerchantUID)
		}
		require.ElementsMatch(t, []string{"ord-u3", "ord-u4"}, revoked, "only what was still pending")
		require.Equal(t, "scheduled", e.scheduleRecord("ord-b1").Status, "another customer's schedules stay")

		_, err = e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)
		_, err = e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-u1"}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)

		// Revoked schedules never run.
		e.clk.Advance(5 * time.Hour)
		for _, m := range []string{"ord-u1", "ord-u2", "ord-u3", "ord-u4"} {
			require.Empty(t, e.ledgerFor(m))
		}
		require.Equal(t, 1, e.emu.PaidCount("ord-b1"))
	})

	t.Run("an executed schedule cannot be revoked", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-done", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)
		e.clk.Advance(time.Hour)
		_, err = e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-done"}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)
		require.Equal(t, "executed", e.scheduleRecord("ord-done").Status)
	})
}
