package calendar_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/paycycle/paycycle/calendar"
)

// fuzzUnits maps a fuzzed byte to a unit.
var fuzzUnits = []calendar.Unit{calendar.Month, calendar.Year, calendar.Week, calendar.Day, calendar.Second, calendar.Minute}

// fuzzSteps is how many consecutive charges each fuzz input checks.
const fuzzSteps = 400

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// FuzzRecurrence checks the schedule invariants for arbitrary unit, count,
// start date, anchor day and charge time: charges strictly increase, service
// periods are contiguous, no period is skipped, IndexAt is exact around every
// charge and monthly/yearly dates are the anchor clamped to the month.
// Raw inputs are first fed to NewRecurrence as they are (it must return an
// error or a valid schedule, never panic); then they are folded into range to
// build a schedule that is always valid.
func FuzzRecurrence(f *testing.F) {
	type seed struct {
		unit                                  uint8
		count, year, month, day, anchor, h, m int
		unixSec                               int64
	}
	seeds := []seed{
		{0, 1, 2025, 1, 31, 31, 10, 0, 0},           // Jan 31 monthly
		{0, 1, 2025, 2, 28, 31, 10, 0, 0},           // clamped start, anchor 31
		{0, 1, 2027, 12, 29, 29, 10, 0, 0},          // 29th into a leap February
		{0, 1, 2024, 1, 30, 30, 23, 59, 0},          // 30th, late charge time
		{0, 2, 2024, 12, 31, 31, 0, 0, 0},           // every 2 months, midnight
		{0, 3, 2025, 11, 30, 30, 10, 0, 0},          // quarterly
		{0, 6, 2023, 8, 31, 31, 10, 0, 0},           // half-yearly into Feb 29
		{0, 12, 2024, 2, 29, 29, 10, 0, 0},          // every 12 months from Feb 29
		{0, 120, 1999, 12, 31, 31, 9, 59, 0},        // maximal count
		{1, 1, 2024, 2, 29, 29, 10, 0, 0},           // yearly Feb 29
		{1, 4, 2096, 2, 29, 29, 10, 0, 0},           // over the 2100 non-leap year
		{1, 1, 2025, 2, 28, 29, 0, 30, 0},           // yearly, anchor 29, common start
		{2, 1, 2025, 12, 31, 0, 10, 0, 0},           // weekly over the year end
		{2, 4, 2024, 2, 26, 0, 10, 0, 0},            // every 4 weeks over Feb 29
		{3, 28, 2025, 1, 31, 0, 10, 0, 0},           // every 28 days
		{3, 1, 2024, 2, 28, 0, 23, 59, 0},           // daily over Feb 29
		{3, 120, 9000, 1, 1, 0, 10, 0, 0},           // far future
		{0, 1, 1987, 5, 10, 10, 2, 30, 0},           // charge time inside Seoul's 1987 DST gap
		{0, 1, 1950, 1, 31, 31, 0, 30, 0},           // historic offsets
		{4, 30, 0, 0, 0, 0, 0, 0, 1740756570},       // 30 s from 2025-02-28 23:59:30 KST
		{5, 1, 0, 0, 0, 0, 0, 0, 1740754800},        // 1 min from 2025-03-01 00:00 KST
		{4, 3600, 0, 0, 0, 0, 0, 0, -62135596800},   // year 1
		{5, 7, -3, 14, 32, 99, 24, 60, 1 << 40},     // garbage
		{0, 0, 2025, 2, 29, 0, -1, -1, 0},           // garbage
		{200, -5, 99999, -1, -1, -31, 100, 100, -1}, // garbage
	}
	for _, s := range seeds {
		f.Add(s.unit, s.count, s.year, s.month, s.day, s.anchor, s.h, s.m, s.unixSec)
	}
	f.Fuzz(func(t *testing.T, unitB uint8, count, year, month, day, anchor, hour, minute int, unixSec int64) {
		unit := fuzzUnits[int(unitB)%len(fuzzUnits)]
		tod := calendar.TimeOfDay{Hour: hour, Minute: minute}

		// Raw inputs: an error or a valid schedule, never a panic.
		raw := calendar.Date{Year: year, Month: time.Month(month), Day: day}
		if r, err := calendar.NewRecurrence(calendar.Interval{Unit: unit, Count: count}, raw, anchor, tod); err == nil {
			if err := r.Validate(); err != nil {
				t.Fatalf("NewRecurrence returned an invalid schedule: %v", err)
			}
		}

		// Folded inputs: always valid.
		var r calendar.Recurrence
		var err error
		if unit.IsShort() {
			count = 1 + abs(count%calendar.MaxShortCount)
			// Keep the origin within years 1..9000, after the zero time.Time
			// (which means "no origin").
			const lo, span = int64(-62135596800 + 86400), int64(9000 * 365 * 86400)
			sec := lo + ((unixSec%span)+span)%span
			r, err = calendar.NewShortRecurrence(calendar.Interval{Unit: unit, Count: count}, time.Unix(sec, int64(abs(minute)%1e9)))
		} else {
			count = 1 + abs(count%calendar.MaxCalendarCount)
			from := calendar.Date{Year: 1 + abs(year%9000), Month: time.Month(1 + abs(month%12)), Day: 1}
			from.Day = 1 + abs(day%calendar.DaysIn(from.Year, from.Month))
			tod = calendar.TimeOfDay{Hour: abs(hour % 24), Minute: abs(minute % 60)}
			switch unit {
			case calendar.Month, calendar.Year:
				anchor = 1 + abs(anchor%31)
				from = calendar.FirstAnchorDate(from, anchor)
			default:
				anchor = 0
			}
			r, err = calendar.NewRecurrence(calendar.Interval{Unit: unit, Count: count}, from, anchor, tod)
		}
		if err != nil {
			t.Fatalf("folded inputs rejected: %v", err)
		}

		prev := r.ChargeAt(0)
		prevPeriod := r.Period(0)
		if got := r.IndexAt(prev.Add(-time.Nanosecond)); got != -1 {
			t.Fatalf("IndexAt(ChargeAt(0)-1ns) = %d, want -1", got)
		}
		for i := 0; i <= fuzzSteps; i++ {
			at := r.ChargeAt(i)
			if i > 0 && !at.After(prev) {
				t.Fatalf("%+v: ChargeAt(%d) = %s is not after ChargeAt(%d) = %s", r, i, at, i-1, prev)
			}
			if got := r.IndexAt(at); got != i {
				t.Fatalf("%+v: IndexAt(ChargeAt(%d)=%s) = %d", r, i, at, got)
			}
			if got := r.IndexAt(at.Add(-time.Nanosecond)); got != i-1 {
				t.Fatalf("%+v: IndexAt(ChargeAt(%d)-1ns) = %d, want %d", r, i, got, i-1)
			}
			if got := r.NextIndexAfter(at); got != i+1 {
				t.Fatalf("%+v: NextIndexAfter(ChargeAt(%d)) = %d", r, i, got)
			}
			p := r.Period(i)
			if !p.Start.Equal(at) || !p.End.Equal(r.ChargeAt(i+1)) || p.Index != i {
				t.Fatalf("%+v: Period(%d) = %+v does not match the charges", r, i, p)
			}
			if i > 0 && !prevPeriod.End.Equal(p.Start) {
				t.Fatalf("%+v: period %d ends at %s but period %d starts at %s", r, i-1, prevPeriod.End, i, p.Start)
			}
			if p.LastDay.Before(p.FirstDay) {
				t.Fatalf("%+v: period %d is empty: %s..%s", r, i, p.FirstDay, p.LastDay)
			}
			if unit.IsCalendar() {
				d := r.ChargeDate(i)
				if p.FirstDay != d {
					t.Fatalf("%+v: Period(%d).FirstDay = %s, want %s", r, i, p.FirstDay, d)
				}
				if i > 0 && prevPeriod.LastDay.AddDays(1) != p.FirstDay {
					t.Fatalf("%+v: period %d ends %s but period %d starts %s", r, i-1, prevPeriod.LastDay, i, p.FirstDay)
				}
				if unit == calendar.Month || unit == calendar.Year {
					if want := min(anchor, calendar.DaysIn(d.Year, d.Month)); d.Day != want {
						t.Fatalf("%+v: ChargeDate(%d) = %s, want day %d", r, i, d, want)
					}
				}
				used, total := p.Usage(at)
				if used != 1 || total != int64(p.Days()) || total < 1 {
					t.Fatalf("%+v: Usage at the start of period %d = %d/%d", r, i, used, total)
				}
			}
			prev, prevPeriod = at, p
		}

		// A far index is reached directly and found again.
		far := 10_000
		if unit == calendar.Year {
			far = 50
		}
		if got := r.IndexAt(r.ChargeAt(far)); got != far {
			t.Fatalf("%+v: IndexAt(ChargeAt(%d)) = %d", r, far, got)
		}

		// The schedule survives the trip through workflow state.
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back calendar.Recurrence
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back != r {
			t.Fatalf("JSON round trip changed %+v into %+v", r, back)
		}
	})
}
