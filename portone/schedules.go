package portone

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	opSchedule            = "POST /subscribe/payments/schedule"
	opUnschedule          = "POST /subscribe/payments/unschedule"
	opGetSchedule         = "GET /subscribe/payments/schedule/{merchant_uid}"
	opSchedulesByCustomer = "GET /subscribe/payments/schedule/customers/{customer_uid}"
	opSchedules           = "GET /subscribe/payments/schedule"
)

type scheduleWire struct {
	MerchantUID string `json:"merchant_uid"`
	ScheduleAt  int64  `json:"schedule_at"`
	Amount      KRW    `json:"amount"`
	TaxFree     KRW    `json:"tax_free"`
	Name        string `json:"name"`
	buyerWire
	CustomData string     `json:"custom_data,omitempty"`
	NoticeURL  string     `json:"notice_url,omitempty"`
	Extra      *extraWire `json:"extra,omitempty"`
}

type scheduleRequestWire struct {
	CustomerUID string         `json:"customer_uid"`
	Schedules   []scheduleWire `json:"schedules"`
}

type unscheduleWire struct {
	CustomerUID  string   `json:"customer_uid,omitempty"`
	MerchantUIDs []string `json:"merchant_uid,omitempty"`
}

// Schedule asks PortOne to charge the billing key req.CustomerUID at each
// entry's ScheduleAt, and returns the accepted schedules (ScheduleScheduled).
// At execution PortOne charges as Again would and sends a webhook to the
// entry's NoticeURL (or the console URL) whether the charge is paid or failed.
//
// Every entry needs its own merchant_uid, never used before. A refusal (for
// example ErrCustomerNotRegistered, or a merchant_uid already scheduled) is an
// *APIError. If it returns *UnknownOutcomeError (MerchantUID lists the
// entries, comma-separated) some or all entries may be scheduled: call
// GetSchedule for each before scheduling again.
//
// PortOne API: POST /subscribe/payments/schedule
func (c *Client) Schedule(ctx context.Context, req ScheduleRequest) ([]ScheduleResult, error) {
	op := opSchedule
	if err := c.validateSchedule(op, &req); err != nil {
		return nil, err
	}
	body := scheduleRequestWire{CustomerUID: req.CustomerUID, Schedules: make([]scheduleWire, len(req.Schedules))}
	uids := make([]string, len(req.Schedules))
	for i, e := range req.Schedules {
		uids[i] = e.MerchantUID
		body.Schedules[i] = scheduleWire{
			MerchantUID: e.MerchantUID,
			ScheduleAt:  e.ScheduleAt.Unix(),
			Amount:      e.Amount,
			TaxFree:     e.TaxFree,
			Name:        e.Name,
			buyerWire:   toBuyerWire(e.Buyer),
			CustomData:  e.CustomData,
			NoticeURL:   e.NoticeURL,
			Extra:       extraOf(e.NaverUseCfm, ""),
		}
	}
	r := &request{
		op:           op,
		method:       http.MethodPost,
		path:         "/subscribe/payments/schedule",
		body:         body,
		auth:         true,
		write:        true,
		merchantUID:  strings.Join(uids, ","),
		next:         "call GetSchedule for each merchant_uid before scheduling again",
		customerUIDs: []string{req.CustomerUID},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return listOf[ScheduleResult](c, r, raw)
}

// Unschedule revokes pending schedules: those named by req.MerchantUIDs, or
// with only req.CustomerUID, every pending schedule of that billing key. It
// returns the revoked schedules (ScheduleRevoked). Executed schedules cannot
// be revoked. Nothing to revoke is an *APIError matching
// ErrNothingToUnschedule, which a caller that only wants "no pending
// schedule" may treat as success.
//
// If it returns *UnknownOutcomeError, call GetSchedule (or
// SchedulesByCustomer) to see which schedules are still pending.
//
// PortOne API: POST /subscribe/payments/unschedule
func (c *Client) Unschedule(ctx context.Context, req UnscheduleRequest) ([]ScheduleResult, error) {
	op := opUnschedule
	if err := validateUnschedule(op, &req); err != nil {
		return nil, err
	}
	r := &request{
		op:           op,
		method:       http.MethodPost,
		path:         "/subscribe/payments/unschedule",
		body:         unscheduleWire(req),
		auth:         true,
		write:        true,
		merchantUID:  strings.Join(req.MerchantUIDs, ","),
		next:         "call GetSchedule or SchedulesByCustomer to see which schedules are still pending",
		customerUIDs: []string{req.CustomerUID},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return listOf[ScheduleResult](c, r, raw)
}

// GetSchedule returns the schedule with merchantUID. An unknown merchant_uid
// returns an *APIError matching ErrNotFound (PortOne answers 404).
//
// PortOne API: GET /subscribe/payments/schedule/{merchant_uid}
func (c *Client) GetSchedule(ctx context.Context, merchantUID string) (*ScheduleResult, error) {
	op := opGetSchedule
	if err := checkID(op, "merchant_uid", merchantUID, maxMerchantUID); err != nil {
		return nil, err
	}
	r := &request{
		op:     op,
		method: http.MethodGet,
		path:   "/subscribe/payments/schedule/" + url.PathEscape(merchantUID),
		auth:   true,
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var s ScheduleResult
	if err := c.decode(r, raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// SchedulesByCustomer returns one page of the schedules of the billing key
// customerUID with From <= schedule_at < To (PortOne allows at most a
// 3-month window), newest first. An unknown customer_uid gives an empty page.
//
// Note the query parameter is "schedule-status" (hyphen) here but
// "schedule_status" (underscore) on Schedules; PortOne spells them so.
//
// PortOne API: GET /subscribe/payments/schedule/customers/{customer_uid}
func (c *Client) SchedulesByCustomer(ctx context.Context, customerUID string, q ScheduleQuery) (*Page[ScheduleResult], error) {
	op := opSchedulesByCustomer
	if err := checkID(op, "customer_uid", customerUID, maxCustomerUID); err != nil {
		return nil, err
	}
	if err := checkWindow(op, "from", "to", q.From, q.To); err != nil {
		return nil, err
	}
	if err := checkPaging(op, q.Page, 0); err != nil {
		return nil, err
	}
	if q.Status != "" && !q.Status.valid() {
		return nil, invalid(op, "schedule-status", "must be scheduled, executed or revoked")
	}
	query := url.Values{}
	query.Set("from", strconv.FormatInt(q.From.Unix(), 10))
	query.Set("to", strconv.FormatInt(q.To.Unix(), 10))
	if q.Page > 0 {
		query.Set("page", strconv.Itoa(q.Page))
	}
	if q.Status != "" {
		query.Set("schedule-status", string(q.Status))
	}
	r := &request{
		op:           op,
		method:       http.MethodGet,
		path:         "/subscribe/payments/schedule/customers/" + url.PathEscape(customerUID),
		query:        query,
		auth:         true,
		customerUIDs: []string{customerUID},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return pageOf[ScheduleResult](c, r, raw)
}

// Schedules returns one page of all the merchant's schedules with From <=
// schedule_at < To (at most a 3-month window). Bad parameters are refused by
// PortOne with HTTP 400 (*APIError).
//
// PortOne API: GET /subscribe/payments/schedule
func (c *Client) Schedules(ctx context.Context, q ScheduleRangeQuery) (*Page[ScheduleResult], error) {
	op := opSchedules
	if err := checkWindow(op, "schedule_from", "schedule_to", q.From, q.To); err != nil {
		return nil, err
	}
	if err := checkPaging(op, q.Page, q.Limit); err != nil {
		return nil, err
	}
	if q.Status != "" && !q.Status.valid() {
		return nil, invalid(op, "schedule_status", "must be scheduled, executed or revoked")
	}
	query := url.Values{}
	query.Set("schedule_from", strconv.FormatInt(q.From.Unix(), 10))
	query.Set("schedule_to", strconv.FormatInt(q.To.Unix(), 10))
	if q.Status != "" {
		query.Set("schedule_status", string(q.Status))
	}
	setPaging(query, q.Page, q.Limit, q.Sorting)
	r := &request{
		op:     op,
		method: http.MethodGet,
		path:   "/subscribe/payments/schedule",
		query:  query,
		auth:   true,
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return pageOf[ScheduleResult](c, r, raw)
}
