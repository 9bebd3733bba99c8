package calendar_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/calendar"
)

func monthly(t testing.TB, count int, start string, anchor int) calendar.Recurrence {
	t.Helper()
	return mustRec(t, calendar.Interval{Unit: calendar.Month, Count: count}, start, anchor)
}

func mustRec(t testing.TB, iv calendar.Interval, start string, anchor int) calendar.Recurrence {
	t.Helper()
	r, err := calendar.NewRecurrence(iv, D(t, start), anchor, calendar.DefaultChargeTime)
	require.NoError(t, err)
	return r
}

// assertDates checks ChargeDate(i) == want[i] and that the service periods
// built from them are contiguous and end on the day before the next charge.
func assertDates(t *testing.T, r calendar.Recurrence, want []string) {
	t.Helper()
	for i, w := range want {
		got := r.ChargeDate(i)
		require.Equal(t, w, got.String(), "ChargeDate(%d)", i)
		at := r.ChargeAt(i)
		require.Equal(t, got, calendar.DateOf(at), "DateOf(ChargeAt(%d))", i)
		require.Equal(t, calendar.TimeOfDay{Hour: 10}, calendar.TimeOfDay{Hour: at.Hour(), Minute: at.Minute()})
		require.Equal(t, 1, at.UTC().Hour(), "charges are at 01:00 UTC")
		if i+1 < len(want) {
			p := r.Period(i)
			require.Equal(t, i, p.Index)
			require.Equal(t, w, p.FirstDay.String())
			require.Equal(t, D(t, want[i+1]).AddDays(-1), p.LastDay, "LastDay of period %d", i)
			require.Equal(t, strings.ReplaceAll(p.LastDay.String(), "-", ""), calendar.NaverUseCfm(p))
			require.True(t, p.Start.Equal(at))
			require.True(t, p.End.Equal(r.ChargeAt(i+1)))
		}
	}
}

func TestMonthlyFromJan31NeverDrifts(t *testing.T) {
	r := monthly(t, 1, "2025-01-31", 31)
	assertDates(t, r, []string{
		"2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30",
		"2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30", "2025-12-31",
		"2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
		"2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31",
		"2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30",
		"2027-07-31", "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31",
		"2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30",
	})
}

func TestMonthlyServicePeriodsMatchLagoFixedRule(t *testing.T) {
	// lago-api#1567 fixed rule: 2023-01-31..02-27, then 02-28..03-30.
	r := monthly(t, 1, "2023-01-31", 31)
	p0, p1, p2 := r.Period(0), r.Period(1), r.Period(2)
	assert.Equal(t, "2023-01-31", p0.FirstDay.String())
	assert.Equal(t, "2023-02-27", p0.LastDay.String())
	assert.Equal(t, "20230227", calendar.NaverUseCfm(p0))
	assert.Equal(t, 28, p0.Days())
	assert.Equal(t, "2023-02-28", p1.FirstDay.String())
	assert.Equal(t, "2023-03-30", p1.LastDay.String())
	assert.Equal(t, "20230330", calendar.NaverUseCfm(p1))
	assert.Equal(t, 31, p1.Days())
	assert.Equal(t, "2023-03-31", p2.FirstDay.String())
	assert.Equal(t, "2023-04-29", p2.LastDay.String())

	// In a leap year the short period ends on Feb 28 and Feb 29 opens the next.
	r = monthly(t, 1, "2028-01-31", 31)
	assert.Equal(t, "2028-02-28", r.Period(0).LastDay.String())
	assert.Equal(t, 29, r.Period(0).Days())
	assert.Equal(t, "2028-02-29", r.Period(1).FirstDay.String())
	assert.Equal(t, "2028-03-30", r.Period(1).LastDay.String())
}

