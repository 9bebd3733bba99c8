package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/paycycle/paycycle/gateway"
)

// Generations reads every gateway generation a fleet charges through (PortOne V1, then V2) as
// one gateway, so that the nightly reconciliation runs its checks once over all payments,
// schedules and keys: a V2 subscription's payment is then neither "missing at PortOne" (from
// V1's list) nor "unknown to paycycle" (from V2's). Reads fan out; the one write
// reconciliation makes, the opt-in duplicate refund, goes to the generation that holds the
// payment. The per-cycle writes (charge, schedule, revoke, key deletion) belong to the
// subscriptions' own activities, which name their generation, and are refused here.
//
// A list cursor is "<generation index>|<that generation's cursor>": each generation is listed
// to its end, then the next from its start.
type Generations []gateway.Gateway

var _ gateway.Gateway = Generations(nil)

// errNotForReconciliation refuses the writes that belong to a subscription's activities.
func errNotForReconciliation(op string) error {
	return gateway.InvalidRequest(op, "generation", "reconciliation reads every generation as one and does not "+op+": a subscription's activities do, through their own generation")
}

// Charge is refused (see Generations).
func (Generations) Charge(context.Context, gateway.ChargeRequest) (gateway.Payment, error) {
	return gateway.Payment{}, errNotForReconciliation("charge")
}

// Schedule is refused (see Generations).
func (Generations) Schedule(context.Context, gateway.ScheduleRequest) error {
	return errNotForReconciliation("schedule")
}

// ScheduleOf is refused (see Generations).
func (Generations) ScheduleOf(context.Context, string, string) (gateway.Schedule, error) {
	return gateway.Schedule{}, errNotForReconciliation("look a schedule up")
}

// Revoke is refused (see Generations).
func (Generations) Revoke(context.Context, string, string) error {
	return errNotForReconciliation("revoke")
}

// DeleteBillingKey is refused (see Generations).
func (Generations) DeleteBillingKey(context.Context, gateway.DeleteKeyRequest) error {
	return errNotForReconciliation("delete a billing key")
}

// Payments returns the attempts every generation holds under paymentID.
func (g Generations) Payments(ctx context.Context, paymentID string) ([]gateway.Payment, error) {
	var out []gateway.Payment
	for _, gw := range g {
		ps, err := gw.Payments(ctx, paymentID)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// Payment finds txID in the generation that holds it; ErrNotFound when none does.
func (g Generations) Payment(ctx context.Context, txID string) (gateway.Payment, error) {
	p, _, err := g.owner(ctx, txID)
	return p, err
}

// owner is the payment txID and the generation holding it.
func (g Generations) owner(ctx context.Context, txID string) (gateway.Payment, gateway.Gateway, error) {
	var notFound error = &gateway.Error{Op: "Payment", Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNotFound},
		Err: fmt.Errorf("no generation holds payment %q", txID)}
	for _, gw := range g {
		p, err := gw.Payment(ctx, txID)
		switch {
		case errors.Is(err, gateway.ErrNotFound), errors.Is(err, gateway.ErrInvalidRequest):
			// An ID in another generation's format may be refused as malformed: not here.
			continue
		case err != nil:
			return gateway.Payment{}, nil, err
		}
		return p, gw, nil
	}
	return gateway.Payment{}, nil, notFound
}

// Refund refunds in the generation that holds req.TxID.
func (g Generations) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.Payment, error) {
	_, gw, err := g.owner(ctx, req.TxID)
	if err != nil {
		return gateway.Payment{}, err
	}
	return gw.Refund(ctx, req)
}

// BillingKey is the key as the generation holding it says; ErrKeyNotFound when none does.
func (g Generations) BillingKey(ctx context.Context, key string) (gateway.BillingKey, error) {
	var last error = &gateway.Error{Op: "BillingKey", Class: gateway.ErrRefused, Kinds: []error{gateway.ErrKeyNotFound},
		Err: fmt.Errorf("no generation holds billing key %q", key)}
	for _, gw := range g {
		k, err := gw.BillingKey(ctx, key)
		switch {
		case errors.Is(err, gateway.ErrKeyNotFound), errors.Is(err, gateway.ErrInvalidRequest):
			continue
		case err != nil:
			return gateway.BillingKey{}, err
		}
		return k, nil
	}
	return gateway.BillingKey{}, last
}

// BillingKeys is every generation's answer for keys, together (a key lives in one).
func (g Generations) BillingKeys(ctx context.Context, keys []string) ([]gateway.BillingKey, error) {
	var out []gateway.BillingKey
	seen := map[string]bool{}
	for _, gw := range g {
		found, err := gw.BillingKeys(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range found {
			if !seen[k.Key] {
				seen[k.Key] = true
				out = append(out, k)
			}
		}
	}
	return out, nil
}

// ListPayments lists each generation's payments of the window in turn.
func (g Generations) ListPayments(ctx context.Context, q gateway.ListQuery) (gateway.PaymentPage, error) {
	i, inner, err := g.cursor("ListPayments", q.Cursor)
	if err != nil {
		return gateway.PaymentPage{}, err
	}
	q.Cursor = inner
	page, err := g[i].ListPayments(ctx, q)
	if err != nil {
		return gateway.PaymentPage{}, err
	}
	page.Next = g.next(i, page.Next)
	return page, nil
}

// PendingSchedules lists each generation's pending schedules of the window in turn.
func (g Generations) PendingSchedules(ctx context.Context, q gateway.ListQuery) (gateway.SchedulePage, error) {
	i, inner, err := g.cursor("PendingSchedules", q.Cursor)
	if err != nil {
		return gateway.SchedulePage{}, err
	}
	q.Cursor = inner
	page, err := g[i].PendingSchedules(ctx, q)
	if err != nil {
		return gateway.SchedulePage{}, err
	}
	page.Next = g.next(i, page.Next)
	return page, nil
}

// cursor splits a Generations cursor; "" starts at the first generation.
func (g Generations) cursor(op, c string) (int, string, error) {
	if len(g) == 0 {
		return 0, "", gateway.InvalidRequest(op, "generations", "none configured")
	}
	if c == "" {
		return 0, "", nil
	}
	idx, inner, ok := strings.Cut(c, "|")
	i, err := strconv.Atoi(idx)
	if !ok || err != nil || i < 0 || i >= len(g) {
		return 0, "", gateway.InvalidRequest(op, "cursor", fmt.Sprintf("%q is not a cursor of this list", c))
	}
	return i, inner, nil
}

// next is the cursor after generation i's page whose own next is inner: its next page, else
// the next generation's first, else the end.
func (g Generations) next(i int, inner string) string {
	switch {
	case inner != "":
		return strconv.Itoa(i) + "|" + inner
	case i+1 < len(g):
		return strconv.Itoa(i+1) + "|"
	}
	return ""
}
