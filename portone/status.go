package portone

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const opPaymentsByStatus = "GET /payments/status/{payment_status}"

// StatusAll asks PaymentsByStatus for every status at once. It is not a Payment.Status value.
const StatusAll PaymentStatus = "all"

// MaxStatusWindow is the widest from/to window PortOne accepts on GET /payments/status/{status}.
const MaxStatusWindow = 90 * 24 * time.Hour

// StatusQuery filters GET /payments/status/{payment_status}. From and To bound the payment's
// timestamp of its current status (started_at for ready, paid_at for paid, cancelled_at for
// cancelled, failed_at for failed), both inclusive: a payment paid on day 1 and refunded on
// day 3 is listed under cancelled for day 3 only.
type StatusQuery struct {
	// From is the inclusive start of the window (required).
	From time.Time
	// To is the inclusive end of the window (required; at most MaxStatusWindow after From).
	To time.Time
	// Page is the page number from 1; 0 means PortOne's default (1).
	Page int
	// Limit is the page size, at most 1000; 0 means PortOne's default (20).
	Limit int
	// Sorting is one of -started (PortOne's default), started, -paid, paid, -updated, updated.
	Sorting string
}

// PaymentsByStatus returns one page of the merchant's payments whose current status is status
// (or any status with StatusAll) and whose timestamp of that status lies in [q.From, q.To].
// A page beyond the last is refused by PortOne with HTTP 400 (*APIError); EachPaymentByStatus
// stops before that.
//
// PortOne API: GET /payments/status/{payment_status}
func (c *Client) PaymentsByStatus(ctx context.Context, status PaymentStatus, q StatusQuery) (*Page[Payment], error) {
	op := opPaymentsByStatus
	if status != StatusAll && !status.valid() {
		return nil, invalid(op, "payment_status", "must be all, ready, paid, failed or cancelled, got %q", status)
	}
	if err := checkStatusQuery(op, q); err != nil {
		return nil, err
	}
	query := c.sandboxQuery()
	if query == nil {
		query = url.Values{}
	}
	query.Set("from", strconv.FormatInt(q.From.Unix(), 10))
	query.Set("to", strconv.FormatInt(q.To.Unix(), 10))
	setPaging(query, q.Page, q.Limit, q.Sorting)
	r := &request{
		op:     op,
		method: http.MethodGet,
		path:   "/payments/status/" + url.PathEscape(string(status)),
		query:  query,
		auth:   true,
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return pageOf[Payment](c, r, raw)
}

func checkStatusQuery(op string, q StatusQuery) error {
	if err := checkWindow(op, "from", "to", q.From, q.To); err != nil {
		return err
	}
	if q.To.Sub(q.From) > MaxStatusWindow {
		return invalid(op, "to", "must be at most 90 days after from (PortOne's limit), got %s", q.To.Sub(q.From).Round(time.Hour))
	}
	if err := checkPaging(op, q.Page, q.Limit); err != nil {
		return err
	}
	switch q.Sorting {
	case "", "-started", "started", "-paid", "paid", "-updated", "updated":
		return nil
	}
	return invalid(op, "sorting", "must be one of -started, started, -paid, paid, -updated, updated")
}

// maxStatusPages bounds EachPaymentByStatus: 90 days at 1,000 a page and 10,000 pages is ten
// million payments, far beyond any merchant this project serves, and a PortOne that kept
// answering "next" would otherwise loop forever.
const maxStatusPages = 10000

// EachPaymentByStatus pages through PaymentsByStatus from q.Page (default 1), calling visit
// with each page in order, until PortOne reports no next page or visit returns an error (which
// it returns). visit gets the page number it was given, so that a caller can remember how far
// it got and resume from the next one. Limit defaults to 1,000 here, the most PortOne allows.
func (c *Client) EachPaymentByStatus(ctx context.Context, status PaymentStatus, q StatusQuery,
	visit func(pageNo int, p *Page[Payment]) error) error {
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Limit == 0 {
		q.Limit = maxPageLimit
	}
	for range maxStatusPages {
		p, err := c.PaymentsByStatus(ctx, status, q)
		if err != nil {
			return err
		}
		if err := visit(q.Page, p); err != nil {
			return err
		}
		if p.Next == 0 || len(p.List) == 0 {
			return nil
		}
		if p.Next <= q.Page {
			return c.undecodable(&request{op: opPaymentsByStatus}, fmt.Errorf("page %d names %d as the next page", q.Page, p.Next))
		}
		q.Page = p.Next
	}
	return fmt.Errorf("%s: more than %d pages; narrow the window", opPaymentsByStatus, maxStatusPages)
}
