package activities

import (
	"testing"
	"time"

	"github.com/paycycle/paycycle/calendar"
)

// Found by the sweep: a charge retried by the activity after midnight KST sent the previous
// day's 이용완료일, which NaverPay refuses.
func TestNaverUseCfmIsNeverBeforeTheRequestDay(t *testing.T) {
	at := time.Date(2025, 4, 20, 0, 0, 1, 0, calendar.Seoul)
	for _, tc := range []struct{ cfm, want string }{
		{"", ""},
		{"20250419", "20250420"},
		{"20250420", "20250420"},
		{"20250426", "20250426"},
	} {
		if got := naverUseCfmNotBefore(tc.cfm, at); got != tc.want {
			t.Errorf("naverUseCfmNotBefore(%q) = %q, want %q", tc.cfm, got, tc.want)
		}
	}
	// 23:59:59 KST is still the 19th, whatever the UTC date says.
	if got := naverUseCfmNotBefore("20250419", time.Date(2025, 4, 19, 14, 59, 59, 0, time.UTC)); got != "20250419" {
		t.Errorf("got %q at 23:59:59 KST", got)
	}
}
