package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/readmodel"
)

// Store is the part of the read model the console reads (readmodel.Store).
type Store interface {
	Overview(ctx context.Context, now time.Time) (readmodel.Overview, error)
	Upcoming(ctx context.Context, from time.Time, days int) ([]readmodel.UpcomingDay, error)
	DueWithinFirst(ctx context.Context, now time.Time, d time.Duration, n int) ([]readmodel.Due, int, error)
	Queue(ctx context.Context, q readmodel.Queue, p readmodel.Page) ([]readmodel.Row, int, error)
	Subscription(ctx context.Context, id string) (readmodel.Row, error)
	Events(ctx context.Context, id string, p readmodel.Page) ([]readmodel.EventRow, int, error)
	Revenue(ctx context.Context, from, to string) ([]readmodel.RevenueMonth, error)
}

// upcomingDays is the Upcoming page's horizon.
const upcomingDays = 7

// dueListed bounds the Upcoming page's list of who is charged in the next 24 hours (the
// question the per-cycle search attributes answer in the Web UI); the total is always shown.
const dueListed = 100

// readFailed answers a read model that did not answer: the console shows no made-up figure.
func (s *Server) readFailed(w http.ResponseWriter, r *http.Request, ss *session, what string, err error) {
	s.log.Error("console: the read model did not answer", zap.String("page", what), zap.Error(err))
	s.renderMessage(w, r, ss, http.StatusServiceUnavailable, messagePage{
		HeadingKo: "데이터를 읽지 못했습니다.", HeadingEn: "The read model did not answer.",
		TextKo: "잠시 후 다시 시도해 주세요.", TextEn: what + ": " + err.Error(),
	})
}

// badInput answers a query parameter that does not parse, naming it.
func (s *Server) badInput(w http.ResponseWriter, r *http.Request, ss *session, field, why string) {
	s.renderMessage(w, r, ss, http.StatusBadRequest, messagePage{
		HeadingKo: "잘못된 요청입니다.", HeadingEn: "Bad request.",
		TextKo: field + ": " + why, TextEn: field + ": " + why,
	})
}

// statusCount is one status line of the overview.
type statusCount struct {
	Status billing.Status
	Ko, En string
	Count  int
}

type overviewPage struct {
	O          readmodel.Overview
	Statuses   []statusCount
	MRRChange  int64
	Recovery   float64
	RecoveryOK bool
	AsOf       string
	LagLast    string
}

func (overviewPage) title() string { return "개요 · Overview" }
func (overviewPage) nav() string   { return "overview" }

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request, ss *session) {
	now := s.cfg.Now()
	o, err := s.store.Overview(r.Context(), now)
	if err != nil {
		s.readFailed(w, r, ss, "overview", err)
		return
	}
	p := overviewPage{O: o, MRRChange: o.MRR - o.MRR30DaysAgo, AsOf: kst(now), LagLast: o.Lag.Last.Round(time.Millisecond).String()}
	p.Recovery, p.RecoveryOK = o.RecoveryRate()
	for _, st := range billing.AllStatuses {
		p.Statuses = append(p.Statuses, statusCount{Status: st, Ko: statusKo(st), En: statusEn(st), Count: o.ByStatus[st]})
	}
	s.render(w, r, ss, http.StatusOK, "overview.html", p)
}

type upcomingPage struct {
	Days   []readmodel.UpcomingDay
	Count  int
	Amount int64
	From   string
	// Due is who is charged in the next 24 hours, soonest first, at most dueListed of DueTotal.
	Due      []dueRow
	DueTotal int
}

// dueRow is one charge due in the next 24 hours.
type dueRow struct {
	readmodel.Due
	Link string
}

func (upcomingPage) title() string { return "예정 결제 · Upcoming charges" }
func (upcomingPage) nav() string   { return "upcoming" }

func (s *Server) handleUpcoming(w http.ResponseWriter, r *http.Request, ss *session) {
	now := s.cfg.Now()
	days, err := s.store.Upcoming(r.Context(), now, upcomingDays)
	if err != nil {
		s.readFailed(w, r, ss, "upcoming", err)
		return
	}
	due, total, err := s.store.DueWithinFirst(r.Context(), now, 24*time.Hour, dueListed)
	if err != nil {
		s.readFailed(w, r, ss, "upcoming", err)
		return
	}
	p := upcomingPage{Days: days, From: kst(now), DueTotal: total}
	for _, d := range days {
		p.Count += d.Charges
		p.Amount += d.Amount
	}
	for _, d := range due {
		p.Due = append(p.Due, dueRow{Due: d, Link: "/subscriptions/" + url.PathEscape(d.SubscriptionID)})
	}
	s.render(w, r, ss, http.StatusOK, "upcoming.html", p)
}

