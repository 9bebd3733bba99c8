package rulebook

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// KeptPayments sums, per cycle, the paid charges less their refunds: what the customer paid in
// the end.
func (r Result) KeptPayments() map[int]int64 {
	out := map[int]int64{}
	for _, c := range r.Charges {
		if c.Outcome == OutcomePaid {
			out[c.Cycle] += c.Amount
		}
	}
	for _, f := range r.Refunds {
		out[f.Cycle] -= f.Amount
	}
	return out
}

// Summary is a stable text form of a result for comparisons and failure messages. Instants are
// given to the minute: a charge whose first answer was lost is retried by the activity a few
// seconds later, which the rules do not fix.
func (r Result) Summary() []string {
	var out []string
	for _, c := range r.Charges {
		out = append(out, fmt.Sprintf("charge %s c%da%d %s %d tf%d cfm%s %s", c.At.In(KST).Format("2006-01-02 15:04"),
			c.Cycle, c.Attempt, c.Customer, c.Amount, c.TaxFree, c.NaverUseCfm, c.Outcome))
	}
	// Refunds made at one instant from two payments (a credited period's) in cycle order.
	refunds := slices.Clone(r.Refunds)
	sort.SliceStable(refunds, func(a, b int) bool {
		if x, y := refunds[a].At.Truncate(time.Minute), refunds[b].At.Truncate(time.Minute); !x.Equal(y) {
			return x.Before(y)
		}
		return refunds[a].Cycle < refunds[b].Cycle
	})
	for _, f := range refunds {
		out = append(out, fmt.Sprintf("refund %s c%d %d tf%d", f.At.In(KST).Format("2006-01-02 15:04"), f.Cycle, f.Amount, f.TaxFree))
	}
	refused := slices.Clone(r.Refused)
	sort.Ints(refused)
	out = append(out, fmt.Sprintf("status %s refused %v", r.Status, refused))
	return out
}
