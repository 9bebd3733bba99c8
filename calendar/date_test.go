package calendar_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/calendar"
)

// D parses a date in a test table and fails the test on a typo.
func D(t testing.TB, s string) calendar.Date {
	t.Helper()
	d, err := calendar.ParseDate(s)
	require.NoError(t, err)
	return d
}

func TestSeoulIsEmbeddedAndFixedOffset(t *testing.T) {
	require.NotNil(t, calendar.Seoul)
	assert.Equal(t, "Asia/Seoul", calendar.Seoul.String())
	for _, y := range []int{1990, 2025, 2028, 2100} {
		for _, m := range []time.Month{time.January, time.July} {
			_, off := time.Date(y, m, 1, 0, 0, 0, 0, calendar.Seoul).Zone()
			assert.Equal(t, 9*3600, off, "%d-%02d", y, m)
		}
	}
}

func TestDateOfKSTMidnightBoundary(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"00:30 KST is the previous UTC day", time.Date(2025, 2, 28, 15, 30, 0, 0, time.UTC), "2025-03-01"},
		{"00:00 KST exactly", time.Date(2025, 2, 28, 15, 0, 0, 0, time.UTC), "2025-03-01"},
		{"23:59:59.999 KST", time.Date(2025, 2, 28, 14, 59, 59, 999999999, time.UTC), "2025-02-28"},
		{"23:59 KST", time.Date(2025, 2, 28, 23, 59, 0, 0, calendar.Seoul), "2025-02-28"},
		{"08:59 KST sign-up", time.Date(2025, 3, 31, 8, 59, 0, 0, calendar.Seoul), "2025-03-31"},
		{"09:00 KST = 00:00 UTC", time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC), "2025-03-31"},
		{"year end in KST", time.Date(2025, 12, 31, 15, 0, 0, 0, time.UTC), "2026-01-01"},
		{"leap day in KST", time.Date(2028, 2, 28, 15, 0, 0, 0, time.UTC), "2028-02-29"},
		{"location of t does not matter", time.Date(2025, 2, 28, 10, 30, 0, 0, ny), "2025-03-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, calendar.DateOf(tc.at).String())
		})
	}
}

func TestDateAtIsKST(t *testing.T) {
	got := D(t, "2025-03-01").At(calendar.DefaultChargeTime)
	assert.True(t, got.Equal(time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC)), "10:00 KST must be 01:00 UTC, got %s", got.UTC())
	assert.Equal(t, calendar.Seoul, got.Location())
	got = D(t, "2025-03-01").At(calendar.TimeOfDay{Hour: 0, Minute: 30})
	assert.True(t, got.Equal(time.Date(2025, 2, 28, 15, 30, 0, 0, time.UTC)))
	assert.Equal(t, "2025-03-01", calendar.DateOf(got).String())
}

func TestParseDate(t *testing.T) {
	d, err := calendar.ParseDate("2024-02-29")
	require.NoError(t, err)
	assert.Equal(t, calendar.Date{Year: 2024, Month: time.February, Day: 29}, d)

	for _, bad := range []string{"", "2025-02-29", "2025-13-01", "2025-00-10", "2025-04-31", "2025-1-31", "25-01-31", "2025/01/31", "2025-01-31T00:00:00Z", "0000-01-01", " 2025-01-31"} {
		_, err := calendar.ParseDate(bad)
		if assert.Error(t, err, "%q", bad) {
			assert.Contains(t, err.Error(), "calendar: invalid date")
			assert.Contains(t, err.Error(), bad)
		}
	}
}

func TestDateValidAndZero(t *testing.T) {
	assert.True(t, calendar.Date{}.IsZero())
	assert.False(t, calendar.Date{}.Valid())
	assert.True(t, D(t, "0001-01-01").Valid())
	assert.True(t, D(t, "9999-12-31").Valid())
	for _, bad := range []calendar.Date{
		{Year: 2025, Month: 2, Day: 29},
		{Year: 2025, Month: 4, Day: 31},
		{Year: 2025, Month: 0, Day: 1},
		{Year: 2025, Month: 13, Day: 1},
		{Year: 2025, Month: 1, Day: 0},
		{Year: 0, Month: 1, Day: 1},
		{Year: 10000, Month: 1, Day: 1},
	} {
		assert.False(t, bad.Valid(), "%s", bad)
		assert.False(t, bad.IsZero())
	}
}

