package calendar_test

import (
	"testing"
	"time"

	"github.com/paycycle/paycycle/calendar"
)

var sinkTime time.Time
var sinkInt int

func benchRecs(b *testing.B) map[string]calendar.Recurrence {
	month := monthly(b, 1, "2025-01-31", 31)
	day := mustRec(b, calendar.Interval{Unit: calendar.Day, Count: 28}, "2025-01-31", 0)
	short, err := calendar.NewShortRecurrence(calendar.Interval{Unit: calendar.Second, Count: 30}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	return map[string]calendar.Recurrence{"month": month, "28days": day, "30s": short}
}

func BenchmarkChargeAt(b *testing.B) {
	for _, name := range []string{"month", "28days", "30s"} {
		r := benchRecs(b)[name]
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				sinkTime = r.ChargeAt(i % 5000)
			}
		})
	}
}

func BenchmarkIndexAt(b *testing.B) {
	for _, name := range []string{"month", "28days", "30s"} {
		r := benchRecs(b)[name]
		ts := make([]time.Time, 1024)
		for k := range ts {
			ts[k] = r.ChargeAt(k * 3).Add(time.Duration(k) * time.Minute)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				sinkInt = r.IndexAt(ts[i%len(ts)])
			}
		})
	}
}

func BenchmarkPeriod(b *testing.B) {
	r := benchRecs(b)["month"]
	var sink calendar.Period
	for i := 0; b.Loop(); i++ {
		sink = r.Period(i % 5000)
	}
	_ = sink
}
