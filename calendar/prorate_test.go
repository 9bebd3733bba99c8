package calendar_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/calendar"
)

func TestProrate(t *testing.T) {
	tests := []struct {
		amount, part, whole, want int64
	}{
		{30000, 29, 30, 29000},
		{30000, 30, 30, 30000},
		{30000, 0, 30, 0},
		{0, 5, 30, 0},
		{10000, 1, 3, 3333},
		{10000, 2, 3, 6666}, // floor, not round: 6666.67 → 6666
		{9900, 18, 31, 5748},
		{9900, 13, 31, 4151},
		// The NaverPay scale: the 10 KRW minimum charge.
		{10, 1, 30, 0},
		{10, 3, 30, 1},
		{10, 15, 30, 5},
		{10, 29, 30, 9},
		{10, 30, 30, 10},
		{19, 29, 30, 18},
		// Large amounts and parts whose product overflows int64.
		{1_000_000_000_000, 9_999_999, 10_000_000, 999_999_900_000},
		{1_000_000_000_000, 1, 3, 333_333_333_333},
		{1_000_000_000_000, 2, 3, 666_666_666_666},
		{999_999_999_999, 3_333_333, 10_000_000, 333_333_299_999},
		{math.MaxInt64, 1, 2, math.MaxInt64 / 2},
		{math.MaxInt64, 9_999_999, 10_000_000, 9_223_371_114_517_572_121},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
	}
	for _, tc := range tests {
		got, err := calendar.Prorate(tc.amount, tc.part, tc.whole)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "Prorate(%d, %d, %d)", tc.amount, tc.part, tc.whole)
		assert.Equal(t, bigFloor(tc.amount, tc.part, tc.whole), got)
	}
}

func bigFloor(amount, part, whole int64) int64 {
	n := new(big.Int).Mul(big.NewInt(amount), big.NewInt(part))
	return n.Quo(n, big.NewInt(whole)).Int64() // Quo truncates; all operands are ≥ 0
}

func TestProrateMatchesBigIntAndNeverOvercharges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 20000; k++ {
		amount := rng.Int64N(1_000_000_000_001)
		whole := 1 + rng.Int64N(10_000_000)
		part := rng.Int64N(whole + 1)
		got, err := calendar.Prorate(amount, part, whole)
		require.NoError(t, err)
		require.Equal(t, bigFloor(amount, part, whole), got)
		// Charge for part and refund for the rest never exceed the amount
		// together, and each is within 1 won of the exact share.
		rest, err := calendar.Prorate(amount, whole-part, whole)
		require.NoError(t, err)
		require.LessOrEqual(t, got+rest, amount)
		require.GreaterOrEqual(t, got+rest, amount-1)
	}
}

func TestProrateErrors(t *testing.T) {
	tests := []struct {
		amount, part, whole int64
		msg                 string
	}{
		{-1, 1, 30, "calendar: prorate: negative amount -1"},
		{100, -1, 30, "calendar: prorate: negative part -1"},
		{100, 0, 0, "calendar: prorate: whole 0 must be positive"},
		{100, 0, -30, "calendar: prorate: whole -30 must be positive"},
		{100, 31, 30, "calendar: prorate: part 31 exceeds whole 30"},
	}
	for _, tc := range tests {
		_, err := calendar.Prorate(tc.amount, tc.part, tc.whole)
		assert.EqualError(t, err, tc.msg)
	}
}