func TestMonthlyFrom29thAnd30th(t *testing.T) {
	tests := []struct {
		name   string
		start  string
		anchor int
		want   []string
	}{
		{"29th common year", "2027-01-29", 29, []string{"2027-01-29", "2027-02-28", "2027-03-29", "2027-04-29"}},
		{"29th leap year", "2028-01-29", 29, []string{"2028-01-29", "2028-02-29", "2028-03-29"}},
		{"29th across leap boundary", "2027-12-29", 29, []string{"2027-12-29", "2028-01-29", "2028-02-29", "2028-03-29"}},
		{"30th common year", "2025-01-30", 30, []string{"2025-01-30", "2025-02-28", "2025-03-30", "2025-04-30", "2025-05-30"}},
		{"30th leap year", "2024-01-30", 30, []string{"2024-01-30", "2024-02-29", "2024-03-30"}},
		{"anchor 31 starting on a clamped Feb 28", "2025-02-28", 31, []string{"2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"}},
		{"anchor 30 starting on Apr 30", "2025-04-30", 30, []string{"2025-04-30", "2025-05-30", "2025-06-30"}},
		{"anchor 31 starting on Apr 30", "2025-04-30", 31, []string{"2025-04-30", "2025-05-31", "2025-06-30", "2025-07-31"}},
		{"anchor 1", "2025-12-01", 1, []string{"2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertDates(t, monthly(t, 1, tc.start, tc.anchor), tc.want)
		})
	}
}

func TestMonthMultiples(t *testing.T) {
	tests := []struct {
		name   string
		count  int
		start  string
		anchor int
		want   []string
	}{
		{"every 2 months from Dec 31", 2, "2024-12-31", 31, []string{"2024-12-31", "2025-02-28", "2025-04-30", "2025-06-30", "2025-08-31", "2025-10-31", "2025-12-31", "2026-02-28"}},
		{"every 3 months from Nov 30", 3, "2025-11-30", 30, []string{"2025-11-30", "2026-02-28", "2026-05-30", "2026-08-30", "2026-11-30", "2027-02-28", "2027-05-30", "2027-08-30", "2027-11-30", "2028-02-29"}},
		{"every 3 months from Jan 31", 3, "2025-01-31", 31, []string{"2025-01-31", "2025-04-30", "2025-07-31", "2025-10-31", "2026-01-31"}},
		{"every 6 months from Aug 31", 6, "2023-08-31", 31, []string{"2023-08-31", "2024-02-29", "2024-08-31", "2025-02-28", "2025-08-31"}},
		{"every 12 months from Feb 29", 12, "2024-02-29", 29, []string{"2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertDates(t, monthly(t, tc.count, tc.start, tc.anchor), tc.want)
		})
	}
}

// TestMonthlyMatchesOracleOverManyYears compares every monthly schedule that
// starts in 2023..2030 (every start day, every consistent anchor) with an
// independent oracle built on the time package.
func TestMonthlyMatchesOracleOverManyYears(t *testing.T) {
	lastDay := func(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }
	for y := 2023; y <= 2030; y++ {
		for m := time.January; m <= time.December; m++ {
			for anchor := 1; anchor <= 31; anchor++ {
				start := calendar.Date{Year: y, Month: m, Day: min(anchor, lastDay(y, m))}
				for _, count := range []int{1, 2, 3, 6, 12} {
					r, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: count}, start, anchor, calendar.DefaultChargeTime)
					require.NoError(t, err)
					for i := 0; i < 60; i++ {
						first := time.Date(y, m+time.Month(i*count), 1, 0, 0, 0, 0, time.UTC)
						want := calendar.Date{Year: first.Year(), Month: first.Month(), Day: min(anchor, lastDay(first.Year(), first.Month()))}
						if got := r.ChargeDate(i); got != want {
							t.Fatalf("start %s anchor %d every %d: ChargeDate(%d) = %s, want %s", start, anchor, count, i, got, want)
						}
					}
				}
			}
		}
	}
}

func TestYearlyFromFeb29(t *testing.T) {
	iv := calendar.Interval{Unit: calendar.Year, Count: 1}
	assertDates(t, mustRec(t, iv, "2024-02-29", 29), []string{"2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"})
	r := mustRec(t, iv, "2024-02-29", 29)
	assert.Equal(t, "2032-02-29", r.ChargeDate(8).String())
	assert.Equal(t, "2100-02-28", r.ChargeDate(76).String(), "2100 is not a leap year")
	assert.Equal(t, "2400-02-29", r.ChargeDate(376).String())
	assert.Equal(t, "2025-02-27", r.Period(0).LastDay.String())
	assert.Equal(t, 365, r.Period(0).Days())
	assert.Equal(t, 366, r.Period(3).Days(), "2027-02-28..2028-02-28")

	// A yearly plan started on Feb 28 of a common year with anchor 29.
	assertDates(t, mustRec(t, iv, "2025-02-28", 29), []string{"2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"})
	// Every 2 years.
	assertDates(t, mustRec(t, calendar.Interval{Unit: calendar.Year, Count: 2}, "2024-02-29", 29), []string{"2024-02-29", "2026-02-28", "2028-02-29", "2030-02-28"})
	// Other month ends.
	assertDates(t, mustRec(t, iv, "2025-12-31", 31), []string{"2025-12-31", "2026-12-31", "2027-12-31"})
}

