package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// intervalUnits maps the unit words a person types to calendar units. "m" is deliberately
// missing: it could mean month or minute, and guessing wrong bills someone 43,200 times too often.
var intervalUnits = map[string]calendar.Unit{
	"second": calendar.Second, "seconds": calendar.Second, "sec": calendar.Second, "secs": calendar.Second, "s": calendar.Second,
	"minute": calendar.Minute, "minutes": calendar.Minute, "min": calendar.Minute, "mins": calendar.Minute,
	"day": calendar.Day, "days": calendar.Day, "d": calendar.Day,
	"week": calendar.Week, "weeks": calendar.Week, "w": calendar.Week,
	"month": calendar.Month, "months": calendar.Month, "mo": calendar.Month,
	"year": calendar.Year, "years": calendar.Year, "yr": calendar.Year, "y": calendar.Year,
}

// intervalAliases are the adverbs people use for the common plans.
var intervalAliases = map[string]calendar.Interval{
	"daily":    {Unit: calendar.Day, Count: 1},
	"weekly":   {Unit: calendar.Week, Count: 1},
	"monthly":  {Unit: calendar.Month, Count: 1},
	"yearly":   {Unit: calendar.Year, Count: 1},
	"annually": {Unit: calendar.Year, Count: 1},
}

var intervalPattern = regexp.MustCompile(`^(\d+)?\s*([a-z]+)$`)

// parseInterval reads "1 month", "3 months", "1 year", "7 days", "1 week", "30 seconds",
// "month" or "monthly" into a calendar.Interval. The count's range is left to
// calendar.Interval.Validate, so the CLI and the workflow refuse the same values with the same
// words.
func parseInterval(s string) (calendar.Interval, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if iv, ok := intervalAliases[t]; ok {
		return iv, nil
	}
	m := intervalPattern.FindStringSubmatch(t)
	if m == nil {
		return calendar.Interval{}, fmt.Errorf("%q is not an interval: want e.g. \"1 month\", \"3 months\", \"1 year\", \"7 days\", \"1 week\" or \"30 seconds\"", s)
	}
	unit, ok := intervalUnits[m[2]]
	if !ok {
		return calendar.Interval{}, fmt.Errorf("%q: unknown unit %q (accepted: second, minute, day, week, month, year)", s, m[2])
	}
	count := 1
	if m[1] != "" {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return calendar.Interval{}, fmt.Errorf("%q: the count must be a whole number of at least 1", s)
		}
		count = n
	}
	return calendar.Interval{Unit: unit, Count: count}, nil
}

// formatInterval is parseInterval's inverse, for output a person can paste back into -interval.
func formatInterval(iv calendar.Interval) string {
	if iv.Unit == "" {
		return "-"
	}
	n := iv.Count
	if n == 0 {
		n = 1
	}
	if n == 1 {
		return "1 " + string(iv.Unit)
	}
	return strconv.Itoa(n) + " " + string(iv.Unit) + "s"
}

// parseAnchorDay reads "today" (or empty) as 0 and a day of month as its number. The 1..31 range
// is checked by Plan.Validate so the message matches the workflow's.
func parseAnchorDay(s string) (billing.AnchorDay, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" || t == "today" {
		return 0, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a day of month: want 1..31 or \"today\"", s)
	}
	return billing.AnchorDay(n), nil
}

// parseAmount reads whole KRW, tolerating the thousands separators people copy from invoices
// ("9,900", "9_900"). Decimals are refused: KRW has no minor unit.
func parseAmount(s string) (int64, error) {
	t := strings.NewReplacer(",", "", "_", "", " ", "").Replace(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(t), "KRW"), "원")
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number of KRW (e.g. 9900 or 9,900)", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("%q must not be negative", s)
	}
	return n, nil
}

// parseRetryAfter reads a comma-separated list of offsets such as "1d,3d,5d,7d".
func parseRetryAfter(s string) ([]billing.Duration, error) {
	if strings.TrimSpace(s) == "none" {
		return []billing.Duration{}, nil // an explicit empty list: no retries
	}
	var out []billing.Duration
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("%q: entry %d is empty; want e.g. \"1d,3d,5d,7d\"", s, i+1)
		}
		d, err := billing.ParseDuration(part)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %v", i+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseResumeAt reads an RFC 3339 instant, or a date meaning 00:00 in Asia/Seoul, because the
// billing team thinks in Korean calendar days.
func parseResumeAt(s string) (time.Time, error) {
	t := strings.TrimSpace(s)
	if ts, err := time.Parse(time.RFC3339, t); err == nil {
		return ts.UTC(), nil
	}
	if d, err := time.ParseInLocation("2006-01-02", t, calendar.Seoul); err == nil {
		return d.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-03-01T10:00:00+09:00) nor a date (2026-03-01, meaning 00:00 KST)", s)
}