func TestUsageAndUnusedRefund(t *testing.T) {
	r := monthly(t, 1, "2025-04-01", 1)
	p := r.Period(0) // Apr 1..Apr 30, 30 days, Apr 1 10:00 .. May 1 10:00 KST
	require.Equal(t, 30, p.Days())
	kst := func(mo time.Month, d, h, m, s int) time.Time {
		return time.Date(2025, mo, d, h, m, s, 0, calendar.Seoul)
	}
	tests := []struct {
		name   string
		at     time.Time
		used   int64
		refund int64 // of 30000
	}{
		{"before start", kst(4, 1, 9, 59, 59), 0, 30000},
		{"exactly at start: the first day counts as used", kst(4, 1, 10, 0, 0), 1, 29000},
		{"late on the first day", kst(4, 1, 23, 59, 59), 1, 29000},
		{"00:30 KST on day 2 (still Apr 1 in UTC)", time.Date(2025, 4, 1, 15, 30, 0, 0, time.UTC), 2, 28000},
		{"day 15", kst(4, 15, 12, 0, 0), 15, 15000},
		{"last day", kst(4, 30, 23, 59, 0), 30, 0},
		{"next day before the next charge", kst(5, 1, 9, 59, 59), 30, 0},
		{"at end", kst(5, 1, 10, 0, 0), 30, 0},
		{"long after", kst(9, 1, 0, 0, 0), 30, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			used, total := p.Usage(tc.at)
			assert.Equal(t, tc.used, used)
			assert.Equal(t, int64(30), total)
			assert.Equal(t, tc.refund, calendar.UnusedRefund(30000, p, tc.at))
		})
	}

	// Floor for refunds: 9,900 KRW, February (28 days), cancel on day 10 →
	// 18 unused days → 9900×18/28 = 6364.28 → 6364.
	feb := monthly(t, 1, "2025-01-31", 31).Period(1) // Feb 28..Mar 30 (31 days)
	require.Equal(t, 31, feb.Days())
	febShort := monthly(t, 1, "2025-02-01", 1).Period(0)
	require.Equal(t, 28, febShort.Days())
	assert.Equal(t, int64(6364), calendar.UnusedRefund(9900, febShort, time.Date(2025, 2, 10, 12, 0, 0, 0, calendar.Seoul)))
	// At the NaverPay scale the refund can round to 0.
	assert.Equal(t, int64(0), calendar.UnusedRefund(10, febShort, time.Date(2025, 2, 27, 12, 0, 0, 0, calendar.Seoul)))
	assert.Equal(t, int64(0), calendar.UnusedRefund(-100, febShort, time.Date(2025, 2, 10, 12, 0, 0, 0, calendar.Seoul)))
	// Large amount.
	assert.Equal(t, int64(900_000_000_000), calendar.UnusedRefund(1_000_000_000_000, monthly(t, 1, "2025-04-01", 1).Period(0), kst(4, 3, 11, 0, 0)))
	// Yearly in a leap year: 366 days.
	y := mustRec(t, calendar.Interval{Unit: calendar.Year, Count: 1}, "2024-01-01", 1).Period(0)
	require.Equal(t, 366, y.Days())
	assert.Equal(t, int64(99_726), calendar.UnusedRefund(100_000, y, time.Date(2024, 1, 1, 10, 0, 0, 0, calendar.Seoul)))
}

// UnusedFrom gives back the day of at itself, which the period starting then pays for: with
// UnusedRefund (the day kept as used) the two would both count it.
func TestUnusedFromGivesBackTheDayOfAt(t *testing.T) {
	p := monthly(t, 1, "2025-01-10", 10).Period(0) // Jan 10..Feb 9, 31 days
	require.Equal(t, 31, p.Days())
	kst := func(mo time.Month, d, h int) time.Time { return time.Date(2025, mo, d, h, 0, 0, 0, calendar.Seoul) }
	tests := []struct {
		name string
		at   time.Time
		want int64 // of 31,000
	}{
		{"before start", kst(1, 10, 9), 31000},
		{"on the first day: all of it", kst(1, 10, 12), 31000},
		{"Jan 15: Jan 15..Feb 9, 26 days", kst(1, 15, 12), 26000},
		{"last day", kst(2, 9, 23), 1000},
		{"next charge date before its time", kst(2, 10, 9), 0},
		{"at end", kst(2, 10, 10), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, calendar.UnusedFrom(31000, p, tc.at))
			// Used days plus given-back days are the period, never more.
			used, total := p.Usage(tc.at)
			if tc.at.After(p.Start) && tc.at.Before(p.End) {
				assert.LessOrEqual(t, calendar.UnusedFrom(31000, p, tc.at)/1000+used-1, total)
			}
		})
	}
	assert.Equal(t, int64(25000), calendar.UnusedRefund(31000, p, kst(1, 15, 12)), "a cancel keeps the day")
	// Short units: the started second is given back too.
	s, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 10}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	sp := s.Period(0)
	assert.Equal(t, int64(700), calendar.UnusedFrom(1000, sp, sp.Start.Add(3500*time.Millisecond)))
}

func TestUsageShortUnits(t *testing.T) {
	origin := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 30}, origin)
	require.NoError(t, err)
	p := r.Period(2) // [60s, 90s)
	tests := []struct {
		at   time.Duration
		used int64
	}{
		{59*time.Second + 999*time.Millisecond, 0},
		{60 * time.Second, 1},
		{70*time.Second + 500*time.Millisecond, 11},
		{90*time.Second - time.Nanosecond, 30},
		{90 * time.Second, 30},
	}
	for _, tc := range tests {
		used, total := p.Usage(origin.Add(tc.at))
		assert.Equal(t, tc.used, used, "at +%s", tc.at)
		assert.Equal(t, int64(30), total)
	}
	assert.Equal(t, int64(600), calendar.UnusedRefund(1000, p, origin.Add(71*time.Second)), "12 of 30 seconds used")
	m, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Minute, Count: 2}, origin)
	require.NoError(t, err)
	_, total := m.Period(0).Usage(origin)
	assert.Equal(t, int64(120), total)
}

