package calendar

import "fmt"

// TimeOfDay is a local wall-clock time (hour and minute) in Asia/Seoul at
// which charges happen. It is stored next to the anchor day instead of a UTC
// timestamp so that the charge stays at the same local time every period.
// Its text (and JSON) form is "15:04".
type TimeOfDay struct {
	Hour   int
	Minute int
}

// DefaultChargeTime is 10:00 KST (01:00 UTC): inside business hours, far from
// the midnight date boundary and from late-night PG and bank batch windows,
// and early enough that a customer can fix a declined card the same day.
var DefaultChargeTime = TimeOfDay{Hour: 10, Minute: 0}

// ParseTimeOfDay parses exactly "HH:MM" (24-hour, two digits each), for
// example "10:00" or "23:59".
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	if len(s) != 5 || s[2] != ':' || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[3]) || !isDigit(s[4]) {
		return TimeOfDay{}, fmt.Errorf("calendar: invalid time of day %q, want HH:MM", s)
	}
	tod := TimeOfDay{
		Hour:   int(s[0]-'0')*10 + int(s[1]-'0'),
		Minute: int(s[3]-'0')*10 + int(s[4]-'0'),
	}
	if err := tod.Validate(); err != nil {
		return TimeOfDay{}, fmt.Errorf("calendar: invalid time of day %q: %w", s, err)
	}
	return tod, nil
}

// Validate reports an error naming the bad field if the hour is not in 0..23
// or the minute is not in 0..59.
func (t TimeOfDay) Validate() error {
	if t.Hour < 0 || t.Hour > 23 {
		return fmt.Errorf("calendar: hour %d out of range 0..23", t.Hour)
	}
	if t.Minute < 0 || t.Minute > 59 {
		return fmt.Errorf("calendar: minute %d out of range 0..59", t.Minute)
	}
	return nil
}

// String formats t as "HH:MM".
func (t TimeOfDay) String() string {
	return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute)
}

// MarshalText encodes t as "HH:MM"; an invalid time of day is an error so it
// never reaches workflow state.
func (t TimeOfDay) MarshalText() ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return []byte(t.String()), nil
}

// UnmarshalText decodes "HH:MM" with the same strictness as [ParseTimeOfDay].
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	p, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
