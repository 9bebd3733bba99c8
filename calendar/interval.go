package calendar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Unit is the unit of a billing [Interval]. Its values are the lowercase
// strings used in workflow input JSON.
type Unit string

// The billing units. Day, Week, Month and Year are calendar units: charges
// fall on KST dates at a local time of day. Minute and Second are short units
// for demos and tests only: charges are a fixed elapsed time apart, so that a
// whole subscription lifecycle can be watched in a few minutes.
const (
	Day    Unit = "day"
	Week   Unit = "week"
	Month  Unit = "month"
	Year   Unit = "year"
	Minute Unit = "minute"
	Second Unit = "second"
)

const acceptedUnits = "day, week, month, year, minute, second"

// Limits on Interval.Count. They keep every computation far from integer
// overflow and reject obvious input mistakes (a "1000 months" plan).
const (
	MaxCalendarCount = 120
	MaxShortCount    = 3600
)

// IsShort reports whether u is one of the demo/test-only units (minute,
// second), which use [NewShortRecurrence] instead of [NewRecurrence].
func (u Unit) IsShort() bool { return u == Minute || u == Second }

// IsCalendar reports whether u is a calendar unit (day, week, month, year).
func (u Unit) IsCalendar() bool { return u == Day || u == Week || u == Month || u == Year }

// Interval is how often a subscription is charged: every Count Units.
type Interval struct {
	Unit  Unit `json:"unit"`
	Count int  `json:"count"`
}

// UnmarshalJSON reads {"unit": …, "count": N}. An omitted count means 1 (every unit); an explicit
// 0 stays 0 so that Validate refuses it instead of silently billing every single unit. Unknown
// keys are refused: a misspelt "count" must not become a default.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var raw struct {
		Unit  Unit `json:"unit"`
		Count *int `json:"count"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf(`interval must be {"unit": "day"|"week"|"month"|"year", "count": N}: %w`, err)
	}
	iv.Unit, iv.Count = raw.Unit, 1
	if raw.Count != nil {
		iv.Count = *raw.Count
	}
	return nil
}

// Validate reports an error if the unit is unknown (naming the accepted
// values) or the count is out of range: 1..120 for calendar units, 1..3600
// for the short units.
func (iv Interval) Validate() error {
	var maxCount int
	switch {
	case iv.Unit.IsCalendar():
		maxCount = MaxCalendarCount
	case iv.Unit.IsShort():
		maxCount = MaxShortCount
	default:
		return fmt.Errorf("calendar: unknown interval unit %q (accepted: %s)", string(iv.Unit), acceptedUnits)
	}
	if iv.Count < 1 || iv.Count > maxCount {
		return fmt.Errorf("calendar: interval count %d out of range 1..%d for unit %q", iv.Count, maxCount, string(iv.Unit))
	}
	return nil
}

// String describes the interval in English for logs and UIs, for example
// "every month" or "every 3 months".
func (iv Interval) String() string {
	if iv.Count == 1 {
		return "every " + string(iv.Unit)
	}
	return "every " + strconv.Itoa(iv.Count) + " " + string(iv.Unit) + "s"
}