func TestStubCharge(t *testing.T) {
	// Sign-up 2025-02-10 on a monthly plan paid on the 28th: stub Feb 10..27
	// (18 days) over the regular period Jan 28..Feb 27 (31 days).
	signUp := D(t, "2025-02-10")
	start := calendar.FirstAnchorDate(signUp, 28)
	require.Equal(t, "2025-02-28", start.String())
	r := monthly(t, 1, start.String(), 28)
	full := r.Period(-1)
	assert.Equal(t, "2025-01-28", full.FirstDay.String())
	assert.Equal(t, "2025-02-27", full.LastDay.String())
	assert.Equal(t, 31, full.Days())
	got, err := calendar.StubCharge(31000, signUp, start, full)
	require.NoError(t, err)
	assert.Equal(t, int64(18000), got)
	got, err = r.FirstStubCharge(10000, signUp)
	require.NoError(t, err)
	assert.Equal(t, int64(5806), got, "10000×18/31 = 5806.45 → 5806")

	tests := []struct {
		name   string
		iv     calendar.Interval
		signUp string
		anchor int
		amount int64
		want   int64
	}{
		// Anchor 31 from Feb 10: first charge Feb 28, regular period Jan 31..Feb 27 (28 days).
		{"anchor 31 in February", calendar.Interval{Unit: calendar.Month, Count: 1}, "2025-02-10", 31, 28000, 18000},
		// Anchor 31 from Mar 1: first charge Mar 31, regular period Feb 28..Mar 30 (31 days), stub 30 days.
		{"anchor 31 from Mar 1", calendar.Interval{Unit: calendar.Month, Count: 1}, "2025-03-01", 31, 31000, 30000},
		// Sign-up on the anchor date: no stub.
		{"sign-up on anchor", calendar.Interval{Unit: calendar.Month, Count: 1}, "2025-03-31", 31, 31000, 0},
		// Across a year end: anchor 5 from Dec 20 → Jan 5, regular period Dec 5..Jan 4 (31 days), 16 days.
		{"across year end", calendar.Interval{Unit: calendar.Month, Count: 1}, "2025-12-20", 5, 9900, 5109},
		// Yearly on Mar 1 from 2024-12-01: regular period 2024-03-01..2025-02-28 (365 days), 90 days.
		{"yearly", calendar.Interval{Unit: calendar.Year, Count: 1}, "2024-12-01", 1, 120000, 29589},
		// Quarterly on the 1st from Feb 15: regular period Dec 1..Feb 28 (90 days), 14 days.
		{"quarterly", calendar.Interval{Unit: calendar.Month, Count: 3}, "2025-02-15", 1, 90000, 14000},
		// NaverPay scale.
		{"10 KRW", calendar.Interval{Unit: calendar.Month, Count: 1}, "2025-02-25", 28, 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := D(t, tc.signUp)
			var start calendar.Date
			if tc.iv.Unit == calendar.Year {
				start = calendar.Date{Year: from.Year + 1, Month: time.March, Day: tc.anchor}
			} else {
				start = calendar.FirstAnchorDate(from, tc.anchor)
			}
			r, err := calendar.NewRecurrence(tc.iv, start, tc.anchor, calendar.DefaultChargeTime)
			require.NoError(t, err)
			got, err := r.FirstStubCharge(tc.amount, from)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	// Weekly: the regular period before the start is the previous week.
	w := mustRec(t, calendar.Interval{Unit: calendar.Week, Count: 1}, "2025-03-10", 0)
	got, err = w.FirstStubCharge(7000, D(t, "2025-03-07"))
	require.NoError(t, err)
	assert.Equal(t, int64(3000), got)

	// Errors name the bad values.
	_, err = calendar.StubCharge(1000, D(t, "2025-02-28"), D(t, "2025-02-10"), full)
	require.EqualError(t, err, "calendar: stub end 2025-02-10 is before its start 2025-02-28")
	_, err = calendar.StubCharge(1000, D(t, "2025-01-01"), D(t, "2025-02-28"), full)
	require.EqualError(t, err, "calendar: stub [2025-01-01, 2025-02-28) of 58 days is longer than the full period 2025-01-28..2025-02-27 of 31 days")
	_, err = calendar.StubCharge(1000, calendar.Date{}, D(t, "2025-02-28"), full)
	require.EqualError(t, err, "calendar: stub [0000-00-00, 2025-02-28) has an invalid date")
	_, err = calendar.StubCharge(-1, signUp, start, full)
	require.EqualError(t, err, "calendar: prorate: negative amount -1")
	_, err = r.FirstStubCharge(1000, D(t, "2024-12-01"))
	require.ErrorContains(t, err, "longer than the full period")
	s, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 10}, time.Unix(0, 0))
	require.NoError(t, err)
	_, err = s.FirstStubCharge(1000, D(t, "2025-01-01"))
	require.EqualError(t, err, `calendar: stub proration needs a calendar unit, got "second"`)
	_, err = calendar.StubCharge(1000, D(t, "2025-01-01"), D(t, "2025-01-01"), s.Period(0))
	require.EqualError(t, err, `calendar: stub proration needs a calendar period, got unit "second"`)
}
