package readmodel

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/paycycle/paycycle/billing"
)

var errNotYet = errors.New("readmodel: not implemented yet")

// Apply applies one event idempotently by (subscription, stream, sequence) in one transaction:
// applied is true when the projection changed (the event, and any held events it unblocked).
// A duplicate, or an event held behind a gap, answers false and no error.
func (s *Store) Apply(ctx context.Context, e billing.MerchantEvent) (applied bool, err error) {
	r, err := s.Accept(ctx, e)
	return r == Applied || r == Superseded, err
}

// Accept is Apply saying what it did with the event.
func (s *Store) Accept(ctx context.Context, e billing.MerchantEvent) (ApplyResult, error) {
	return 0, errNotYet
}

// ApplyState sets a subscription's row from its workflow's state (the "state" query's answer)
// when the state is at or past the row's last event (st.EventSeq ≥ LastSeq): the fields no
// event carries (plan code, attention) come only this way, and held events at or below
// st.EventSeq stop waiting. at is when the state was read.
func (s *Store) ApplyState(ctx context.Context, st billing.State, at time.Time) error {
	return errNotYet
}

// Overview answers the console's overview as of now.
func (s *Store) Overview(ctx context.Context, now time.Time) (Overview, error) {
	return Overview{}, errNotYet
}

// Upcoming lists the charges due from from on, over days KST days (the day of from first), by
// day; days without a charge are listed with zero.
func (s *Store) Upcoming(ctx context.Context, from time.Time, days int) ([]UpcomingDay, error) {
	return nil, errNotYet
}

// DueWithin lists the live subscriptions whose next charge falls in [now, now+d), soonest
// first, with the cycle it is for: the question the per-cycle search attributes answer.
func (s *Store) DueWithin(ctx context.Context, now time.Time, d time.Duration) ([]Due, error) {
	return nil, errNotYet
}

// Queue returns one page of a queue and the queue's total length.
func (s *Store) Queue(ctx context.Context, q Queue, p Page) ([]Row, int, error) {
	return nil, 0, errNotYet
}

// Subscription returns one subscription's row, or ErrNotFound.
func (s *Store) Subscription(ctx context.Context, id string) (Row, error) {
	return Row{}, errNotYet
}

// Events returns one page of a subscription's received events (newest first unless p.Sort is
// "seq" ascending) and their total, every incarnation included.
func (s *Store) Events(ctx context.Context, id string, p Page) ([]EventRow, int, error) {
	return nil, 0, errNotYet
}

// Revenue returns the KST months from..to (YYYY-MM, both included), every month listed even
// without money.
func (s *Store) Revenue(ctx context.Context, from, to string) ([]RevenueMonth, error) {
	return nil, errNotYet
}

// WriteRevenueCSV writes months as CSV with a header row, amounts in whole KRW.
func WriteRevenueCSV(w io.Writer, months []RevenueMonth) error {
	return errNotYet
}

// Gauges answers the stock gauges as of now.
func (s *Store) Gauges(ctx context.Context, now time.Time) (Gauges, error) {
	return Gauges{}, errNotYet
}

// Compare lists where the subscription's row disagrees with its workflow's state st (empty:
// they agree), for reconciliation. A subscription the projection does not know is one
// difference ("row").
func (s *Store) Compare(ctx context.Context, id string, st billing.State) ([]Difference, error) {
	return nil, errNotYet
}

// Source is what a rebuild projects: events (any order; duplicates are dropped) and, after
// them, workflow states (each applied as ApplyState does, read at StatesAt).
type Source struct {
	Events   iter.Seq2[billing.MerchantEvent, error]
	States   iter.Seq2[billing.State, error]
	StatesAt time.Time
}

// Rebuild empties the projection and projects src again, in one transaction: readers see the
// old projection until it commits, and a failed rebuild leaves the old one in place.
func (s *Store) Rebuild(ctx context.Context, src Source) error {
	return errNotYet
}

// Receiver is the http.Handler that receives the merchant events from the webhooks outbox:
// it verifies the Standard Webhooks signature with the configured secrets, decodes the event
// and applies it, answering 2xx only once it is committed (a refusal makes the outbox retry).
type Receiver struct {
	store *Store
}

// NewReceiver returns a Receiver applying events to store, verifying signatures with secrets
// (the Standard Webhooks "whsec_…" secrets the worker signs with, comma- or space-separated:
// during a rotation both verify).
func NewReceiver(store *Store, secrets string) (*Receiver, error) {
	return nil, errNotYet
}

// ServeHTTP receives one event.
func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, errNotYet.Error(), http.StatusServiceUnavailable)
}
