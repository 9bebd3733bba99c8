package calendar

import (
	"errors"
	"fmt"
	"time"
)

// Recurrence is the charge schedule of one subscription: charge i (i = 0 is
// the first charge of the schedule) and service period i are computed
// directly from these fields, never from the previous charge date, so that a
// clamped date (Feb 28 for an anchor of 31) can never become the new anchor
// and any index is reached in constant time.
//
// Recurrence is plain data: it is stored in Temporal workflow state and
// round-trips through encoding/json unchanged. Build it with [NewRecurrence]
// or [NewShortRecurrence]; after decoding one from outside, call
// [Recurrence.Validate]. The computing methods panic on a Recurrence that is
// not valid, because a wrong billing date must never be produced silently.
//
// Negative indices extrapolate backwards with the same rule; in particular
// Period(-1) is the regular period that ends the day before the first charge
// date, which is the denominator of a prorated first charge (see
// [Recurrence.FirstStubCharge]).
type Recurrence struct {
	// Interval is how often charges happen.
	Interval Interval `json:"interval"`
	// Start is the KST date of charge 0 (calendar units only).
	Start Date `json:"start,omitzero"`
	// AnchorDay is the desired day of month, 1..31, for Month and Year; it
	// is 0 for the other units. Start.Day is AnchorDay clamped to Start's
	// month, so the anchor may be larger than Start.Day (start 2025-02-28
	// with anchor 31 charges next on Mar 31).
	AnchorDay int `json:"anchor_day,omitempty"`
	// ChargeTime is the local time of day of every charge (calendar units
	// only; it is 00:00 and ignored for the short units).
	ChargeTime TimeOfDay `json:"charge_time"`
	// Origin is the instant of charge 0 (short units only), stored in UTC.
	Origin time.Time `json:"origin,omitzero"`
}

// CheckAnchorDay reports an error if d is not a possible day of month 1..31.
// Anchors of 29, 30 and 31 are allowed: they clamp to the last day of shorter
// months and come back in longer ones.
func CheckAnchorDay(d int) error {
	if d < 1 || d > 31 {
		return fmt.Errorf("calendar: anchor day %d out of range 1..31", d)
	}
	return nil
}

// NewRecurrence returns the schedule of a calendar-unit subscription whose
// charge 0 is on start at chargeTime (KST).
//
// For Month, charge i is on (start year, start month + i×count,
// min(anchorDay, days in that month)); for Year, on (start year + i×count,
// start month, min(anchorDay, days in that month)), so Feb 29 becomes Feb 28
// in common years and Feb 29 again in leap years. anchorDay must be 1..31 and
// start must be on it, that is start.Day == min(anchorDay, DaysIn(start)):
// use [FirstAnchorDate] to find such a start. For Week and Day, charge i is
// i×7×count or i×count local days after start, and anchorDay must be 0 or
// start.Day (it is stored as 0).
func NewRecurrence(iv Interval, start Date, anchorDay int, chargeTime TimeOfDay) (Recurrence, error) {
	if err := iv.Validate(); err != nil {
		return Recurrence{}, err
	}
	if iv.Unit.IsShort() {
		return Recurrence{}, fmt.Errorf("calendar: unit %q counts elapsed time, use NewShortRecurrence", string(iv.Unit))
	}
	if (iv.Unit == Day || iv.Unit == Week) && anchorDay != 0 {
		if anchorDay != start.Day {
			return Recurrence{}, fmt.Errorf("calendar: anchor day %d does not apply to unit %q (want 0 or the start day %d)", anchorDay, string(iv.Unit), start.Day)
		}
		anchorDay = 0
	}
	r := Recurrence{Interval: iv, Start: start, AnchorDay: anchorDay, ChargeTime: chargeTime}
	if err := r.Validate(); err != nil {
		return Recurrence{}, err
	}
	return r, nil
}

// NewShortRecurrence returns the schedule of a demo/test subscription in
// seconds or minutes: charge i is at origin + i×count units of elapsed time.
// The origin is stored in UTC so that the Recurrence round-trips through JSON
// unchanged.
func NewShortRecurrence(iv Interval, origin time.Time) (Recurrence, error) {
	if err := iv.Validate(); err != nil {
		return Recurrence{}, err
	}
	if !iv.Unit.IsShort() {
		return Recurrence{}, fmt.Errorf("calendar: unit %q is a calendar unit, use NewRecurrence", string(iv.Unit))
	}
	r := Recurrence{Interval: iv, Origin: origin.UTC()}
	if err := r.Validate(); err != nil {
		return Recurrence{}, err
	}
	return r, nil
}

