package portonetest

// V2 schedules: POST /payments/{paymentId}/schedule, GET /payment-schedules/{id},
// GET /payment-schedules and DELETE /payment-schedules (both with the ?requestBody= query
// form), executed at timeToPay on the emulator's clock by RunDue, like V1's.

import (
	"cmp"
	"net/http"
	"slices"
	"time"
)

// v2CreateSchedule serves POST /payments/{paymentId}/schedule {payment, timeToPay}.
func (e *Emulator) v2CreateSchedule(c *v2Call) v2Result {
	paymentID := c.r.PathValue("paymentId")
	ttp, given, err := c.body.str("timeToPay")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	if !given {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "timeToPay: required")
	}
	at, err := time.Parse(time.RFC3339, ttp)
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "timeToPay: not an RFC 3339 date-time: %q", ttp)
	}
	pay, ok, err := c.body.obj("payment")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	if !ok {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "payment: required")
	}
	// The 이용완료일 is checked against the day the schedule runs, as V1's naverUseCfm is.
	in, msg := readV2ChargeInput(pay, at)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	k := c.m.v2.keys[in.billingKey]
	switch {
	case k == nil:
		return v2Fail(http.StatusNotFound, v2KeyNotFound, "빌링키가 존재하지 않습니다.")
	case !k.deletedAt.IsZero():
		return v2Fail(http.StatusConflict, v2KeyAlreadyDeleted, "이미 삭제된 빌링키입니다.")
	}
	if cur := v2Current(c.m.v2.attempts[paymentID]); cur != nil && cur.wasPaid() {
		return v2Fail(http.StatusConflict, v2AlreadyPaidOrWaiting, "이미 결제되었거나 결제 대기 중인 paymentId입니다.")
	}
	if slices.ContainsFunc(c.m.v2.schedules, func(s *v2Schedule) bool { return s.paymentID == paymentID && s.status == v2SchedScheduled }) {
		return v2Fail(http.StatusConflict, v2ScheduleExists, "paymentId에 이미 예약된 결제가 있습니다.")
	}
	if in.customer == (V2Customer{}) {
		in.customer = k.customer
	}
	s := &v2Schedule{
		seq: e.nextSeq(), m: c.m, id: newUUID(), paymentID: paymentID, billingKey: k.billingKey, orderName: in.orderName,
		amount: in.total, taxFree: in.taxFree, vat: in.vat, currency: in.currency, customer: in.customer,
		customData: in.customData, noticeURLs: in.noticeURLs, naverUseCfm: in.naverUseCfm, timeToPay: at,
		createdAt: now, status: v2SchedScheduled,
	}
	c.m.v2.schedules = append(c.m.v2.schedules, s)
	c.m.v2.scheduleID[s.id] = s
	res := v2OK(map[string]any{"schedule": map[string]string{"id": s.id}})
	res.after = e.fireLocked(c.op, subject{merchant: c.m.key, customerUID: k.billingKey, merchantUID: paymentID}, FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}

// runDueV2SchedulesLocked executes every due SCHEDULED schedule, oldest timeToPay first.
func (e *Emulator) runDueV2SchedulesLocked(now time.Time) int {
	var due []*v2Schedule
	for _, key := range e.merchantOrder {
		for _, s := range e.merchants[key].v2.schedules {
			if s.status == v2SchedScheduled && !s.timeToPay.After(now) {
				due = append(due, s)
			}
		}
	}
	slices.SortFunc(due, func(a, b *v2Schedule) int { return cmp.Or(a.timeToPay.Compare(b.timeToPay), cmp.Compare(a.seq, b.seq)) })
	for _, s := range due {
		e.executeV2Locked(s, now)
	}
	return len(due)
}

