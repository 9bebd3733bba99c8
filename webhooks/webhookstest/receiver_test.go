package webhookstest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// TestReceiverCountsOnlyItsOwnDeliveries: a loopback port is reused by the kernel, so a
// receiver may be reached by another test's sender, signing with another secret and posting to
// another receiver's path. Such a stray must not count as a bad signature of this receiver's
// sender (CI saw five during TestMerchantEventStreamEndToEnd); a request to its own path signed
// with a secret it does not hold must, and each refusal says why.
func TestReceiverCountsOnlyItsOwnDeliveries(t *testing.T) {
	mine, foreign := webhooks.NewSecret(), webhooks.NewSecret()
	recv, err := New(mine)
	require.NoError(t, err)
	url, closeFn := recv.Serve()
	defer closeFn()
	other, err := New(foreign)
	require.NoError(t, err)
	otherURL, closeOther := other.Serve()
	closeOther()
	strayURL := url[:strings.Index(url, "/hooks/")] + otherURL[strings.Index(otherURL, "/hooks/"):]
	require.NotEqual(t, url, strayURL, "each receiver has its own path")

	ev := billing.MerchantEvent{ID: "evt_sub-1_1", Seq: 1, Type: billing.EventSubscriptionStarted}
	tests := []struct {
		name                            string
		url, secret                     string
		wantStatus                      int
		wantBad, wantStrays, wantEvents int
		wantReason                      string
	}{
		{name: "another test's sender on a reused port", url: strayURL, secret: foreign, wantStatus: http.StatusNotFound, wantStrays: 1, wantReason: "stray"},
		{name: "the bare origin", url: url[:strings.Index(url, "/hooks/")] + "/", secret: mine, wantStatus: http.StatusNotFound, wantStrays: 2, wantReason: "stray"},
		{name: "its own path, a secret it does not hold", url: url, secret: foreign, wantStatus: http.StatusUnauthorized, wantStrays: 2, wantBad: 1, wantReason: "bad signature"},
		{name: "its own path, its secret", url: url, secret: mine, wantStatus: http.StatusNoContent, wantStrays: 2, wantBad: 1, wantEvents: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, err := webhooks.ParseSecrets(tt.secret)
			require.NoError(t, err)
			body, err := json.Marshal(ev)
			require.NoError(t, err)
			h, err := signer.Headers(ev.ID, time.Now(), body)
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodPost, tt.url, bytes.NewReader(body))
			require.NoError(t, err)
			req.Header = h
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, tt.wantStatus, res.StatusCode)
			got := recv.Stats()
			require.Equal(t, tt.wantStrays, got.Strays)
			require.Equal(t, tt.wantBad, got.BadSignatures)
			require.Len(t, got.Events, tt.wantEvents)
			require.Zero(t, got.Incomplete)
			if tt.wantReason != "" {
				last := got.Refusals[len(got.Refusals)-1]
				require.Contains(t, last, tt.wantReason)
				require.NotContains(t, last, strings.TrimPrefix(tt.secret, "whsec_"), "a refusal never names a secret")
			}
		})
	}
}