// Validate reports whether r is a schedule that the constructors could have
// built. Call it on a Recurrence decoded from outside before using it.
func (r Recurrence) Validate() error {
	if err := r.Interval.Validate(); err != nil {
		return err
	}
	u := r.Interval.Unit
	if u.IsShort() {
		if r.Origin.IsZero() {
			return fmt.Errorf("calendar: unit %q needs an origin instant", string(u))
		}
		if !r.Start.IsZero() || r.AnchorDay != 0 || r.ChargeTime != (TimeOfDay{}) {
			return fmt.Errorf("calendar: unit %q counts from the origin; start, anchor day and charge time must be empty", string(u))
		}
		return nil
	}
	if !r.Origin.IsZero() {
		return fmt.Errorf("calendar: unit %q is a calendar unit; origin must be empty", string(u))
	}
	if err := r.ChargeTime.Validate(); err != nil {
		return err
	}
	if u == Month || u == Year {
		if err := CheckAnchorDay(r.AnchorDay); err != nil {
			return err
		}
	}
	if !r.Start.Valid() {
		return fmt.Errorf("calendar: invalid start date %s", r.Start)
	}
	switch u {
	case Month, Year:
		if want := min(r.AnchorDay, DaysIn(r.Start.Year, r.Start.Month)); r.Start.Day != want {
			return fmt.Errorf("calendar: start %s is not on anchor day %d (in that month the anchor falls on %s)",
				r.Start, r.AnchorDay, Date{r.Start.Year, r.Start.Month, want})
		}
	default: // Day, Week
		if r.AnchorDay != 0 {
			return fmt.Errorf("calendar: anchor day %d does not apply to unit %q (want 0)", r.AnchorDay, string(u))
		}
	}
	return nil
}

// errInvalid is the panic value of the computing methods on an invalid
// Recurrence (typically the zero value or one decoded without Validate).
var errInvalid = errors.New("calendar: invalid Recurrence (build it with NewRecurrence or NewShortRecurrence, or check Validate after decoding)")

// shortStep returns the length of one short period in seconds.
func (r Recurrence) shortStep() int64 {
	switch r.Interval.Unit {
	case Second:
		return int64(r.Interval.Count)
	case Minute:
		return 60 * int64(r.Interval.Count)
	}
	panic(errInvalid)
}

// ChargeDate returns the KST date of charge i. For Month and Year it is
// computed from the start and the anchor day, clamped to the length of the
// target month; it never depends on charge i−1.
func (r Recurrence) ChargeDate(i int) Date {
	n := i * r.Interval.Count
	switch r.Interval.Unit {
	case Month:
		m := r.Start.Year*12 + int(r.Start.Month) - 1 + n
		y := floorDiv(m, 12)
		mo := time.Month(m - y*12 + 1)
		return Date{Year: y, Month: mo, Day: min(r.AnchorDay, DaysIn(y, mo))}
	case Year:
		y := r.Start.Year + n
		return Date{Year: y, Month: r.Start.Month, Day: min(r.AnchorDay, DaysIn(y, r.Start.Month))}
	case Week:
		return r.Start.AddDays(7 * n)
	case Day:
		return r.Start.AddDays(n)
	case Second, Minute:
		return DateOf(r.ChargeAt(i))
	}
	panic(errInvalid)
}

// ChargeAt returns the instant of charge i (i ≥ 0; negative indices
// extrapolate backwards), in the Seoul location: ChargeDate(i) at the charge
// time for calendar units, origin + i×count units for short units. Charges
// strictly increase with i.
func (r Recurrence) ChargeAt(i int) time.Time {
	if r.Interval.Unit.IsShort() {
		return time.Unix(r.Origin.Unix()+int64(i)*r.shortStep(), int64(r.Origin.Nanosecond())).In(Seoul)
	}
	return r.ChargeDate(i).At(r.ChargeTime)
}