// executeV2Locked runs one schedule: an attempt under its paymentId with its scheduleId, then
// Transaction.Paid or Transaction.Failed. A deleted key, a paid paymentId or the attempt cap
// make the execution fail without an attempt. Guess: PortOne does not document these cases.
func (e *Emulator) executeV2Locked(s *v2Schedule, now time.Time) {
	m := s.m
	s.startedAt, s.completedAt = now, now
	k := m.v2.keys[s.billingKey]
	attempts := m.v2.attempts[s.paymentID]
	if k == nil || !k.deletedAt.IsZero() || len(attempts) >= e.v2MaxAttempts() {
		s.status = v2SchedFailed
		return
	}
	if cur := v2Current(attempts); cur != nil && cur.wasPaid() {
		s.status = v2SchedFailed
		return
	}
	in := v2ChargeInput{billingKey: s.billingKey, orderName: s.orderName, total: s.amount, taxFree: s.taxFree, vat: s.vat,
		hasVat: true, currency: s.currency, customer: s.customer, customData: s.customData, noticeURLs: s.noticeURLs, naverUseCfm: s.naverUseCfm}
	p := e.v2ChargeLocked(m, k, s.paymentID, in, s.id, usageScheduled, OpV2ScheduleExecution, "0.0.0.0", now)
	s.payment = p
	typ := "Transaction.Paid"
	s.status = v2SchedSucceeded
	if p.status == statusFailed {
		typ, s.status = "Transaction.Failed", v2SchedFailed
	}
	e.enqueueV2WebhookLocked(m, s.noticeURLs, v2PaymentEvent(typ, p), p.v2Subject(), OpV2ScheduleExecution)
}

// v2WireSchedule is every PaymentSchedule case (omitempty leaves out what a case lacks).
type v2WireSchedule struct {
	Status        string         `json:"status"`
	ID            string         `json:"id"`
	MerchantID    string         `json:"merchantId"`
	StoreID       string         `json:"storeId"`
	PaymentID     string         `json:"paymentId"`
	BillingKey    string         `json:"billingKey"`
	OrderName     string         `json:"orderName"`
	IsCultural    bool           `json:"isCulturalExpense"`
	IsEscrow      bool           `json:"isEscrow"`
	Customer      v2WireCustomer `json:"customer"`
	CustomData    string         `json:"customData"`
	TotalAmount   int64          `json:"totalAmount"`
	TaxFreeAmount int64          `json:"taxFreeAmount"`
	VatAmount     int64          `json:"vatAmount"`
	Currency      string         `json:"currency"`
	NoticeURLs    []string       `json:"noticeUrls,omitempty"`
	CreatedAt     string         `json:"createdAt"`
	TimeToPay     string         `json:"timeToPay"`
	StartedAt     string         `json:"startedAt,omitempty"`
	CompletedAt   string         `json:"completedAt,omitempty"`
	RevokedAt     string         `json:"revokedAt,omitempty"`
}

func (s *v2Schedule) wire() v2WireSchedule {
	w := v2WireSchedule{
		Status: s.status, ID: s.id, MerchantID: s.m.merchantID, StoreID: s.m.storeID, PaymentID: s.paymentID,
		BillingKey: s.billingKey, OrderName: s.orderName, Customer: s.customer.wire(), CustomData: s.customData,
		TotalAmount: s.amount, TaxFreeAmount: s.taxFree, VatAmount: s.vat, Currency: s.currency, NoticeURLs: s.noticeURLs,
		CreatedAt: v2Time(s.createdAt), TimeToPay: v2Time(s.timeToPay),
	}
	if !s.startedAt.IsZero() {
		w.StartedAt, w.CompletedAt = v2Time(s.startedAt), v2Time(s.completedAt)
	}
	if !s.revokedAt.IsZero() {
		w.RevokedAt = v2Time(s.revokedAt)
	}
	return w
}

// v2GetSchedule serves GET /payment-schedules/{paymentScheduleId}.
func (e *Emulator) v2GetSchedule(c *v2Call) v2Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := c.m.v2.scheduleID[c.r.PathValue("paymentScheduleId")]
	if s == nil {
		return v2Fail(http.StatusNotFound, v2ScheduleNotFound, "결제 예약 건이 존재하지 않습니다.")
	}
	return v2OK(s.wire())
}