func TestWeeksAndDays(t *testing.T) {
	tests := []struct {
		name string
		iv   calendar.Interval
		want []string
	}{
		{"weekly across year end", calendar.Interval{Unit: calendar.Week, Count: 1}, []string{"2025-12-17", "2025-12-24", "2025-12-31", "2026-01-07", "2026-01-14"}},
		{"weekly across leap Feb", calendar.Interval{Unit: calendar.Week, Count: 1}, []string{"2024-02-26", "2024-03-04", "2024-03-11"}},
		{"weekly across common Feb", calendar.Interval{Unit: calendar.Week, Count: 1}, []string{"2025-02-26", "2025-03-05", "2025-03-12"}},
		{"every 2 weeks", calendar.Interval{Unit: calendar.Week, Count: 2}, []string{"2025-12-22", "2026-01-05", "2026-01-19", "2026-02-02"}},
		{"every 4 weeks", calendar.Interval{Unit: calendar.Week, Count: 4}, []string{"2025-01-31", "2025-02-28", "2025-03-28", "2025-04-25"}},
		{"every 28 days from Jan 31", calendar.Interval{Unit: calendar.Day, Count: 28}, []string{"2025-01-31", "2025-02-28", "2025-03-28", "2025-04-25", "2025-05-23", "2025-06-20"}},
		{"every 28 days across year end", calendar.Interval{Unit: calendar.Day, Count: 28}, []string{"2024-12-20", "2025-01-17", "2025-02-14", "2025-03-14", "2025-04-11"}},
		{"every 28 days across leap day", calendar.Interval{Unit: calendar.Day, Count: 28}, []string{"2024-02-10", "2024-03-09", "2024-04-06"}},
		{"daily across leap day", calendar.Interval{Unit: calendar.Day, Count: 1}, []string{"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"}},
		{"every 30 days", calendar.Interval{Unit: calendar.Day, Count: 30}, []string{"2025-12-15", "2026-01-14", "2026-02-13", "2026-03-15"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertDates(t, mustRec(t, tc.iv, tc.want[0], 0), tc.want)
		})
	}
	// anchorDay == start.Day is accepted and normalized away for day units.
	r, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Week, Count: 1}, D(t, "2025-01-15"), 15, calendar.DefaultChargeTime)
	require.NoError(t, err)
	assert.Equal(t, 0, r.AnchorDay)
	assert.Equal(t, 7, r.Period(0).Days())
}