// IndexAt returns the index of the period that contains t: the largest i
// with ChargeAt(i) ≤ t, or −1 if t is before the first charge. It estimates
// the index arithmetically from t's KST date and then settles it by comparing
// instants, so it is exact at, just before and just after every charge
// instant and takes constant time for any index.
func (r Recurrence) IndexAt(t time.Time) int {
	if r.Interval.Count <= 0 {
		panic(errInvalid)
	}
	if t.Before(r.ChargeAt(0)) {
		return -1
	}
	var i int
	if r.Interval.Unit.IsShort() {
		i = int(floorDiv64(t.Unix()-r.Origin.Unix(), r.shortStep()))
	} else {
		d, s := DateOf(t), r.Start
		switch r.Interval.Unit {
		case Month:
			i = floorDiv((d.Year*12+int(d.Month))-(s.Year*12+int(s.Month)), r.Interval.Count)
		case Year:
			i = floorDiv(d.Year-s.Year, r.Interval.Count)
		case Week:
			i = floorDiv(DaysBetween(s, d), 7*r.Interval.Count)
		case Day:
			i = floorDiv(DaysBetween(s, d), r.Interval.Count)
		default:
			panic(errInvalid)
		}
	}
	if i < 0 {
		i = 0
	}
	for i > 0 && r.ChargeAt(i).After(t) {
		i--
	}
	for !r.ChargeAt(i + 1).After(t) {
		i++
	}
	return i
}

// NextIndexAfter returns the smallest i with ChargeAt(i) > t: the next charge
// to wait for at instant t. A charge exactly at t is not "after" t, so a
// worker that wakes exactly on time moves on to the following charge once the
// current one is done.
func (r Recurrence) NextIndexAfter(t time.Time) int {
	return r.IndexAt(t) + 1
}

// Period returns service period i: it starts at ChargeAt(i) and ends at
// ChargeAt(i+1), and covers the KST dates [ChargeDate(i), ChargeDate(i+1) − 1
// day] for calendar units, so consecutive periods are contiguous and never
// overlap. For short units the dates are those of Start and End − 1s.
func (r Recurrence) Period(i int) Period {
	p := Period{Index: i, Unit: r.Interval.Unit}
	if r.Interval.Unit.IsShort() {
		p.Start, p.End = r.ChargeAt(i), r.ChargeAt(i+1)
		p.FirstDay, p.LastDay = DateOf(p.Start), DateOf(p.End.Add(-time.Second))
		return p
	}
	d0, d1 := r.ChargeDate(i), r.ChargeDate(i+1)
	p.Start, p.End = d0.At(r.ChargeTime), d1.At(r.ChargeTime)
	p.FirstDay, p.LastDay = d0, d1.AddDays(-1)
	return p
}

// Period is one service period of a subscription: the customer paid at Start
// for service until End (exclusive), which is the next charge instant. In
// local dates the service covers FirstDay..LastDay inclusive.
type Period struct {
	// Index is the charge index i that opens this period.
	Index int `json:"index"`
	// Unit is the interval unit, which decides how usage is measured.
	Unit Unit `json:"unit"`
	// Start is the instant of charge Index.
	Start time.Time `json:"start"`
	// End is the instant of charge Index+1, exclusive.
	End time.Time `json:"end"`
	// FirstDay is the first KST date of service.
	FirstDay Date `json:"first_day"`
	// LastDay is the last KST date of service (이용완료일).
	LastDay Date `json:"last_day"`
}

// Days returns the number of KST dates in the period, FirstDay through
// LastDay inclusive: the denominator of day-based proration.
func (p Period) Days() int {
	return DaysBetween(p.FirstDay, p.LastDay) + 1
}

// NaverUseCfm returns the NaverPay naverUseCfm (이용완료일) of a charge for
// period p: its last day of service as yyyyMMdd. NaverPay requires a date of
// today or later, which holds when the charge happens within its period.
func NaverUseCfm(p Period) string {
	return p.LastDay.NaverUseCfm()
}

// FirstAnchorDate returns the earliest date on or after from whose day is
// the anchor day clamped to its month, min(anchorDay, DaysIn(month)): the
// first charge date of a subscription on a chosen 결제일. From 2025-02-10 with
// anchor 31 it is 2025-02-28, from 2025-03-01 it is 2025-03-31, and from
// 2025-03-31 it is 2025-03-31 itself. It returns the zero Date if from is not
// valid or anchorDay is not in 1..31; [NewRecurrence] then rejects it with an
// error naming the bad value.
func FirstAnchorDate(from Date, anchorDay int) Date {
	if !from.Valid() || CheckAnchorDay(anchorDay) != nil {
		return Date{}
	}
	d := Date{Year: from.Year, Month: from.Month, Day: min(anchorDay, DaysIn(from.Year, from.Month))}
	if d.Before(from) {
		y, m := from.Year, from.Month+1
		if m > time.December {
			y, m = y+1, time.January
		}
		d = Date{Year: y, Month: m, Day: min(anchorDay, DaysIn(y, m))}
	}
	return d
}

// floorDiv64 returns floor(a/b) for b > 0.
func floorDiv64(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
