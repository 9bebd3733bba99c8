package billing

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/paycycle/paycycle/calendar"
)

// The attempt ceiling. Card networks limit how often a merchant may try one card: Visa (since
// 18 April 2026) at most 20 reattempts per card in 30 days, Mastercard 10 declines per card and
// merchant in 24 hours. NaverPay wraps cards and Korean PGs publish no cap, so the workflow keeps
// the networks' count itself, per billing key (customer_uid), over every path that charges:
// cycle charges, dunning retries, charge_now, the retry after replace_billing_key, the charges of
// resume and plan changes, and PortOne's executed schedules. An attempt that would pass the
// ceiling is not made.

// Windows of the two ceilings.
const (
	// DeclineWindow is the window of the declines ceiling (Mastercard: 24 hours).
	DeclineWindow = 24 * time.Hour
	// ReattemptWindow is the window of the reattempts ceiling (Visa: 30 days).
	ReattemptWindow = 30 * 24 * time.Hour
)

// Default ceilings (worker flags -ceiling-declines-24h and -ceiling-reattempts-30d).
const (
	DefaultDeclines24h   = 10
	DefaultReattempts30d = 20
)

// MaxCardAttempts bounds the attempt log carried in the state. The ceilings keep the entries
// within a window far below it (gated attempts stop at the ceiling; only PortOne's own executed
// schedules are not gated, one per cycle); the oldest entries go first if it is ever reached.
const MaxCardAttempts = 100

// Reasons an attempt was withheld: the label values of MetricAttemptsWithheld (bounded).
const (
	CeilingDeclines24h   = "declines_24h"
	CeilingReattempts30d = "reattempts_30d"
)

// AttentionAttemptCeiling parks a subscription whose dunning could not wait for the attempt
// ceiling to allow its next attempt before the dunning's end.
const AttentionAttemptCeiling = "attempt_ceiling"

// MetricAttemptsWithheld counts charge attempts the ceiling withheld. Tag: reason
// (CeilingDeclines24h or CeilingReattempts30d), never a customer.
const MetricAttemptsWithheld = "paycycle_attempts_withheld"

// AttemptCeiling is the worker's ceiling on attempts per billing key. A value of 0 means the
// default (Settings recorded before the ceiling existed carry 0); a negative value turns that
// ceiling off.
type AttemptCeiling struct {
	// Declines24h is how many declines a key may have had in the last 24 hours before an
	// attempt is withheld.
	Declines24h int `json:"declines_24h,omitempty"`
	// Reattempts30d is how many reattempts (attempts of a cycle that was already declined) a
	// key may have had in the last 30 days before another reattempt is withheld.
	Reattempts30d int `json:"reattempts_30d,omitempty"`
}

// Resolved fills in the defaults.
func (c AttemptCeiling) Resolved() AttemptCeiling {
	if c.Declines24h == 0 {
		c.Declines24h = DefaultDeclines24h
	}
	if c.Reattempts30d == 0 {
		c.Reattempts30d = DefaultReattempts30d
	}
	return c
}

// CardAttempt is one attempt on a billing key, as the ceiling needs it: when, on which key (a
// fingerprint, not the customer_uid), whether it was declined and whether it was a reattempt.
type CardAttempt struct {
	At       time.Time `json:"at"`
	Key      string    `json:"key"`
	Declined bool      `json:"declined,omitempty"`
	Retry    bool      `json:"retry,omitempty"`
}

// KeyFingerprint is the short, stable name of a billing key in the attempt log: the log only
// needs to tell keys apart, and a hash keeps the customer_uid out of it.
func KeyFingerprint(customerUID string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(customerUID))
	return fmt.Sprintf("%016x", h.Sum64())
}

// CeilingHit says why an attempt is withheld and when the next one is allowed.
type CeilingHit struct {
	// Reason is CeilingDeclines24h or CeilingReattempts30d.
	Reason string
	// Limit is the ceiling's value.
	Limit int
	// NextAllowedAt is the first instant at which the attempt would pass every ceiling.
	NextAllowedAt time.Time
}

// String names the ceiling and when the next attempt is allowed (KST).
func (h CeilingHit) String() string {
	what := fmt.Sprintf("%d declines in 24 hours", h.Limit)
	if h.Reason == CeilingReattempts30d {
		what = fmt.Sprintf("%d reattempts in 30 days", h.Limit)
	}
	return fmt.Sprintf("this billing key reached the card networks' ceiling of %s; the next attempt is allowed from %s",
		what, h.NextAllowedAt.In(calendar.Seoul).Format("2006-01-02 15:04:05 MST"))
}

// Check reports whether an attempt at at on key (a reattempt when retry) would pass the ceiling,
// given the attempt log. The returned hit names the binding ceiling (the one allowing latest).
func (c AttemptCeiling) Check(log []CardAttempt, key string, retry bool, at time.Time) (CeilingHit, bool) {
	c = c.Resolved()
	var hit CeilingHit
	found := false
	consider := func(reason string, limit int, window time.Duration, counts func(CardAttempt) bool) {
		if limit < 0 {
			return
		}
		var in []time.Time
		for _, a := range log {
			if a.Key == key && counts(a) && a.At.After(at.Add(-window)) && !a.At.After(at) {
				in = append(in, a.At)
			}
		}
		if len(in) < limit {
			return
		}
		// The attempt is allowed once all but limit-1 of these left the window.
		slices.SortFunc(in, func(a, b time.Time) int { return a.Compare(b) })
		next := in[len(in)-limit].Add(window)
		if !found || next.After(hit.NextAllowedAt) {
			hit = CeilingHit{Reason: reason, Limit: limit, NextAllowedAt: next}
		}
		found = true
	}
	consider(CeilingDeclines24h, c.Declines24h, DeclineWindow, func(a CardAttempt) bool { return a.Declined })
	if retry {
		consider(CeilingReattempts30d, c.Reattempts30d, ReattemptWindow, func(a CardAttempt) bool { return a.Retry })
	}
	return hit, found
}

// PruneCardAttempts keeps what the windows still need at now: declines of the last 24 hours,
// reattempts of the last 30 days, at most MaxCardAttempts entries (the newest).
func PruneCardAttempts(log []CardAttempt, now time.Time) []CardAttempt {
	kept := make([]CardAttempt, 0, len(log))
	for _, a := range log {
		if (a.Retry && a.At.After(now.Add(-ReattemptWindow))) || (a.Declined && a.At.After(now.Add(-DeclineWindow))) {
			kept = append(kept, a)
		}
	}
	if n := len(kept); n > MaxCardAttempts {
		kept = kept[n-MaxCardAttempts:]
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}