// v2GetSchedules serves GET /payment-schedules?requestBody={page, sort, filter}: filter
// billingKey, from/until on timeToPay (defaults: until now, from 90 days before until, as the
// document says, so future schedules need an explicit window; both ends inclusive), status[];
// sort by CREATED_AT, TIME_TO_PAY (default), COMPLETED_AT or STATUS_TIMESTAMP, DESC by default.
func (e *Emulator) v2GetSchedules(c *v2Call) v2Result {
	number, size, msg := readV2Page(c.body)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}
	filter, _, err := c.body.obj("filter")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	sort, _, err := c.body.obj("sort")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	from, until, msg := readV2Window(filter)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}
	key, _, _ := filter.str("billingKey")
	statuses, err := filter.strList("status")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	by, _, _ := sort.str("by")
	order, _, _ := sort.str("order")
	if !slices.Contains([]string{"", "CREATED_AT", "TIME_TO_PAY", "COMPLETED_AT", "STATUS_TIMESTAMP"}, by) {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s: unknown sort key %q", sort.name("by"), by)
	}
	if order != "" && order != "ASC" && order != "DESC" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s: must be ASC or DESC", sort.name("order"))
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if until.IsZero() {
		until = e.clock.Now()
	}
	if from.IsZero() {
		from = until.AddDate(0, 0, -90)
	}
	var ss []*v2Schedule
	for _, s := range c.m.v2.schedules {
		if (key == "" || s.billingKey == key) && !s.timeToPay.Before(from) && !s.timeToPay.After(until) &&
			(len(statuses) == 0 || slices.Contains(statuses, s.status)) {
			ss = append(ss, s)
		}
	}
	sortKey := func(s *v2Schedule) time.Time {
		switch by {
		case "CREATED_AT":
			return s.createdAt
		case "COMPLETED_AT":
			return s.completedAt
		case "STATUS_TIMESTAMP":
			return later(later(s.createdAt, s.completedAt), s.revokedAt)
		}
		return s.timeToPay
	}
	slices.SortStableFunc(ss, func(a, b *v2Schedule) int {
		r := cmp.Or(sortKey(a).Compare(sortKey(b)), cmp.Compare(a.seq, b.seq))
		if order == "ASC" {
			return r
		}
		return -r
	})
	items := []v2WireSchedule{}
	for i := number * size; i < len(ss) && i < (number+1)*size; i++ {
		items = append(items, ss[i].wire())
	}
	return v2OK(map[string]any{"items": items, "page": v2PageInfo{Number: number, Size: size, TotalCount: len(ss)}})
}

// v2RevokeSchedules serves DELETE /payment-schedules?requestBody={billingKey?, scheduleIds?}:
// all or nothing. By billingKey it revokes the key's SCHEDULED schedules; listed scheduleIds
// must each exist (404), not be revoked (409) and not have run (409).
func (e *Emulator) v2RevokeSchedules(c *v2Call) v2Result {
	key, _, err := c.body.str("billingKey")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	ids, err := c.body.strList("scheduleIds")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	if key == "" && len(ids) == 0 {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "billingKey or scheduleIds: one is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var revoke []*v2Schedule
	if key != "" {
		k := c.m.v2.keys[key]
		switch {
		case k == nil:
			return v2Fail(http.StatusNotFound, v2KeyNotFound, "빌링키가 존재하지 않습니다.")
		case !k.deletedAt.IsZero():
			return v2Fail(http.StatusConflict, v2KeyAlreadyDeleted, "이미 삭제된 빌링키입니다.")
		}
		for _, s := range c.m.v2.schedules {
			if s.billingKey == key && s.status == v2SchedScheduled {
				revoke = append(revoke, s)
			}
		}
	}
	for _, id := range ids {
		s := c.m.v2.scheduleID[id]
		switch {
		case s == nil:
			return v2Fail(http.StatusNotFound, v2ScheduleNotFound, "결제 예약 건이 존재하지 않습니다. (%s)", id)
		case s.status == v2SchedRevoked:
			return v2Fail(http.StatusConflict, v2ScheduleRevoked, "이미 취소된 결제 예약 건입니다. (%s)", id)
		case s.status != v2SchedScheduled:
			return v2Fail(http.StatusConflict, v2ScheduleProcessed, "이미 처리된 결제 예약 건입니다. (%s)", id)
		}
		if !slices.Contains(revoke, s) {
			revoke = append(revoke, s)
		}
	}
	revoked := []string{}
	subj := subject{merchant: c.m.key, customerUID: key}
	for _, s := range revoke {
		s.status, s.revokedAt = v2SchedRevoked, now
		revoked = append(revoked, s.id)
		if subj.merchantUID == "" {
			subj.merchantUID, subj.customerUID = s.paymentID, s.billingKey
		}
	}
	res := v2OK(map[string]any{"revokedScheduleIds": revoked, "revokedAt": v2Time(now)})
	res.after = e.fireLocked(c.op, subj, FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}