func TestShortUnits(t *testing.T) {
	// 23:59:30 KST: the periods cross KST midnight.
	origin := time.Date(2025, 2, 28, 23, 59, 30, 500, calendar.Seoul)
	r, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 30}, origin)
	require.NoError(t, err)
	assert.Equal(t, time.UTC, r.Origin.Location())
	for i := 0; i < 10; i++ {
		assert.True(t, r.ChargeAt(i).Equal(origin.Add(time.Duration(i)*30*time.Second)), "ChargeAt(%d)", i)
	}
	p0 := r.Period(0) // 23:59:30.0000005 .. 00:00:00.0000005 KST
	assert.Equal(t, "2025-02-28", p0.FirstDay.String())
	assert.Equal(t, "2025-02-28", p0.LastDay.String(), "End-1s is 23:59:59.0000005 KST")
	assert.Equal(t, "20250228", calendar.NaverUseCfm(p0))
	assert.Equal(t, "2025-03-01", r.ChargeDate(1).String())
	assert.Equal(t, "2025-03-01", r.Period(1).FirstDay.String())
	p := r.Period(3)
	assert.Equal(t, 3, p.Index)
	assert.Equal(t, "2025-03-01", p.FirstDay.String())
	assert.Equal(t, "2025-03-01", p.LastDay.String())

	m, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Minute, Count: 2}, origin)
	require.NoError(t, err)
	assert.True(t, m.ChargeAt(5).Equal(origin.Add(10*time.Minute)))
	mp := m.Period(0) // 23:59:30 Feb 28 .. 00:01:30 Mar 1 KST
	assert.Equal(t, "2025-02-28", mp.FirstDay.String())
	assert.Equal(t, "2025-03-01", mp.LastDay.String())
	assert.Equal(t, "20250301", calendar.NaverUseCfm(mp))
	assert.Equal(t, 5, m.IndexAt(origin.Add(10*time.Minute)))
	assert.Equal(t, 4, m.IndexAt(origin.Add(10*time.Minute-time.Nanosecond)))
	assert.Equal(t, 6, m.NextIndexAfter(origin.Add(10*time.Minute)))
	assert.Equal(t, -1, m.IndexAt(origin.Add(-time.Nanosecond)))
	assert.Equal(t, 0, m.NextIndexAfter(origin.Add(-time.Hour)))
	// Far in the future: ~1000 years of two-minute periods.
	far := m.ChargeAt(262_800_000)
	assert.Equal(t, 262_800_000, m.IndexAt(far))
	assert.Equal(t, 262_799_999, m.IndexAt(far.Add(-time.Nanosecond)))
}

func TestKSTChargeInstants(t *testing.T) {
	// A sign-up at 2025-03-01 00:30 KST is a customer of the 1st.
	signUp := time.Date(2025, 2, 28, 15, 30, 0, 0, time.UTC)
	day := calendar.DateOf(signUp)
	require.Equal(t, "2025-03-01", day.String())
	r, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, day, day.Day, calendar.DefaultChargeTime)
	require.NoError(t, err)
	assert.Equal(t, 1, r.AnchorDay)
	assert.True(t, r.ChargeAt(0).Equal(time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC)))
	assert.True(t, r.ChargeAt(1).Equal(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC)))
	assert.True(t, r.ChargeAt(12).Equal(time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)))
	assert.Equal(t, "20250331", calendar.NaverUseCfm(r.Period(0)))

	// The sign-up instant (00:30 KST) is before the 10:00 charge of that day.
	assert.Equal(t, -1, r.IndexAt(signUp))
	assert.Equal(t, 0, r.NextIndexAfter(signUp))
	// 23:59 KST on the last day of period 0 is still period 0; 09:59 KST on
	// the charge day too; 10:00 KST opens period 1.
	assert.Equal(t, 0, r.IndexAt(time.Date(2025, 3, 31, 23, 59, 0, 0, calendar.Seoul)))
	assert.Equal(t, 0, r.IndexAt(time.Date(2025, 4, 1, 9, 59, 59, 0, calendar.Seoul)))
	assert.Equal(t, 1, r.IndexAt(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC)))

	// Charge time other than the default, near midnight.
	late, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, D(t, "2025-01-31"), 31, calendar.TimeOfDay{Hour: 23, Minute: 59})
	require.NoError(t, err)
	at := late.ChargeAt(1)
	assert.True(t, at.Equal(time.Date(2025, 2, 28, 14, 59, 0, 0, time.UTC)))
	assert.Equal(t, "2025-02-28", calendar.DateOf(at).String())
	early, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, D(t, "2025-01-31"), 31, calendar.TimeOfDay{Hour: 0, Minute: 30})
	require.NoError(t, err)
	at = early.ChargeAt(1)
	assert.True(t, at.Equal(time.Date(2025, 2, 27, 15, 30, 0, 0, time.UTC)), "00:30 KST on Feb 28 is Feb 27 in UTC")
	assert.Equal(t, "2025-02-28", calendar.DateOf(at).String())
}

