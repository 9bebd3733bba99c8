package billing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/paycycle/paycycle/billing"
)

// TestAttemptCeilingCheck: the ceilings' arithmetic at the edges of their windows, per key, and
// when a ceiling is off.
func TestAttemptCeilingCheck(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC)
	k, other := billing.KeyFingerprint("cust-1"), billing.KeyFingerprint("cust-2")
	declines := func(key string, n int, every time.Duration) []billing.CardAttempt {
		var out []billing.CardAttempt
		for i := range n {
			out = append(out, billing.CardAttempt{At: t0.Add(time.Duration(i) * every), Key: key, Declined: true, Retry: i > 0})
		}
		return out
	}
	tests := []struct {
		name    string
		ceiling billing.AttemptCeiling
		log     []billing.CardAttempt
		retry   bool
		at      time.Time
		want    string // reason; "" means allowed
		next    time.Time
	}{
		{name: "9 declines: allowed", log: declines(k, 9, time.Hour), at: t0.Add(10 * time.Hour)},
		{name: "10 declines: withheld until the first leaves", log: declines(k, 10, time.Hour), at: t0.Add(10 * time.Hour),
			want: billing.CeilingDeclines24h, next: t0.Add(24 * time.Hour)},
		{name: "exactly 24 hours after the first: allowed", log: declines(k, 10, time.Hour), at: t0.Add(24 * time.Hour)},
		{name: "another key's declines do not count", log: declines(other, 10, time.Hour), at: t0.Add(10 * time.Hour)},
		{name: "declines ceiling off", ceiling: billing.AttemptCeiling{Declines24h: -1}, log: declines(k, 10, time.Hour), at: t0.Add(10 * time.Hour)},
		{name: "lower ceiling", ceiling: billing.AttemptCeiling{Declines24h: 3}, log: declines(k, 4, time.Hour), at: t0.Add(5 * time.Hour),
			want: billing.CeilingDeclines24h, next: t0.Add(25 * time.Hour)},
		{name: "20 reattempts in 30 days: a reattempt is withheld", log: declines(k, 21, 24*time.Hour), retry: true, at: t0.Add(21 * 24 * time.Hour),
			want: billing.CeilingReattempts30d, next: t0.Add(31 * 24 * time.Hour)},
		{name: "20 reattempts in 30 days: a first attempt is not a reattempt", log: declines(k, 21, 24*time.Hour), at: t0.Add(21 * 24 * time.Hour)},
		{name: "reattempts ceiling off", ceiling: billing.AttemptCeiling{Reattempts30d: -1}, log: declines(k, 21, 24*time.Hour), retry: true, at: t0.Add(21 * 24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hit, withheld := tt.ceiling.Check(tt.log, k, tt.retry, tt.at)
			assert.Equal(t, tt.want != "", withheld)
			assert.Equal(t, tt.want, hit.Reason)
			if tt.want != "" {
				assert.Equal(t, tt.next, hit.NextAllowedAt)
				assert.Contains(t, hit.String(), "the next attempt is allowed from")
			}
		})
	}
}

// TestPruneCardAttempts keeps what the windows need and no more than MaxCardAttempts.
func TestPruneCardAttempts(t *testing.T) {
	now := time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)
	log := []billing.CardAttempt{
		{At: now.Add(-31 * 24 * time.Hour), Retry: true}, // reattempt past 30 days: dropped
		{At: now.Add(-29 * 24 * time.Hour), Retry: true}, // kept
		{At: now.Add(-25 * time.Hour), Declined: true},   // first-attempt decline past 24 h: dropped
		{At: now.Add(-23 * time.Hour), Declined: true},   // kept
		{At: now.Add(-time.Hour)},                        // a paid first attempt counts for nothing: dropped
	}
	got := billing.PruneCardAttempts(log, now)
	assert.Equal(t, []billing.CardAttempt{log[1], log[3]}, got)
	var many []billing.CardAttempt
	for i := range billing.MaxCardAttempts + 5 {
		many = append(many, billing.CardAttempt{At: now.Add(-time.Duration(i) * time.Minute), Declined: true})
	}
	assert.Len(t, billing.PruneCardAttempts(many, now), billing.MaxCardAttempts)
	assert.Nil(t, billing.PruneCardAttempts(nil, now))
}
