package rulebook

import (
	"fmt"
	"time"
)

// KST is Korea Standard Time. Billing dates are local dates in Asia/Seoul; Korea has kept UTC+9
// without daylight saving since 1988, so a fixed zone is exact for every date billed and needs no
// tz database (the workflow's calendar embeds one: a disagreement would show).
var KST = time.FixedZone("KST", 9*60*60)

// Date is a KST calendar date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the KST date of an instant: a sign-up at 00:30 KST is billed on that KST date.
func DateOf(t time.Time) Date {
	y, m, d := t.In(KST).Date()
	return Date{y, m, d}
}

// String is YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// yyyymmdd is the form NaverPay's naverUseCfm takes.
func (d Date) yyyymmdd() string { return fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day) }

// leap: every fourth year, except centuries, except every fourth century.
func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn is the number of days of a month.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if leap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// AddDays moves a date by n days (n may be negative); the standard library's date
// normalization does the carrying.
func (d Date) AddDays(n int) Date {
	y, m, dd := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC).Date()
	return Date{y, m, dd}
}

// monthsLater is the month n months after d's, on day min(day, days of that month): the
// clamp. It always starts from the anchor's month, never from an earlier clamped date, so an
// anchor of 31 comes back to the 31st in the months that have one.
func monthsLater(d Date, n, day int) Date {
	total := d.Year*12 + int(d.Month) - 1 + n
	y := total / 12
	if total%12 < 0 {
		y--
	}
	m := time.Month(total - y*12 + 1)
	return Date{y, m, min(day, daysIn(y, m))}
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.key() < e.key() }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.key() > e.key() }

func (d Date) key() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// DaysFrom is the number of days from a to b (b − a).
func DaysFrom(a, b Date) int {
	noon := func(d Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }
	return int(noon(b).Sub(noon(a)) / (24 * time.Hour))
}

// at is the instant of a KST date at hh:mm.
func (d Date) at(hh, mm int) time.Time { return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, KST) }

// chargeTime reads plan.charge_time ("HH:MM", default 10:00).
func chargeTime(s string) (hh, mm int, err error) {
	if s == "" {
		return 10, 0, nil
	}
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, fmt.Errorf("plan.charge_time: %q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &hh, &mm); err != nil || hh > 23 || mm > 59 || hh < 0 || mm < 0 {
		return 0, 0, fmt.Errorf("plan.charge_time: %q is not HH:MM", s)
	}
	return hh, mm, nil
}

// schedule is a subscription's charge calendar: charge i falls on date(i) at the charge time.
// Every date is derived from the first one and the anchor, never from the previous date.
type schedule struct {
	unit  Unit
	count int
	// first is the date of charge 0; anchor the day of month month and year plans bill on.
	first  Date
	anchor int
	hh, mm int
	// origin is charge 0's instant for the demo units.
	origin time.Time
}

// newSchedule is the calendar that starts on first. Month and year plans bill on the anchor day,
// clamped to each month's length.
func newSchedule(p Plan, first Date, anchor int, origin time.Time) schedule {
	hh, mm, _ := chargeTime(p.ChargeTime)
	return schedule{unit: p.Unit, count: p.Count, first: first, anchor: anchor, hh: hh, mm: mm, origin: origin}
}

// step is a demo unit's length.
func (s schedule) step() time.Duration {
	if s.unit == Minute {
		return time.Duration(s.count) * time.Minute
	}
	return time.Duration(s.count) * time.Second
}

// date is charge i's date (i may be negative: the periods before the first).
func (s schedule) date(i int) Date {
	switch s.unit {
	case Day:
		return s.first.AddDays(i * s.count)
	case Week:
		return s.first.AddDays(i * 7 * s.count)
	case Month:
		return monthsLater(s.first, i*s.count, s.anchor)
	case Year:
		return monthsLater(s.first, i*12*s.count, s.anchor)
	}
	return DateOf(s.at(i))
}

// at is charge i's instant.
func (s schedule) at(i int) time.Time {
	if s.unit.short() {
		return s.origin.Add(time.Duration(i) * s.step())
	}
	return s.date(i).at(s.hh, s.mm)
}

// indexAt is the period containing t: the largest i with at(i) ≤ t, −1 before the first.
func (s schedule) indexAt(t time.Time) int {
	if t.Before(s.at(0)) {
		return -1
	}
	if s.unit.short() {
		return int(t.Sub(s.origin) / s.step())
	}
	i := 0
	for !s.at(i + 1).After(t) {
		i++
	}
	return i
}

// span is one service period: charged at start, access until end (exclusive); in KST dates
// first..last, from a charge date to the day before the next one.
type span struct {
	cycle       int
	start, end  time.Time
	first, last Date
	// credit is the KRW of earlier unused paid days taken off the period's charge, given by the
	// payment of cycle creditFrom: the period is worth its paid charge plus credit.
	credit     int64
	creditFrom int
	// stub marks a pro-rata period (a first stub, a resume's rest, an immediate upgrade's).
	stub bool
}

// period is service period i.
func (s schedule) period(i int) span {
	if s.unit.short() {
		st, en := s.at(i), s.at(i+1)
		return span{start: st, end: en, first: DateOf(st), last: DateOf(en.Add(-time.Second))}
	}
	return span{start: s.at(i), end: s.at(i + 1), first: s.date(i), last: s.date(i + 1).AddDays(-1)}
}

// days is the number of KST dates of a period, both ends counted.
func (p span) days() int { return DaysFrom(p.first, p.last) + 1 }

// firstAnchorDate is the first date on or after from whose day is the anchor, clamped to its
// month: from Feb 10 with anchor 31 it is Feb 28, from Mar 1 it is Mar 31.
func firstAnchorDate(from Date, anchor int) Date {
	d := monthsLater(Date{from.Year, from.Month, 1}, 0, anchor)
	if d.Before(from) {
		d = monthsLater(Date{from.Year, from.Month, 1}, 1, anchor)
	}
	return d
}