func TestIndexAtBoundaries(t *testing.T) {
	recs := map[string]calendar.Recurrence{
		"monthly 31":     monthly(t, 1, "2025-01-31", 31),
		"monthly 30 x3":  monthly(t, 3, "2025-11-30", 30),
		"yearly feb 29":  mustRec(t, calendar.Interval{Unit: calendar.Year, Count: 1}, "2024-02-29", 29),
		"weekly":         mustRec(t, calendar.Interval{Unit: calendar.Week, Count: 1}, "2025-12-31", 0),
		"every 28 days":  mustRec(t, calendar.Interval{Unit: calendar.Day, Count: 28}, "2025-01-31", 0),
		"daily":          mustRec(t, calendar.Interval{Unit: calendar.Day, Count: 1}, "2024-02-27", 0),
		"every 120 year": mustRec(t, calendar.Interval{Unit: calendar.Year, Count: 120}, "2024-02-29", 29),
	}
	short, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 7}, time.Date(2025, 1, 1, 0, 0, 0, 123, time.UTC))
	require.NoError(t, err)
	recs["short 7s"] = short
	for name, r := range recs {
		t.Run(name, func(t *testing.T) {
			start := r.ChargeAt(0)
			assert.Equal(t, -1, r.IndexAt(start.Add(-time.Nanosecond)))
			assert.Equal(t, -1, r.IndexAt(start.AddDate(-5, 0, 0)))
			assert.Equal(t, 0, r.NextIndexAfter(start.Add(-time.Nanosecond)))
			for _, i := range []int{0, 1, 2, 3, 11, 12, 13, 47, 48, 100, 1000} {
				at := r.ChargeAt(i)
				assert.Equal(t, i, r.IndexAt(at), "at ChargeAt(%d)", i)
				assert.Equal(t, i-1, r.IndexAt(at.Add(-time.Nanosecond)), "just before ChargeAt(%d)", i)
				assert.Equal(t, i, r.IndexAt(at.Add(time.Nanosecond)), "just after ChargeAt(%d)", i)
				assert.Equal(t, i+1, r.NextIndexAfter(at), "NextIndexAfter(ChargeAt(%d))", i)
				assert.Equal(t, i, r.NextIndexAfter(at.Add(-time.Nanosecond)))
				assert.Equal(t, i+1, r.NextIndexAfter(at.Add(time.Nanosecond)))
				// The same instant seen in another location.
				assert.Equal(t, i, r.IndexAt(at.UTC()))
			}
		})
	}
}

func TestFirstAnchorDate(t *testing.T) {
	tests := []struct {
		from   string
		anchor int
		want   string
	}{
		{"2025-02-10", 31, "2025-02-28"},
		{"2025-03-01", 31, "2025-03-31"},
		{"2025-03-31", 31, "2025-03-31"},
		{"2025-04-30", 31, "2025-04-30"},
		{"2024-02-10", 31, "2024-02-29"},
		{"2024-02-10", 30, "2024-02-29"},
		{"2025-02-10", 29, "2025-02-28"},
		{"2025-03-01", 28, "2025-03-28"},
		{"2025-02-10", 10, "2025-02-10"},
		{"2025-02-11", 10, "2025-03-10"},
		{"2025-02-28", 1, "2025-03-01"},
		{"2025-12-15", 10, "2026-01-10"},
		{"2025-12-31", 30, "2026-01-30"},
		{"2025-01-31", 30, "2025-02-28"},
		{"2025-02-10", 28, "2025-02-28"},
	}
	for _, tc := range tests {
		got := calendar.FirstAnchorDate(D(t, tc.from), tc.anchor)
		assert.Equal(t, tc.want, got.String(), "FirstAnchorDate(%s, %d)", tc.from, tc.anchor)
		// The result is always a valid start for a monthly recurrence.
		_, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, got, tc.anchor, calendar.DefaultChargeTime)
		assert.NoError(t, err)
	}
	assert.True(t, calendar.FirstAnchorDate(D(t, "2025-01-01"), 0).IsZero())
	assert.True(t, calendar.FirstAnchorDate(D(t, "2025-01-01"), 32).IsZero())
	assert.True(t, calendar.FirstAnchorDate(calendar.Date{Year: 2025, Month: 2, Day: 30}, 1).IsZero())
	_, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, calendar.FirstAnchorDate(D(t, "2025-01-01"), 32), 32, calendar.DefaultChargeTime)
	require.EqualError(t, err, "calendar: anchor day 32 out of range 1..31")
}