// queueInfo names a queue and its columns.
type queueInfo struct {
	Q      readmodel.Queue
	Ko, En string
	// Sort is the queue's default sort key.
	Sort string
}

var queueInfos = []queueInfo{
	{readmodel.PastDue, "연체", "Past due", "next_retry_at"},
	{readmodel.PaymentMethodRequired, "결제 수단 변경 필요", "Payment method required", "since"},
	{readmodel.NeedsAttention, "확인 필요", "Needs attention", "attention_at"},
	{readmodel.ConsentPending, "가격 인상 동의 대기", "Consent pending", "consent_deadline"},
}

// queueRow is one row of a queue page, with the buyer-free facts a queue needs.
type queueRow struct {
	readmodel.Row
	Link string
}

// sortLink is one sortable column header.
type sortLink struct {
	Key, Ko, En string
	URL         string
	Active      bool
	Desc        bool
}

type queuePage struct {
	Info      queueInfo
	Queues    []queueInfo
	Rows      []queueRow
	Total     int
	Page      int
	Pages     int
	Sort      string
	Desc      bool
	Columns   []sortLink
	PrevURL   string
	NextURL   string
	FirstRow  int
	LastRow   int
	CheckedAt string
}

func (p queuePage) title() string { return p.Info.Ko + " · " + p.Info.En }
func (queuePage) nav() string     { return "queues" }

// queueColumns are each queue's sortable columns (Key is a readmodel.SortKeys entry).
var queueColumns = map[readmodel.Queue][]sortLink{
	readmodel.PastDue: {
		{Key: "subscription_id", Ko: "구독", En: "Subscription"}, {Key: "plan", Ko: "요금제", En: "Plan"}, {Key: "price", Ko: "금액", En: "Price"},
		{Key: "since", Ko: "연체 시작", En: "Past due since"}, {Key: "decline_reason", Ko: "거절 사유", En: "Decline reason"},
		{Key: "next_retry_at", Ko: "다음 재시도", En: "Next retry"},
	},
	readmodel.PaymentMethodRequired: {
		{Key: "subscription_id", Ko: "구독", En: "Subscription"}, {Key: "plan", Ko: "요금제", En: "Plan"}, {Key: "price", Ko: "금액", En: "Price"},
		{Key: "since", Ko: "연체 시작", En: "Past due since"}, {Key: "decline_reason", Ko: "거절 사유", En: "Decline reason"},
	},
	readmodel.NeedsAttention: {
		{Key: "subscription_id", Ko: "구독", En: "Subscription"}, {Key: "status", Ko: "상태", En: "Status"},
		{Key: "attention_at", Ko: "표시 시각", En: "Marked at"},
	},
	readmodel.ConsentPending: {
		{Key: "subscription_id", Ko: "구독", En: "Subscription"}, {Key: "plan", Ko: "요금제", En: "Plan"}, {Key: "price", Ko: "현재 금액", En: "Price now"},
		{Key: "consent_deadline", Ko: "동의 기한", En: "Deadline"},
	},
}