func TestDateText(t *testing.T) {
	type wrapper struct {
		D calendar.Date `json:"d"`
	}
	b, err := json.Marshal(wrapper{D(t, "2025-01-31")})
	require.NoError(t, err)
	assert.JSONEq(t, `{"d":"2025-01-31"}`, string(b))

	var w wrapper
	require.NoError(t, json.Unmarshal([]byte(`{"d":"2028-02-29"}`), &w))
	assert.Equal(t, D(t, "2028-02-29"), w.D)

	b, err = json.Marshal(wrapper{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"d":""}`, string(b))
	w = wrapper{D(t, "2025-01-01")}
	require.NoError(t, json.Unmarshal([]byte(`{"d":""}`), &w))
	assert.True(t, w.D.IsZero())

	_, err = json.Marshal(wrapper{calendar.Date{Year: 2025, Month: 2, Day: 30}})
	require.ErrorContains(t, err, "invalid date 2025-02-30")
	require.ErrorContains(t, json.Unmarshal([]byte(`{"d":"2025-02-30"}`), &w), `"2025-02-30"`)
}

func TestDateStringAndNaverUseCfm(t *testing.T) {
	d := D(t, "2025-03-09")
	assert.Equal(t, "2025-03-09", d.String())
	assert.Equal(t, "20250309", d.NaverUseCfm())
	assert.Equal(t, "20281231", D(t, "2028-12-31").NaverUseCfm())
}

func TestDaysIn(t *testing.T) {
	tests := []struct {
		year  int
		month time.Month
		want  int
	}{
		{2025, time.January, 31}, {2025, time.February, 28}, {2024, time.February, 29},
		{2000, time.February, 29}, {1900, time.February, 28}, {2100, time.February, 28},
		{2400, time.February, 29}, {2025, time.April, 30}, {2025, time.June, 30},
		{2025, time.September, 30}, {2025, time.November, 30}, {2025, time.December, 31},
		{2025, 0, 0}, {2025, 13, 0},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, calendar.DaysIn(tc.year, tc.month), "%d-%02d", tc.year, tc.month)
	}
	// Cross-check every month of 1600..2400 against the time package.
	for y := 1600; y <= 2400; y++ {
		for m := time.January; m <= time.December; m++ {
			want := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
			if got := calendar.DaysIn(y, m); got != want {
				t.Fatalf("DaysIn(%d, %d) = %d, want %d", y, m, got, want)
			}
		}
	}
}

func TestAddDaysAndDaysBetweenMatchTimePackage(t *testing.T) {
	base := time.Date(1600, 1, 1, 12, 0, 0, 0, time.UTC)
	origin := calendar.Date{Year: 1600, Month: 1, Day: 1}
	for k := 0; k < 800*366; k += 7 {
		tt := base.AddDate(0, 0, k)
		want := calendar.Date{Year: tt.Year(), Month: tt.Month(), Day: tt.Day()}
		got := origin.AddDays(k)
		if got != want {
			t.Fatalf("AddDays(%d) = %s, want %s", k, got, want)
		}
		if n := calendar.DaysBetween(origin, want); n != k {
			t.Fatalf("DaysBetween(%s, %s) = %d, want %d", origin, want, n, k)
		}
		if back := want.AddDays(-k); back != origin {
			t.Fatalf("%s.AddDays(%d) = %s, want %s", want, -k, back, origin)
		}
	}
	tests := []struct {
		d    string
		n    int
		want string
	}{
		{"2024-02-28", 1, "2024-02-29"},
		{"2025-02-28", 1, "2025-03-01"},
		{"2025-12-31", 1, "2026-01-01"},
		{"2026-01-01", -1, "2025-12-31"},
		{"2024-03-01", -1, "2024-02-29"},
		{"2025-01-31", 28, "2025-02-28"},
		{"2025-01-01", 365, "2026-01-01"},
		{"2024-01-01", 366, "2025-01-01"},
		{"2025-05-05", 0, "2025-05-05"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, D(t, tc.d).AddDays(tc.n).String(), "%s%+d", tc.d, tc.n)
		assert.Equal(t, tc.n, calendar.DaysBetween(D(t, tc.d), D(t, tc.want)))
	}
}

func TestDateCompare(t *testing.T) {
	a, b := D(t, "2025-02-28"), D(t, "2025-03-01")
	assert.Equal(t, -1, a.Compare(b))
	assert.Equal(t, 1, b.Compare(a))
	assert.Equal(t, 0, a.Compare(a))
	assert.True(t, a.Before(b))
	assert.False(t, b.Before(a))
	assert.False(t, a.Before(a))
	assert.True(t, b.After(a))
	assert.False(t, a.After(a))
	assert.Equal(t, -1, D(t, "2024-12-31").Compare(D(t, "2025-01-01")))
	assert.Equal(t, 1, D(t, "2025-01-10").Compare(D(t, "2025-01-09")))
}

func TestTimeOfDay(t *testing.T) {
	tod, err := calendar.ParseTimeOfDay("10:00")
	require.NoError(t, err)
	assert.Equal(t, calendar.DefaultChargeTime, tod)
	assert.Equal(t, "10:00", tod.String())
	tod, err = calendar.ParseTimeOfDay("23:59")
	require.NoError(t, err)
	assert.Equal(t, calendar.TimeOfDay{Hour: 23, Minute: 59}, tod)
	tod, err = calendar.ParseTimeOfDay("00:00")
	require.NoError(t, err)
	assert.Equal(t, calendar.TimeOfDay{}, tod)

	for _, bad := range []struct{ in, msg string }{
		{"24:00", "hour 24 out of range 0..23"},
		{"10:60", "minute 60 out of range 0..59"},
		{"10:0", "want HH:MM"},
		{"1000", "want HH:MM"},
		{"ab:cd", "want HH:MM"},
		{"-1:00", "want HH:MM"},
		{"", "want HH:MM"},
		{"10:00:00", "want HH:MM"},
	} {
		_, err := calendar.ParseTimeOfDay(bad.in)
		if assert.Error(t, err, bad.in) {
			assert.Contains(t, err.Error(), bad.msg)
			assert.Contains(t, err.Error(), `"`+bad.in+`"`)
		}
	}
	require.EqualError(t, calendar.TimeOfDay{Hour: -1}.Validate(), "calendar: hour -1 out of range 0..23")
	require.EqualError(t, calendar.TimeOfDay{Minute: 75}.Validate(), "calendar: minute 75 out of range 0..59")

	type wrapper struct {
		T calendar.TimeOfDay `json:"t"`
	}
	b, err := json.Marshal(wrapper{calendar.TimeOfDay{Hour: 9, Minute: 5}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"t":"09:05"}`, string(b))
	var w wrapper
	require.NoError(t, json.Unmarshal([]byte(`{"t":"10:00"}`), &w))
	assert.Equal(t, calendar.DefaultChargeTime, w.T)
	require.Error(t, json.Unmarshal([]byte(`{"t":"25:00"}`), &w))
	_, err = json.Marshal(wrapper{calendar.TimeOfDay{Hour: 24}})
	require.ErrorContains(t, err, "hour 24")
}