func TestRecurrenceJSONRoundTrip(t *testing.T) {
	short, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Minute, Count: 1}, time.Date(2025, 3, 1, 0, 30, 15, 123456789, calendar.Seoul))
	require.NoError(t, err)
	tests := []struct {
		r    calendar.Recurrence
		json string
	}{
		{monthly(t, 1, "2025-01-31", 31), `{"interval":{"unit":"month","count":1},"start":"2025-01-31","anchor_day":31,"charge_time":"10:00"}`},
		{monthly(t, 3, "2025-02-28", 31), `{"interval":{"unit":"month","count":3},"start":"2025-02-28","anchor_day":31,"charge_time":"10:00"}`},
		{mustRec(t, calendar.Interval{Unit: calendar.Year, Count: 1}, "2024-02-29", 29), `{"interval":{"unit":"year","count":1},"start":"2024-02-29","anchor_day":29,"charge_time":"10:00"}`},
		{mustRec(t, calendar.Interval{Unit: calendar.Day, Count: 28}, "2025-01-31", 0), `{"interval":{"unit":"day","count":28},"start":"2025-01-31","charge_time":"10:00"}`},
		{short, `{"interval":{"unit":"minute","count":1},"charge_time":"00:00","origin":"2025-02-28T15:30:15.123456789Z"}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.r)
		require.NoError(t, err)
		assert.JSONEq(t, tc.json, string(b))
		var back calendar.Recurrence
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, tc.r, back, "round trip must be exact")
		require.NoError(t, back.Validate())
		for i := 0; i < 30; i++ {
			require.True(t, tc.r.ChargeAt(i).Equal(back.ChargeAt(i)))
		}
		b2, err := json.Marshal(back)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(b2))
	}
}

func TestPeriodJSON(t *testing.T) {
	p := monthly(t, 1, "2025-01-31", 31).Period(1)
	b, err := json.Marshal(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"index":1,"unit":"month","start":"2025-02-28T10:00:00+09:00","end":"2025-03-31T10:00:00+09:00","first_day":"2025-02-28","last_day":"2025-03-30"}`, string(b))
	var back calendar.Period
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.Start.Equal(p.Start))
	assert.True(t, back.End.Equal(p.End))
	assert.Equal(t, p.FirstDay, back.FirstDay)
	assert.Equal(t, p.LastDay, back.LastDay)
}

func TestIntervalValidateAndString(t *testing.T) {
	valid := []struct {
		iv   calendar.Interval
		text string
	}{
		{calendar.Interval{Unit: calendar.Month, Count: 1}, "every month"},
		{calendar.Interval{Unit: calendar.Month, Count: 3}, "every 3 months"},
		{calendar.Interval{Unit: calendar.Year, Count: 1}, "every year"},
		{calendar.Interval{Unit: calendar.Week, Count: 2}, "every 2 weeks"},
		{calendar.Interval{Unit: calendar.Day, Count: 28}, "every 28 days"},
		{calendar.Interval{Unit: calendar.Day, Count: 120}, "every 120 days"},
		{calendar.Interval{Unit: calendar.Second, Count: 30}, "every 30 seconds"},
		{calendar.Interval{Unit: calendar.Minute, Count: 1}, "every minute"},
		{calendar.Interval{Unit: calendar.Second, Count: 3600}, "every 3600 seconds"},
	}
	for _, tc := range valid {
		assert.NoError(t, tc.iv.Validate(), tc.text)
		assert.Equal(t, tc.text, tc.iv.String())
	}
	invalid := []struct {
		iv  calendar.Interval
		msg string
	}{
		{calendar.Interval{Unit: "fortnight", Count: 1}, `calendar: unknown interval unit "fortnight" (accepted: day, week, month, year, minute, second)`},
		{calendar.Interval{Unit: "", Count: 1}, `calendar: unknown interval unit "" (accepted: day, week, month, year, minute, second)`},
		{calendar.Interval{Unit: "Month", Count: 1}, `calendar: unknown interval unit "Month" (accepted: day, week, month, year, minute, second)`},
		{calendar.Interval{Unit: calendar.Month, Count: 0}, `calendar: interval count 0 out of range 1..120 for unit "month"`},
		{calendar.Interval{Unit: calendar.Month, Count: 121}, `calendar: interval count 121 out of range 1..120 for unit "month"`},
		{calendar.Interval{Unit: calendar.Day, Count: -1}, `calendar: interval count -1 out of range 1..120 for unit "day"`},
		{calendar.Interval{Unit: calendar.Second, Count: 3601}, `calendar: interval count 3601 out of range 1..3600 for unit "second"`},
		{calendar.Interval{Unit: calendar.Minute, Count: 0}, `calendar: interval count 0 out of range 1..3600 for unit "minute"`},
	}
	for _, tc := range invalid {
		assert.EqualError(t, tc.iv.Validate(), tc.msg)
	}
	assert.True(t, calendar.Second.IsShort())
	assert.True(t, calendar.Minute.IsShort())
	assert.False(t, calendar.Day.IsShort())
	assert.True(t, calendar.Year.IsCalendar())
	assert.False(t, calendar.Unit("hour").IsCalendar())

	var iv calendar.Interval
	require.NoError(t, json.Unmarshal([]byte(`{"unit":"month","count":3}`), &iv))
	assert.Equal(t, calendar.Interval{Unit: calendar.Month, Count: 3}, iv)
}