func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request, ss *session) {
	i := slices.IndexFunc(queueInfos, func(q queueInfo) bool { return string(q.Q) == r.PathValue("queue") })
	if i < 0 {
		s.renderMessage(w, r, ss, http.StatusNotFound, messagePage{
			HeadingKo: "없는 대기열입니다.", HeadingEn: "No such queue.",
			TextEn: "queue: want past_due, payment_method_required, needs_attention or consent_pending",
		})
		return
	}
	info := queueInfos[i]
	q := r.URL.Query()
	sortKey := q.Get("sort")
	if sortKey == "" {
		sortKey = info.Sort
	}
	if !slices.Contains(readmodel.SortKeys, sortKey) {
		s.badInput(w, r, ss, "sort", fmt.Sprintf("unknown sort key %q", sortKey))
		return
	}
	desc := q.Get("desc") == "1"
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			s.badInput(w, r, ss, "page", fmt.Sprintf("want a page number from 1, got %q", v))
			return
		}
		page = n
	}
	size := s.cfg.PageSize
	rows, total, err := s.store.Queue(r.Context(), info.Q, readmodel.Page{Offset: (page - 1) * size, Limit: size, Sort: sortKey, Desc: desc})
	if err != nil {
		s.readFailed(w, r, ss, "queue "+string(info.Q), err)
		return
	}
	link := func(sortKey string, desc bool, page int) string {
		v := url.Values{"sort": {sortKey}}
		if desc {
			v.Set("desc", "1")
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return "/queues/" + string(info.Q) + "?" + v.Encode()
	}
	p := queuePage{Info: info, Queues: queueInfos, Total: total, Page: page, Sort: sortKey, Desc: desc, CheckedAt: kst(s.cfg.Now())}
	p.Pages = max(1, (total+size-1)/size)
	for _, c := range queueColumns[info.Q] {
		c.Active = c.Key == sortKey
		c.Desc = c.Active && desc
		c.URL = link(c.Key, c.Active && !desc, 1)
		p.Columns = append(p.Columns, c)
	}
	for _, row := range rows {
		p.Rows = append(p.Rows, queueRow{Row: row, Link: "/subscriptions/" + url.PathEscape(row.SubscriptionID)})
	}
	if len(rows) > 0 {
		p.FirstRow = (page-1)*size + 1
		p.LastRow = p.FirstRow + len(rows) - 1
	}
	if page > 1 {
		p.PrevURL = link(sortKey, desc, page-1)
	}
	if page*size < total {
		p.NextURL = link(sortKey, desc, page+1)
	}
	s.render(w, r, ss, http.StatusOK, "queue.html", p)
}

type revenuePage struct {
	From, To string
	Months   []readmodel.RevenueMonth
	Total    readmodel.RevenueMonth
	CSVURL   string
}

func (revenuePage) title() string { return "매출 · Revenue" }
func (revenuePage) nav() string   { return "revenue" }

// revenueRange reads from and to (YYYY-MM, KST months, inclusive); the default is the twelve
// months up to the current one.
func (s *Server) revenueRange(r *http.Request) (from, to string, field, why string) {
	now := s.cfg.Now().In(calendar.Seoul)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, calendar.Seoul)
	from, to = first.AddDate(0, -11, 0).Format("2006-01"), first.Format("2006-01")
	q := r.URL.Query()
	for _, f := range []struct {
		name string
		p    *string
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.name); v != "" {
			if _, err := time.Parse("2006-01", v); err != nil {
				return "", "", f.name, fmt.Sprintf("want a month YYYY-MM, got %q", v)
			}
			*f.p = v
		}
	}
	if from > to {
		return "", "", "from", fmt.Sprintf("%s is after to (%s)", from, to)
	}
	return from, to, "", ""
}

func (s *Server) revenue(w http.ResponseWriter, r *http.Request, ss *session) (revenuePage, bool) {
	from, to, field, why := s.revenueRange(r)
	if field != "" {
		s.badInput(w, r, ss, field, why)
		return revenuePage{}, false
	}
	months, err := s.store.Revenue(r.Context(), from, to)
	if err != nil {
		s.readFailed(w, r, ss, "revenue", err)
		return revenuePage{}, false
	}
	p := revenuePage{From: from, To: to, Months: months, CSVURL: "/revenue.csv?" + url.Values{"from": {from}, "to": {to}}.Encode()}
	for _, m := range months {
		p.Total.Gross += m.Gross
		p.Total.Refunds += m.Refunds
		p.Total.Net += m.Net
		p.Total.Taxable += m.Taxable
		p.Total.TaxFree += m.TaxFree
		p.Total.Charges += m.Charges
		p.Total.RefundCount += m.RefundCount
	}
	return p, true
}

func (s *Server) handleRevenue(w http.ResponseWriter, r *http.Request, ss *session) {
	if p, ok := s.revenue(w, r, ss); ok {
		s.render(w, r, ss, http.StatusOK, "revenue.html", p)
	}
}

func (s *Server) handleRevenueCSV(w http.ResponseWriter, r *http.Request, ss *session) {
	p, ok := s.revenue(w, r, ss)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="paycycle-revenue-%s-%s.csv"`, p.From, p.To))
	// The read model's one CSV format (KST months, whole won), for 부가세 filing.
	if err := readmodel.WriteRevenueCSV(w, p.Months); err != nil {
		s.log.Warn("console: revenue CSV not fully written", zap.Error(err))
	}
}

var _ Store = (*readmodel.Store)(nil)
