package workflows_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/internal/rulebook"
)

// The invariant "no KST day is paid in two periods" (README: resume never bills a day twice).
//
// Money is turned back into days by the README's rounding rule: n days of a period cost
// floor(price × n ÷ days of the full period), so what a cycle kept pays for the most days, from
// its first, that cost no more than it. What a cycle kept is what PortOne kept of its charge
// (paid less refunds), plus the credit it received, less the credit it gave: the rules record
// each credit taken off a charge and each credit a cycle gives back for its unused days
// (rulebook.CyclePeriod). Two cycles whose days meet paid a day twice.

// The one known violation, a resume with "restart" that billed the restart day in both the
// paused and the new cycle (issue 20 item 3), was only reported while it was open
// (reportRestartDoubleDayOnly); it is fixed, and every timeline must hold the invariant.

// keptPayment is what one cycle kept in the end, with the period it was billed for.
type keptPayment struct {
	Period rulebook.CyclePeriod
	Value  int64
}

// daysBought is the most days of a period, from its first, whose price is no more than value.
func daysBought(value int64, p rulebook.CyclePeriod) int {
	days := rulebook.DaysFrom(p.First, p.Last) + 1
	n := 0
	for n < min(p.FullDays, days) && p.Price*int64(n+1)/int64(p.FullDays) <= value {
		n++
	}
	return n
}

// doublePaidDay returns a day two cycles pay for, and the two cycles.
func doublePaidDay(payments []keptPayment) (day rulebook.Date, first, second int, found bool) {
	paidBy := map[rulebook.Date]int{}
	for _, k := range payments {
		for i := range daysBought(k.Value, k.Period) {
			d := k.Period.First.AddDays(i)
			if c, ok := paidBy[d]; ok {
				return d, c, k.Period.Cycle, true
			}
			paidBy[d] = k.Period.Cycle
		}
	}
	return rulebook.Date{}, 0, 0, false
}

// noDayPaidTwice checks the invariant on what PortOne kept (got, read from its ledger and the
// state's charge records) with the periods the rules billed: a cycle is worth what it kept plus
// the credit the rules took off its charge, less the credit it gave back for its unused days
// (taken off later charges or still waiting: either way those days are no longer its own).
func noDayPaidTwice(got rulebook.Result, periods map[int]rulebook.CyclePeriod) string {
	value := map[int]int64{}
	counted := map[int]bool{}
	for _, c := range got.Charges {
		if c.Outcome != rulebook.OutcomePaid {
			continue
		}
		if _, ok := periods[c.Cycle]; !ok {
			return fmt.Sprintf("no KST day paid twice: cycle %d was paid but the rules bill no period for it", c.Cycle)
		}
		value[c.Cycle] += c.Amount
		counted[c.Cycle] = true
	}
	for _, p := range periods {
		if p.Credit > 0 {
			value[p.Cycle] += p.Credit
			counted[p.Cycle] = true
		}
		value[p.Cycle] -= p.CreditGiven
	}
	for _, f := range got.Refunds {
		value[f.Cycle] -= f.Amount
	}
	var cycles []int
	for c := range counted {
		cycles = append(cycles, c)
	}
	slices.Sort(cycles)
	var payments []keptPayment
	for _, c := range cycles {
		payments = append(payments, keptPayment{Period: periods[c], Value: value[c]})
	}
	if day, a, b, found := doublePaidDay(payments); found {
		return fmt.Sprintf("no KST day paid twice: %s is paid by cycle %d and cycle %d (kept %v)", day, a, b, got.KeptPayments())
	}
	return ""
}

