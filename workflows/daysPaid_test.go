package workflows_test

import (
	"fmt"
	"sort"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// daysPaidTwice is the "no KST day is paid in two periods" invariant (README, calendar and money
// rules; issue 20 item 3), for any test and the sweep. It reads only what the workflow recorded
// in its state: every paid charge with the days it pays for (ChargeRecord.FirstDay..LastDay,
// written from versionNoDayTwice on), the credit taken off it and the payment that credit was
// drawn from, and the refunds. It returns one line per KST day that two charges both keep,
// empty when there is none.
//
// The days a charge keeps are worked out from the money, not from what the workflow says it
// meant: a charge worth V (its amount plus the credit taken off it) for N days, of which R was
// given back (refunds of its payment, credits drawn from it, a credit still owed from it),
// keeps its first N − k days, where k is the most days whose floor share floor(V × k ÷ N)
// R pays for (see daysGivenBack). A credit of 25,000 from a 31,000 month of 31 days gives back
// 25 days, not 26, so the 26th day from the end is still the old period's; if a new period pays
// for it too, it is reported. Money never returns more days than it pays for, so the check is
// never looser than the floor rule (on plans cheaper than 1 KRW a day it may be stricter).
//
// Charges recorded without days (runs before versionNoDayTwice, demo plans in seconds or
// minutes, whose periods are not whole days) are skipped: the check says nothing about them.
func daysPaidTwice(st billing.State) []string {
	if st.Plan.Interval.Unit.IsShort() {
		return nil
	}
	byImp := map[string]string{}
	var paid []billing.ChargeRecord
	for _, c := range st.Charges {
		if c.Outcome != billing.OutcomePaid || c.FirstDay.IsZero() {
			continue
		}
		paid = append(paid, c)
		byImp[c.ImpUID] = c.MerchantUID
	}
	returned := map[string]int64{}
	for _, f := range st.Refunds {
		if uid, ok := byImp[f.ImpUID]; ok {
			returned[uid] += f.Amount
		}
	}
	for _, c := range paid {
		if c.Credit > 0 && c.CreditFrom != "" {
			returned[c.CreditFrom] += c.Credit
		}
	}
	if st.Credit > 0 && st.CreditFrom != "" {
		returned[st.CreditFrom] += st.Credit
	}
	owner := map[calendar.Date]string{}
	var out []string
	for _, c := range paid {
		days := int64(calendar.DaysBetween(c.FirstDay, c.LastDay)) + 1
		if days <= 0 {
			out = append(out, fmt.Sprintf("%s pays for %s..%s, an empty period", c.MerchantUID, c.FirstDay, c.LastDay))
			continue
		}
		back := daysGivenBack(c.Amount+c.Credit, days, returned[c.MerchantUID])
		for d := c.FirstDay; int64(calendar.DaysBetween(c.FirstDay, d)) < days-back; d = d.AddDays(1) {
			if prev, ok := owner[d]; ok {
				out = append(out, fmt.Sprintf("%s is paid twice: by %s and by %s", d, prev, c.MerchantUID))
				continue
			}
			owner[d] = c.MerchantUID
		}
	}
	sort.Strings(out)
	return out
}

// daysGivenBack is the days of a period of n days worth worth KRW that back KRW given back
// pays for, counted strictly: the largest floor share floor(worth × k ÷ n) not above back, reached
// with the fewest days k (so 25,999 of a 31,000 month of 31 days is 25 days, and on a plan
// cheaper than 1 KRW a day, where several k share one floor, the smallest of them).
func daysGivenBack(worth, n, back int64) int64 {
	if back <= 0 || worth <= 0 {
		return 0
	}
	var best, bestShare int64
	for k := int64(1); k <= n; k++ {
		share, err := calendar.Prorate(worth, k, n)
		if err != nil || share > back {
			break
		}
		if share > bestShare {
			best, bestShare = k, share
		}
	}
	return best
}
