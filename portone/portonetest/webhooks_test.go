package portonetest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWebhookSingleAttemptByDefault(t *testing.T) {
	rc := newReceiver(t)
	rc.setStatus(http.StatusInternalServerError)
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL })
	h.register("c1")
	h.again("c1", "w-1", 1000)
	d := h.waitHooks(1)
	require.Equal(t, http.StatusInternalServerError, d[0].StatusCode)
	require.False(t, d[0].OK())
	h.clk.Advance(10 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.emu.WaitWebhooks(ctx, 2)
	require.ErrorIs(t, err, context.DeadlineExceeded, "no retry without WebhookRetries")
	require.Len(t, rc.hooks(), 1)
}

func TestWebhookRetries(t *testing.T) {
	rc := newReceiver(t)
	rc.setStatus(http.StatusBadGateway)
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL; o.WebhookRetries = true })
	h.register("c1")
	h.again("c1", "w-1", 1000)
	h.waitHooks(1)

	h.clk.Advance(59 * time.Second)
	require.Len(t, h.emu.Webhooks(), 1, "no retry before a minute has passed")
	h.clk.Advance(time.Second)
	d := h.waitHooks(2)
	require.Equal(t, 2, d[1].Attempt)
	require.Equal(t, t0.Add(time.Minute), d[1].At)

	// Up to 5 retries (6 attempts in all), then PortOne gives up.
	for n := 3; n <= 6; n++ {
		h.clk.Advance(time.Minute)
		d = h.waitHooks(n)
		require.Equal(t, n, d[n-1].Attempt)
	}
	h.clk.Advance(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.emu.WaitWebhooks(ctx, 7)
	require.Error(t, err)
	require.Len(t, rc.hooks(), 6)
}

func TestWebhookRetrySucceeds(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, func(o *Options) { o.WebhookRetries = true })
	h.register("c1")
	h.emu.AddFault(Fault{Action: FaultWebhookFail, Times: 1})
	h.again("c1", "w-1", 1000, map[string]any{"notice_url": rc.URL})
	d := h.waitHooks(1)
	require.Contains(t, d[0].Err, "webhook_fail")
	h.clk.Advance(time.Minute)
	d = h.waitHooks(2)
	require.True(t, d[1].OK())
	require.Len(t, rc.hooks(), 1)
}

func TestWebhookNoRetryOn4xx(t *testing.T) {
	rc := newReceiver(t)
	rc.setStatus(http.StatusNotFound)
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL; o.WebhookRetries = true })
	h.register("c1")
	h.again("c1", "w-1", 1000)
	h.waitHooks(1)
	h.clk.Advance(time.Hour)
	require.Len(t, h.emu.Webhooks(), 1, "only network errors and 5xx are retried")
}

func TestWebhookUnreachableReceiver(t *testing.T) {
	rc := newReceiver(t)
	target := rc.URL
	rc.Close() // nothing listens there any more
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = target })
	h.register("c1")
	h.again("c1", "w-1", 1000)
	d := h.waitHooks(1)
	require.NotEmpty(t, d[0].Err)
	require.Zero(t, d[0].StatusCode)
	status, body := h.control(http.MethodGet, "/__emulator/webhooks", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["deliveries"], 1)
}

func TestNoWebhookWithoutURL(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	require.Equal(t, "paid", h.again("c1", "w-1", 1000).obj(t)["status"])
	require.Empty(t, h.emu.Webhooks())
}