// TestNoDayPaidTwiceChecker feeds the checker crafted ledgers: issue 20 item 3's restart (31,000
// from Jan 10, paused, restarted on Jan 15 and charged 6,000: Jan 15 is paid twice), the same
// restart with the restart day credited (5,000), a pro-rata refund that keeps the new cycle's
// first day, a stub and its first full cycle, and a restart into a shorter month.
func TestNoDayPaidTwiceChecker(t *testing.T) {
	d := func(m, day int) rulebook.Date { return rulebook.Date{Year: 2025, Month: time.Month(m), Day: day} }
	paid := func(cycle int, amount int64) rulebook.Charge {
		return rulebook.Charge{Cycle: cycle, Attempt: 1, Amount: amount, Outcome: rulebook.OutcomePaid}
	}
	jan10 := rulebook.CyclePeriod{Cycle: 1, First: d(1, 10), Last: d(2, 9), Price: 31000, FullDays: 31}
	jan15 := rulebook.CyclePeriod{Cycle: 2, First: d(1, 15), Last: d(2, 14), Price: 31000, FullDays: 31}
	credited := func(credit int64) map[int]rulebook.CyclePeriod {
		p, from := jan15, jan10
		p.Credit, p.CreditFrom, from.CreditGiven = credit, 1, credit
		return map[int]rulebook.CyclePeriod{1: from, 2: p}
	}
	restarted := map[int]rulebook.CyclePeriod{1: jan10, 2: jan15}
	for _, tc := range []struct {
		name    string
		got     rulebook.Result
		periods map[int]rulebook.CyclePeriod
		twice   string // the day paid twice, "" for none
	}{
		{"restart bills the restart day twice", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000), paid(2, 6000)}}, credited(25000), "2025-01-15"},
		{"restart credits the restart day", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000), paid(2, 5000)}}, credited(26000), ""},
		{"a period paid by credit alone is counted", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000)}}, credited(20000), "2025-01-15"},
		{"a refund that keeps the new cycle's first day", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000), paid(2, 31000)},
			Refunds: []rulebook.Refund{{Cycle: 1, Amount: 25000}}}, restarted, "2025-01-15"},
		{"a refund that gives it back", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000), paid(2, 31000)},
			Refunds: []rulebook.Refund{{Cycle: 1, Amount: 26000}}}, restarted, ""},
		{"a stub then the anchor", rulebook.Result{Charges: []rulebook.Charge{paid(1, 18000), paid(2, 31000)}}, map[int]rulebook.CyclePeriod{
			1: {Cycle: 1, First: d(2, 10), Last: d(2, 27), Price: 31000, FullDays: 31},
			2: {Cycle: 2, First: d(2, 28), Last: d(3, 27), Price: 31000, FullDays: 28}}, ""},
		{"restart into a shorter month, restart day credited", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000), paid(2, 31000-15000)}},
			map[int]rulebook.CyclePeriod{ // Jan 15..Feb 14 restarted on Jan 31: Jan 31..Feb 14 credited, 15,000
				1: {Cycle: 1, First: d(1, 15), Last: d(2, 14), Price: 31000, FullDays: 31, CreditGiven: 15000},
				2: {Cycle: 2, First: d(1, 31), Last: d(2, 27), Price: 31000, FullDays: 28, Credit: 15000, CreditFrom: 1}}, ""},
		{"the credit it gave back counts, applied or not", rulebook.Result{Charges: []rulebook.Charge{paid(1, 31000), paid(2, 21000)}},
			map[int]rulebook.CyclePeriod{1: {Cycle: 1, First: d(1, 10), Last: d(2, 9), Price: 31000, FullDays: 31, CreditGiven: 26000},
				2: {Cycle: 2, First: d(1, 15), Last: d(2, 14), Price: 31000, FullDays: 31, Credit: 10000, CreditFrom: 1}}, ""},
		{"a paid cycle the rules never billed", rulebook.Result{Charges: []rulebook.Charge{paid(3, 31000)}}, restarted, "no period"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problem := noDayPaidTwice(tc.got, tc.periods)
			switch {
			case tc.twice == "" && problem != "":
				t.Fatalf("no day is paid twice, the checker says %q", problem)
			case tc.twice != "" && !strings.Contains(problem, tc.twice):
				t.Fatalf("the checker says %q, want a problem naming %s", problem, tc.twice)
			}
		})
	}
}

// creditAboveWorth reports a cycle that gave back, as credit for its unused days, more than it
// was worth (its paid charges plus the credit taken off them): money the customer never paid.
// Refunds are left out, as a cancel's refund of a credited period is drawn partly from the
// payment its credit came from.
func creditAboveWorth(got rulebook.Result, periods map[int]rulebook.CyclePeriod) string {
	worth := map[int]int64{}
	for _, c := range got.Charges {
		if c.Outcome == rulebook.OutcomePaid {
			worth[c.Cycle] += c.Amount
		}
	}
	var cycles []int
	for c := range periods {
		cycles = append(cycles, c)
	}
	slices.Sort(cycles)
	for _, c := range cycles {
		p := periods[c]
		if w := worth[c] + p.Credit; p.CreditGiven > w {
			return fmt.Sprintf("cycle %d gave back %d KRW of credit for its unused days, more than it was worth (%d)", c, p.CreditGiven, w)
		}
	}
	return ""
}