func TestNewRecurrenceErrors(t *testing.T) {
	m1 := calendar.Interval{Unit: calendar.Month, Count: 1}
	tests := []struct {
		name   string
		iv     calendar.Interval
		start  calendar.Date
		anchor int
		tod    calendar.TimeOfDay
		msg    string
	}{
		{"unknown unit", calendar.Interval{Unit: "quarter", Count: 1}, D(t, "2025-01-01"), 1, calendar.DefaultChargeTime, `unknown interval unit "quarter"`},
		{"count 0", calendar.Interval{Unit: calendar.Month, Count: 0}, D(t, "2025-01-01"), 1, calendar.DefaultChargeTime, "interval count 0 out of range 1..120"},
		{"short unit", calendar.Interval{Unit: calendar.Second, Count: 10}, D(t, "2025-01-01"), 0, calendar.DefaultChargeTime, `unit "second" counts elapsed time, use NewShortRecurrence`},
		{"anchor 32", m1, D(t, "2025-01-31"), 32, calendar.DefaultChargeTime, "calendar: anchor day 32 out of range 1..31"},
		{"anchor 0 for month", m1, D(t, "2025-01-31"), 0, calendar.DefaultChargeTime, "calendar: anchor day 0 out of range 1..31"},
		{"anchor -1 for year", calendar.Interval{Unit: calendar.Year, Count: 1}, D(t, "2025-01-31"), -1, calendar.DefaultChargeTime, "calendar: anchor day -1 out of range 1..31"},
		{"start not on anchor", m1, D(t, "2025-02-27"), 31, calendar.DefaultChargeTime, "calendar: start 2025-02-27 is not on anchor day 31 (in that month the anchor falls on 2025-02-28)"},
		{"start after anchor", m1, D(t, "2025-01-31"), 30, calendar.DefaultChargeTime, "calendar: start 2025-01-31 is not on anchor day 30 (in that month the anchor falls on 2025-01-30)"},
		{"yearly start not on anchor", calendar.Interval{Unit: calendar.Year, Count: 1}, D(t, "2024-02-28"), 29, calendar.DefaultChargeTime, "calendar: start 2024-02-28 is not on anchor day 29 (in that month the anchor falls on 2024-02-29)"},
		{"invalid start", m1, calendar.Date{Year: 2025, Month: 2, Day: 30}, 30, calendar.DefaultChargeTime, "calendar: invalid start date 2025-02-30"},
		{"zero start", m1, calendar.Date{}, 1, calendar.DefaultChargeTime, "calendar: invalid start date 0000-00-00"},
		{"bad hour", m1, D(t, "2025-01-31"), 31, calendar.TimeOfDay{Hour: 24}, "calendar: hour 24 out of range 0..23"},
		{"bad minute", m1, D(t, "2025-01-31"), 31, calendar.TimeOfDay{Hour: 10, Minute: -5}, "calendar: minute -5 out of range 0..59"},
		{"anchor for weeks", calendar.Interval{Unit: calendar.Week, Count: 1}, D(t, "2025-01-15"), 31, calendar.DefaultChargeTime, `calendar: anchor day 31 does not apply to unit "week" (want 0 or the start day 15)`},
		{"anchor for days", calendar.Interval{Unit: calendar.Day, Count: 28}, D(t, "2025-01-15"), 1, calendar.DefaultChargeTime, `calendar: anchor day 1 does not apply to unit "day" (want 0 or the start day 15)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := calendar.NewRecurrence(tc.iv, tc.start, tc.anchor, tc.tod)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestNewShortRecurrenceAndValidateErrors(t *testing.T) {
	origin := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, origin)
	require.EqualError(t, err, `calendar: unit "month" is a calendar unit, use NewRecurrence`)
	_, err = calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 3601}, origin)
	require.EqualError(t, err, `calendar: interval count 3601 out of range 1..3600 for unit "second"`)
	_, err = calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 10}, time.Time{})
	require.EqualError(t, err, `calendar: unit "second" needs an origin instant`)

	require.ErrorContains(t, calendar.Recurrence{}.Validate(), `unknown interval unit ""`)
	r := monthly(t, 1, "2025-01-31", 31)
	r.Origin = origin
	require.EqualError(t, r.Validate(), `calendar: unit "month" is a calendar unit; origin must be empty`)
	w := mustRec(t, calendar.Interval{Unit: calendar.Week, Count: 1}, "2025-01-31", 0)
	w.AnchorDay = 31
	require.EqualError(t, w.Validate(), `calendar: anchor day 31 does not apply to unit "week" (want 0)`)
	s, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 10}, origin)
	require.NoError(t, err)
	s.Start = D(t, "2025-01-01")
	require.EqualError(t, s.Validate(), `calendar: unit "second" counts from the origin; start, anchor day and charge time must be empty`)

	// Decoded garbage is rejected by Validate.
	var bad calendar.Recurrence
	require.NoError(t, json.Unmarshal([]byte(`{"interval":{"unit":"month","count":1},"start":"2025-02-27","anchor_day":31,"charge_time":"10:00"}`), &bad))
	require.ErrorContains(t, bad.Validate(), "not on anchor day 31")
	require.Error(t, json.Unmarshal([]byte(`{"interval":{"unit":"month","count":1},"start":"2025-02-30","anchor_day":30,"charge_time":"10:00"}`), &bad))

	// Computing on an invalid Recurrence fails loudly instead of billing a
	// wrong date.
	assert.PanicsWithError(t, "calendar: invalid Recurrence (build it with NewRecurrence or NewShortRecurrence, or check Validate after decoding)", func() {
		calendar.Recurrence{}.ChargeAt(1)
	})
	assert.Panics(t, func() { calendar.Recurrence{}.IndexAt(origin) })
	assert.Panics(t, func() { calendar.Recurrence{Interval: calendar.Interval{Unit: "hour", Count: 1}}.IndexAt(origin) })
}

func TestNegativeIndexExtrapolates(t *testing.T) {
	r := monthly(t, 1, "2025-02-28", 31)
	assert.Equal(t, "2025-01-31", r.ChargeDate(-1).String())
	assert.Equal(t, "2024-12-31", r.ChargeDate(-2).String())
	p := r.Period(-1)
	assert.Equal(t, -1, p.Index)
	assert.Equal(t, "2025-01-31", p.FirstDay.String())
	assert.Equal(t, "2025-02-27", p.LastDay.String())
	assert.Equal(t, "2024-02-29", mustRec(t, calendar.Interval{Unit: calendar.Year, Count: 1}, "2025-02-28", 29).ChargeDate(-1).String())
}

func TestLargeIndexIsDirect(t *testing.T) {
	r := monthly(t, 1, "2025-01-31", 31)
	// 10 000 months later: 2858-05-31.
	assert.Equal(t, "2858-05-31", r.ChargeDate(10000).String())
	assert.Equal(t, 10000, r.IndexAt(r.ChargeAt(10000)))
	d := mustRec(t, calendar.Interval{Unit: calendar.Day, Count: 1}, "2025-01-01", 0)
	assert.Equal(t, calendar.Date{Year: 2025, Month: 1, Day: 1}.AddDays(1_000_000), d.ChargeDate(1_000_000))
	assert.Equal(t, 1_000_000, d.IndexAt(d.ChargeAt(1_000_000).Add(time.Hour)))
}
