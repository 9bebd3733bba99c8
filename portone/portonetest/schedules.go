package portonetest

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

const (
	msgNoCustomerForSchedule = "등록된 고객정보가 없습니다."
	msgNothingToUnschedule   = "취소할 예약결제 기록이 존재하지 않습니다."
	// Guess: the texts below are undocumented.
	msgScheduleNotFound     = "해당 merchant_uid로 등록된 결제예약 정보가 존재하지 않습니다."
	msgScheduleDuplicateFmt = "이미 결제예약에 사용된 merchant_uid입니다. (%s)"
	msgScheduleBatchDupFmt  = "schedules 안에 중복된 merchant_uid가 있습니다. (%s)"
)

// handleSchedule serves POST /subscribe/payments/schedule.
//
// Guess: PortOne does not document whether one bad entry rejects the whole batch. The
// emulator rejects the whole batch (nothing is stored) with the first entry's error, so a
// client never has to reconcile a half-accepted batch.
//
// Guess: schedule_at in the past is accepted; the entry runs on the next scheduler pass.
func (e *Emulator) handleSchedule(c *call) result {
	customerUID, _, err := c.p.str("customer_uid")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	if customerUID == "" {
		return refuse(http.StatusOK, 1, missingField(c.p, "customer_uid"))
	}
	entries, given, err := c.p.listObjects("schedules")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	if !given || len(entries) == 0 {
		return refuse(http.StatusOK, 1, missingField(c.p, "schedules"))
	}
	type parsed struct {
		f          chargeFields
		scheduleAt int64
	}
	var items []parsed
	for _, ep := range entries {
		f, msg := readChargeFields(ep)
		if msg != "" {
			return refuse(http.StatusOK, 1, msg)
		}
		at, hasAt, err := ep.int("schedule_at")
		if err != nil {
			return refuse(http.StatusOK, 1, err.Error())
		}
		switch {
		case f.merchantUID == "":
			return refuse(http.StatusOK, 1, missingField(ep, "merchant_uid"))
		case !hasAt || at <= 0:
			return refuse(http.StatusOK, 1, missingField(ep, "schedule_at"))
		case !f.hasAmount:
			return refuse(http.StatusOK, 1, missingField(ep, "amount"))
		case f.name == "":
			return refuse(http.StatusOK, 1, missingField(ep, "name"))
		}
		if msg := checkLengths(ep, f); msg != "" {
			return refuse(http.StatusOK, 1, msg)
		}
		items = append(items, parsed{f: f, scheduleAt: at})
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	cust := c.m.customers[customerUID]
	if cust == nil {
		// Card data in the request could issue a key first, but never for NaverPay.
		return refuse(http.StatusOK, 1, msgNoCustomerForSchedule)
	}
	seen := map[string]bool{}
	for i, it := range items {
		ep := entries[i]
		muid := it.f.merchantUID
		if seen[muid] {
			return refuse(http.StatusOK, 1, fmt.Sprintf(msgScheduleBatchDupFmt, muid))
		}
		seen[muid] = true
		if c.m.scheduleByMUID[muid] != nil {
			return refuse(http.StatusOK, 1, fmt.Sprintf(msgScheduleDuplicateFmt, muid))
		}
		if c.m.paidPaymentLocked(muid) != nil {
			return refuse(http.StatusOK, 1, msgMerchantUIDUsed)
		}
		// Guess: a refused schedule is PortOne's own decision, so always code 1 (again uses
		// code -1 for NaverPay's rules because the PG refuses there).
		if _, msg := checkAmounts(ep, it.f, cust.pgProvider); msg != "" {
			return refuse(http.StatusOK, 1, msg)
		}
		if cust.pgProvider == PGNaverPay && it.f.naverUseCfm != "" && !checkNaverUseCfm(it.f.naverUseCfm, time.Unix(it.scheduleAt, 0)) {
			return refuse(http.StatusOK, 1, msgNaverUseCfm)
		}
	}

	now := e.clock.Now()
	out := make([]wireSchedule, 0, len(items))
	for _, it := range items {
		s := &schedule{
			seq: e.nextSeq(), m: c.m, customerUID: cust.uid, merchantUID: it.f.merchantUID,
			pgProvider: cust.pgProvider, pgID: cust.pgID, customerID: cust.customerID,
			scheduleAt: it.scheduleAt, amount: it.f.amount, taxFree: it.f.taxFree,
			currency: "KRW", name: it.f.name, buyer: it.f.buyer, customData: it.f.customData,
			noticeURL: it.f.noticeURL, naverUseCfm: it.f.naverUseCfm, status: scheduleScheduled, createdAt: now,
		}
		c.m.schedules = append(c.m.schedules, s)
		c.m.scheduleByMUID[s.merchantUID] = s
		out = append(out, s.wire())
		e.log.Info("scheduled", slog.String("merchant", maskKey(c.m.key)), slog.String("customer_uid", s.customerUID),
			slog.String("merchant_uid", s.merchantUID), slog.Int64("schedule_at", s.scheduleAt), slog.Int64("amount", s.amount))
	}
	res := ok(out)
	res.after = e.fireLocked(c.op, subject{merchant: c.m.key, customerUID: cust.uid, merchantUID: items[0].f.merchantUID},
		FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}

// handleUnschedule serves POST /subscribe/payments/unschedule: with merchant_uid (a list),
// revoke those schedules (of customer_uid, when given too); with only customer_uid, revoke
// all of that customer's pending schedules. Only schedules still "scheduled" are revoked.
func (e *Emulator) handleUnschedule(c *call) result {
	customerUID, _, err := c.p.str("customer_uid")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	muids, err := c.p.strList("merchant_uid")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	if customerUID == "" && len(muids) == 0 {
		return refuse(http.StatusOK, 1, "customer_uid 또는 merchant_uid 파라메터가 누락되었습니다.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var targets []*schedule
	if len(muids) > 0 {
		for _, muid := range muids {
			if s := c.m.scheduleByMUID[muid]; s != nil && (customerUID == "" || s.customerUID == customerUID) {
				targets = append(targets, s)
			}
		}
	} else {
		for _, s := range c.m.schedules {
			if s.customerUID == customerUID {
				targets = append(targets, s)
			}
		}
	}
	out := []wireSchedule{}
	for _, s := range targets {
		if s.status != scheduleScheduled {
			continue
		}
		s.status = scheduleRevoked
		s.revokedAt = now.Unix()
		out = append(out, s.wire())
	}
	if len(out) == 0 {
		return refuse(http.StatusOK, 1, msgNothingToUnschedule)
	}
	res := ok(out)
	res.after = e.fireLocked(c.op, c.subject2(customerUID, muids), FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}

func (c *call) subject2(customerUID string, muids []string) subject {
	s := subject{merchant: c.m.key, customerUID: customerUID}
	if len(muids) > 0 {
		s.merchantUID = muids[0]
	}
	return s
}

// handleGetSchedule serves GET /subscribe/payments/schedule/{merchant_uid}.
func (e *Emulator) handleGetSchedule(c *call) result {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := c.m.scheduleByMUID[c.vars["merchant_uid"]]
	if s == nil {
		return refuse(http.StatusNotFound, 1, msgScheduleNotFound)
	}
	return ok(s.wire())
}

var scheduleStatuses = []string{scheduleScheduled, scheduleExecuted, scheduleRevoked}

// window reads a half-open [from, to) window of unix seconds, at most 3 calendar months long
// (counted in KST. Guess: PortOne says "3 months" without defining it).
func window(q params, fromKey, toKey string) (from, to int64, res result, bad bool) {
	from, hasFrom, err1 := q.int(fromKey)
	to, hasTo, err2 := q.int(toKey)
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, refuse(http.StatusBadRequest, 1, fmt.Sprintf("%s, %s 파라메터는 unix timestamp(초)여야 합니다.", fromKey, toKey)), true
	case !hasFrom || !hasTo:
		return 0, 0, refuse(http.StatusBadRequest, 1, fmt.Sprintf("%s, %s 파라메터는 필수입니다.", fromKey, toKey)), true
	case to <= from:
		return 0, 0, refuse(http.StatusBadRequest, 1, fmt.Sprintf("%s는 %s보다 커야 합니다.", toKey, fromKey)), true
	case to > time.Unix(from, 0).In(kst).AddDate(0, 3, 0).Unix():
		return 0, 0, refuse(http.StatusBadRequest, 1, "최대 3개월 단위로 조회가 가능합니다."), true
	}
	return from, to, result{}, false
}

// statusParam reads a schedule status filter from key (empty: all statuses).
func statusParam(q params, key string) (string, result, bool) {
	v, _, err := q.str(key)
	if err != nil || (v != "" && !slices.Contains(scheduleStatuses, v)) {
		return "", refuse(http.StatusBadRequest, 1, fmt.Sprintf("%s 파라메터는 %v 중 하나여야 합니다.", key, scheduleStatuses)), true
	}
	return v, result{}, false
}

// sortSchedules orders by schedule_at (newest first unless oldestFirst), ties by creation.
func sortSchedules(ss []*schedule, oldestFirst bool) {
	slices.SortStableFunc(ss, func(a, b *schedule) int {
		r := cmp.Or(cmp.Compare(a.scheduleAt, b.scheduleAt), cmp.Compare(a.seq, b.seq))
		if oldestFirst {
			return r
		}
		return -r
	})
}

func wireSchedules(ss []*schedule) []wireSchedule {
	out := make([]wireSchedule, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.wire())
	}
	return out
}

// handleSchedulesByCustomer serves GET /subscribe/payments/schedule/customers/{customer_uid}
// and its twin GET /subscribe/customers/{customer_uid}/schedules: from and to (required),
// page, and "schedule-status" with a hyphen, exactly as PortOne spells it (an underscore is
// ignored like any unknown parameter). Newest schedule_at first, 20 per page, an empty page
// for an unknown customer.
//
// The answer is the paged object {total, previous, next, list}, although PortOne's OpenAPI
// says "array": PortOne's official clients decode the paged object.
func (e *Emulator) handleSchedulesByCustomer(c *call) result {
	from, to, res, bad := window(c.q, "from", "to")
	if bad {
		return res
	}
	status, res, bad := statusParam(c.q, "schedule-status")
	if bad {
		return res
	}
	pageNo, res, bad := pageParam(c.q, "page")
	if bad {
		return res
	}
	uid := c.vars["customer_uid"]
	e.mu.Lock()
	defer e.mu.Unlock()
	var ss []*schedule
	for _, s := range c.m.schedules {
		if s.customerUID == uid && s.scheduleAt >= from && s.scheduleAt < to && (status == "" || s.status == status) {
			ss = append(ss, s)
		}
	}
	sortSchedules(ss, false)
	return ok(paginate(wireSchedules(ss), pageNo, 20))
}

// handleSchedulesByRange serves GET /subscribe/payments/schedule: schedule_from and
// schedule_to (required), schedule_status with an underscore, page, limit (default 20, at
// most 1000) and sorting ("scheduled" for oldest first; default newest first). The answer is
// the paged object, as for handleSchedulesByCustomer.
func (e *Emulator) handleSchedulesByRange(c *call) result {
	from, to, res, bad := window(c.q, "schedule_from", "schedule_to")
	if bad {
		return res
	}
	status, res, bad := statusParam(c.q, "schedule_status")
	if bad {
		return res
	}
	pageNo, res, bad := pageParam(c.q, "page")
	if bad {
		return res
	}
	limit, res, bad := limitParam(c.q, "limit")
	if bad {
		return res
	}
	sorting, _, err := c.q.str("sorting")
	if err != nil || (sorting != "" && sorting != "scheduled" && sorting != "-scheduled") {
		return refuse(http.StatusBadRequest, 1, "sorting 파라메터는 scheduled 또는 -scheduled 여야 합니다.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var ss []*schedule
	for _, s := range c.m.schedules {
		if s.scheduleAt >= from && s.scheduleAt < to && (status == "" || s.status == status) {
			ss = append(ss, s)
		}
	}
	sortSchedules(ss, sorting == "scheduled")
	return ok(paginate(wireSchedules(ss), pageNo, limit))
}

// RunDue executes every schedule whose schedule_at (V1) or timeToPay (V2) has come (on the
// emulator's clock), completes due asynchronous V2 cancels and starts due webhook retries. It returns how many schedules it executed. Each schedule runs
// exactly once: its status flips to executed under the emulator's lock. The background
// scheduler and ManualClock call it; tests with another Clock call it directly.
func (e *Emulator) RunDue() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var due []*schedule
	for _, key := range e.merchantOrder {
		for _, s := range e.merchants[key].schedules {
			if s.status == scheduleScheduled && s.scheduleAt <= now.Unix() {
				due = append(due, s)
			}
		}
	}
	sortSchedules(due, true)
	for _, s := range due {
		e.executeLocked(s, now)
	}
	var recovering []*schedule
	for _, key := range e.merchantOrder {
		for _, s := range e.merchants[key].schedules {
			if s.recovery != nil && s.recovery.next <= now.Unix() {
				recovering = append(recovering, s)
			}
		}
	}
	sortSchedules(recovering, true)
	for _, s := range recovering {
		e.recoverLocked(s, now)
	}
	v2 := e.runDueV2SchedulesLocked(now)
	e.runDueV2CancelsLocked(now)
	e.runDueRetriesLocked(now)
	return len(due) + len(recovering) + v2
}

// startRecoveryLocked arms 리커버리 for a schedule whose execution just failed, when a
// FaultRecovery covers it.
func (e *Emulator) startRecoveryLocked(s *schedule, now time.Time) {
	f := e.fireLocked(OpScheduleExecution, subject{merchant: s.m.key, customerUID: s.customerUID, merchantUID: s.merchantUID}, FaultRecovery)
	if f == nil {
		return
	}
	every, left := cmp.Or(f.Every, DefaultRecoveryEvery), cmp.Or(f.Retries, DefaultRecoveryRetries)
	s.recovery = &recovery{every: every, left: left, next: now.Add(every).Unix()}
}

// recoverLocked is one 리커버리 re-execution of a failed schedule: PortOne charges the same
// merchant_uid again as a scheduled payment (a new imp_uid), shows it on the schedule and
// notifies as for any scheduled execution. It stops once paid or out of retries, and does
// nothing if the merchant_uid was paid meanwhile (PortOne refuses a paid merchant_uid).
//
// Guess: PortOne does not say whether unschedule stops 리커버리; the schedule is "executed"
// by then and unschedule revokes only pending schedules, so here it does not.
func (e *Emulator) recoverLocked(s *schedule, now time.Time) {
	rc := s.recovery
	m := s.m
	if m.paidPaymentLocked(s.merchantUID) != nil {
		s.recovery = nil
		return
	}
	rc.left--
	s.recoveries++
	cust := m.customers[s.customerUID]
	var p *payment
	if cust == nil {
		cust = &customer{uid: s.customerUID, pgProvider: s.pgProvider, pgID: s.pgID, customerID: s.customerID}
		p = e.newPaymentLocked(m, now, cust, s.merchantUID, s.name, s.amount, s.taxFree, s.buyer, s.customData, s.noticeURL, usageScheduled)
		e.failLocked(p, now, deletedKeyReason)
	} else {
		p, _ = e.chargeLocked(chargeRequest{
			m: m, cust: cust, merchantUID: s.merchantUID, name: s.name, amount: s.amount, taxFree: s.taxFree,
			buyer: s.buyer, customData: s.customData, noticeURL: s.noticeURL, naverUseCfm: s.naverUseCfm,
			usage: usageScheduled, op: OpScheduleExecution,
		}, now)
	}
	s.payment = p
	if p.status == statusPaid || rc.left <= 0 {
		s.recovery = nil
	} else {
		rc.next = now.Add(rc.every).Unix()
	}
	e.log.Info("schedule recovered (리커버리)", slog.String("merchant", maskKey(m.key)), slog.String("merchant_uid", s.merchantUID),
		slog.String("imp_uid", p.impUID), slog.String("payment_status", p.status), slog.Int("retries_left", rc.left))
	e.enqueueWebhookLocked(m, e.noticeURL(s.noticeURL), p, p.status, "", OpScheduleExecution)
}

// executeLocked runs one due schedule the way PortOne runs it: as an again with
// customer_uid_usage "payment.scheduled", then a webhook whatever the outcome.
func (e *Emulator) executeLocked(s *schedule, now time.Time) {
	m := s.m
	cust := m.customers[s.customerUID]
	deleted := cust == nil
	if deleted {
		// The key was deleted after scheduling; charge nothing, but leave a failed record
		// (with the PG recorded at scheduling time) so the attempt is visible.
		cust = &customer{uid: s.customerUID, pgProvider: s.pgProvider, pgID: s.pgID, customerID: s.customerID}
	}
	req := chargeRequest{
		m: m, cust: cust, merchantUID: s.merchantUID, name: s.name, amount: s.amount, taxFree: s.taxFree,
		buyer: s.buyer, customData: s.customData, noticeURL: s.noticeURL, naverUseCfm: s.naverUseCfm,
		usage: usageScheduled, op: OpScheduleExecution,
	}
	var p *payment
	switch {
	case deleted:
		p = e.newPaymentLocked(m, now, cust, s.merchantUID, s.name, s.amount, s.taxFree, s.buyer, s.customData, s.noticeURL, usageScheduled)
		e.failLocked(p, now, deletedKeyReason)
	case m.paidPaymentLocked(s.merchantUID) != nil:
		p = e.newPaymentLocked(m, now, cust, s.merchantUID, s.name, s.amount, s.taxFree, s.buyer.orFrom(cust), s.customData, s.noticeURL, usageScheduled)
		e.failLocked(p, now, msgMerchantUIDUsed)
	case cust.pgProvider == PGNaverPay && s.naverUseCfm != "" && !checkNaverUseCfm(s.naverUseCfm, now):
		p = e.newPaymentLocked(m, now, cust, s.merchantUID, s.name, s.amount, s.taxFree, s.buyer.orFrom(cust), s.customData, s.noticeURL, usageScheduled)
		e.failLocked(p, now, msgNaverUseCfm)
	default:
		p, _ = e.chargeLocked(req, now)
	}
	s.status = scheduleExecuted
	s.executedAt = now.Unix()
	s.payment = p
	if p.status != statusPaid {
		e.startRecoveryLocked(s, now)
	}
	e.log.Info("schedule executed", slog.String("merchant", maskKey(m.key)), slog.String("merchant_uid", s.merchantUID),
		slog.String("imp_uid", p.impUID), slog.String("payment_status", p.status), slog.String("fail_reason", p.failReason))
	// A scheduled attempt always notifies, paid or failed.
	e.enqueueWebhookLocked(m, e.noticeURL(s.noticeURL), p, p.status, "", OpScheduleExecution)
}

// ScheduleRecord is a schedule as the emulator holds it, for tests and the control API.
type ScheduleRecord struct {
	// Merchant is the merchant key.
	Merchant string `json:"merchant"`
	// CustomerUID and MerchantUID identify the schedule.
	CustomerUID string `json:"customer_uid"`
	MerchantUID string `json:"merchant_uid"`
	// ScheduleAt is when it is due.
	ScheduleAt time.Time `json:"schedule_at"`
	// Amount is the amount to charge in KRW.
	Amount int64 `json:"amount"`
	// Status is scheduled, executed or revoked.
	Status string `json:"status"`
	// ImpUID, PaymentStatus and FailReason describe the execution's payment.
	ImpUID        string `json:"imp_uid,omitempty"`
	PaymentStatus string `json:"payment_status,omitempty"`
	FailReason    string `json:"fail_reason,omitempty"`
	// NoticeURL is the schedule's own webhook URL.
	NoticeURL string `json:"notice_url,omitempty"`
	// ExecutedAt and RevokedAt are zero until that happens.
	ExecutedAt time.Time `json:"executed_at"`
	RevokedAt  time.Time `json:"revoked_at"`
	// Recoveries counts the re-executions 리커버리 (FaultRecovery) made; NextRecoveryAt is
	// when the next one is due, zero when none is.
	Recoveries     int       `json:"recoveries,omitempty"`
	NextRecoveryAt time.Time `json:"next_recovery_at,omitzero"`
}

// Schedules returns every schedule of every merchant in creation order.
func (e *Emulator) Schedules() []ScheduleRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []*schedule
	for _, key := range e.merchantOrder {
		all = append(all, e.merchants[key].schedules...)
	}
	slices.SortFunc(all, func(a, b *schedule) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]ScheduleRecord, 0, len(all))
	for _, s := range all {
		r := ScheduleRecord{
			Merchant: s.m.key, CustomerUID: s.customerUID, MerchantUID: s.merchantUID,
			ScheduleAt: time.Unix(s.scheduleAt, 0), Amount: s.amount, Status: s.status, NoticeURL: s.noticeURL,
		}
		if s.payment != nil {
			r.ImpUID, r.PaymentStatus, r.FailReason = s.payment.impUID, s.payment.status, s.payment.failReason
		}
		if s.executedAt != 0 {
			r.ExecutedAt = time.Unix(s.executedAt, 0)
		}
		if s.revokedAt != 0 {
			r.RevokedAt = time.Unix(s.revokedAt, 0)
		}
		r.Recoveries = s.recoveries
		if s.recovery != nil {
			r.NextRecoveryAt = time.Unix(s.recovery.next, 0)
		}
		out = append(out, r)
	}
	return out
}
