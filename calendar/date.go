package calendar

import (
	"fmt"
	"time"
	_ "time/tzdata" // embed the zone rules so every worker computes the same instants
)

// Seoul is the Asia/Seoul location, loaded from the tzdata embedded in the
// binary so that every worker (and every replay of a workflow) uses the same
// rules whatever the host's zoneinfo says. All billing dates are local dates
// in this location.
var Seoul = loadSeoul()

func loadSeoul() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		// Cannot happen with time/tzdata linked in; refuse to run with a
		// silently wrong zone rather than bill on the wrong day.
		panic("calendar: cannot load Asia/Seoul from embedded tzdata: " + err.Error())
	}
	return loc
}

// Date is a civil (local) date in Asia/Seoul, without a time of day. Billing
// dates are Dates rather than instants because the customer's 결제일 is a day
// on the Korean calendar, not a UTC timestamp. The zero Date means "no date".
// Its text form (and thus its JSON form) is "2006-01-02".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the Asia/Seoul date of the instant t, whatever t's location.
// 2025-02-28 15:30 UTC is 2025-03-01 00:30 KST and gives 2025-03-01; taking
// the UTC date instead would anchor every sign-up between 00:00 and 08:59 KST
// on the previous day.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Seoul).Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses a date in the form "2006-01-02" and rejects anything else,
// including days that do not exist such as "2025-02-29".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("calendar: invalid date %q, want YYYY-MM-DD: %w", s, err)
	}
	d := Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
	if !d.Valid() {
		return Date{}, fmt.Errorf("calendar: invalid date %q: year out of range 1..9999", s)
	}
	return d, nil
}

// String formats d as "2006-01-02". It formats any field values, valid or not,
// so that error messages can show the bad value.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText encodes d as "2006-01-02" so that a Date is a plain JSON string
// in workflow inputs, state and queries. The zero Date encodes as "" and an
// invalid Date is an error, so a bad date never reaches history unnoticed.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.Valid() {
		return nil, fmt.Errorf("calendar: cannot marshal invalid date %s", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes "2006-01-02" (or "" for the zero Date), with the same
// strictness as [ParseDate].
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// IsZero reports whether d is the zero Date, which stands for "no date".
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real day of the proleptic Gregorian calendar
// with a year in 1..9999 (the range the text form can carry).
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 &&
		d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= DaysIn(d.Year, d.Month)
}

// AddDays returns the date n days after d (before d if n is negative). It is
// pure date arithmetic, independent of any time zone, so adding days never
// shifts the date through an offset change.
func (d Date) AddDays(n int) Date {
	return fromDayNumber(d.dayNumber() + n)
}

// Compare returns -1 if d is before e, 0 if they are the same day and +1 if d
// is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is strictly after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// At returns the instant at which the local time of day tod occurs on d in
// Asia/Seoul. Korea has had no daylight saving time since 1988, so for any
// modern date this is simply d at tod+09:00.
func (d Date) At(tod TimeOfDay) time.Time {
	return time.Date(d.Year, d.Month, d.Day, tod.Hour, tod.Minute, 0, 0, Seoul)
}

// NaverUseCfm formats d as "20060102" (yyyyMMdd), the format NaverPay expects
// for naverUseCfm (이용완료일).
func (d Date) NaverUseCfm() string {
	return fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day)
}

// DaysIn returns the number of days in the given month of the proleptic
// Gregorian calendar (29 for February of a leap year), or 0 if month is not
// in January..December. It is the clamp used for anchor days 29..31.
func DaysIn(year int, month time.Month) int {
	switch month {
	case time.January, time.March, time.May, time.July, time.August, time.October, time.December:
		return 31
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if isLeap(year) {
			return 29
		}
		return 28
	default:
		return 0
	}
}

// DaysBetween returns the number of days from a to b: positive if b is after
// a, so that DaysBetween(a, a.AddDays(n)) == n.
func DaysBetween(a, b Date) int {
	return b.dayNumber() - a.dayNumber()
}

func isLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	default:
		return 0
	}
}

// floorDiv returns floor(a/b) for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// dayNumber returns the number of days since 1970-01-01 (days-from-civil,
// after Howard Hinnant), valid for any year.
func (d Date) dayNumber() int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// fromDayNumber is the inverse of dayNumber.
func fromDayNumber(z int) Date {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return Date{Year: y, Month: time.Month(m), Day: day}
}
