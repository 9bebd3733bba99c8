package portonetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// PortOne's webhook delivery policy (v1-api.md §8): one attempt by default; on request up to
// 5 retries at 1-minute intervals after a network error or a 5xx. Bodies are unsigned.
const (
	webhookTimeout    = 10 * time.Second
	webhookRetryDelay = time.Minute
	webhookMaxRetries = 5
)

// WebhookDelivery is one webhook delivery attempt.
type WebhookDelivery struct {
	// URL is the notice_url it was sent to.
	URL string `json:"url"`
	// Body is the exact request body.
	Body string `json:"body"`
	// Format is WebhookJSON or WebhookForm.
	Format string `json:"format"`
	// ImpUID, MerchantUID and Status are the payload fields; CancellationID is set on cancel
	// notifications.
	ImpUID         string `json:"imp_uid"`
	MerchantUID    string `json:"merchant_uid"`
	Status         string `json:"status"`
	CancellationID string `json:"cancellation_id,omitempty"`
	// StatusCode is the receiver's HTTP status, 0 when no answer arrived.
	StatusCode int `json:"status_code"`
	// Err describes a failed attempt (network error, timeout, injected webhook_fail); empty
	// when the receiver answered.
	Err string `json:"err,omitempty"`
	// At is when the attempt was made, on the emulator's clock.
	At time.Time `json:"at"`
	// Attempt is 1 for the first attempt and counts up across retries.
	Attempt int `json:"attempt"`
	// Version is VersionV2 for a V2 webhook (2024-04-25 format) and empty for V1. On a V2
	// delivery ImpUID is the transactionId, MerchantUID the paymentId, Status empty, and:
	Version string `json:"version,omitempty"`
	// Type is the V2 event type (Transaction.Paid, BillingKey.Issued, ...).
	Type string `json:"type,omitempty"`
	// BillingKey is the V2 event's billingKey (BillingKey.* events).
	BillingKey string `json:"billing_key,omitempty"`
	// Header holds the Standard Webhooks headers sent (webhook-id, webhook-timestamp,
	// webhook-signature with one "v1,..." per secret).
	Header http.Header `json:"header,omitempty"`
	// Duplicate marks the second sending of a webhook_duplicate fault.
	Duplicate bool `json:"duplicate,omitempty"`
}

// OK reports whether the receiver accepted the delivery (a 2xx answer).
func (d WebhookDelivery) OK() bool { return d.Err == "" && d.StatusCode >= 200 && d.StatusCode < 300 }

// webhookJob is a delivery waiting to be attempted.
type webhookJob struct {
	url, format string
	payload     webhookPayload
	attempt     int
	due         time.Time
	origin      FaultOp
	subj        subject
	// v2 is set for a V2 delivery: the body and message id are fixed, the headers are signed
	// at each attempt.
	v2 *v2Job
	// delayed marks a job a webhook_delay fault already held back once.
	delayed bool
	// queued is the emulator's time when the webhook was triggered: a webhook_delay fault holds
	// it back from then, not from when its delivery goroutine got to run (a test that advances
	// the clock right after the request would otherwise hold it for ever).
	queued time.Time
}

// webhookPayload is the V1 notification body: imp_uid, merchant_uid, status and, on cancel
// notifications, cancellation_id. Nothing else is documented (no customer_uid, no amount).
type webhookPayload struct {
	ImpUID         string `json:"imp_uid"`
	MerchantUID    string `json:"merchant_uid"`
	Status         string `json:"status"`
	CancellationID string `json:"cancellation_id,omitempty"`
}

func (p webhookPayload) encode(format string) (body []byte, contentType string) {
	if format == WebhookForm {
		v := url.Values{}
		v.Set("imp_uid", p.ImpUID)
		v.Set("merchant_uid", p.MerchantUID)
		v.Set("status", p.Status)
		if p.CancellationID != "" {
			v.Set("cancellation_id", p.CancellationID)
		}
		return []byte(v.Encode()), "application/x-www-form-urlencoded"
	}
	b, _ := json.Marshal(p) // a struct of strings always marshals
	return b, "application/json"
}

// enqueueWebhookLocked starts delivering a notification for p. Nothing is sent when neither
// the request nor the options name a URL, as on PortOne without a console URL.
func (e *Emulator) enqueueWebhookLocked(m *merchant, target string, p *payment, status, cancellationID string, origin FaultOp) {
	if target == "" {
		return
	}
	job := &webhookJob{
		url: target, format: e.opts.WebhookFormat, attempt: 1, origin: origin,
		payload: webhookPayload{ImpUID: p.impUID, MerchantUID: p.merchantUID, Status: status, CancellationID: cancellationID},
		subj:    subject{merchant: m.key, customerUID: p.customerUID, merchantUID: p.merchantUID},
	}
	e.startDeliveryLocked(job)
}

// startDeliveryLocked runs one attempt in its own goroutine, so that a slow receiver never
// blocks the API or the scheduler, and a receiver that calls back into the emulator cannot
// deadlock it.
func (e *Emulator) startDeliveryLocked(job *webhookJob) {
	if e.closed {
		return
	}
	if job.queued.IsZero() {
		job.queued = e.clock.Now()
	}
	e.wg.Add(1)
	go e.deliver(job)
}

func (e *Emulator) deliver(job *webhookJob) {
	defer e.wg.Done()
	var (
		body        []byte
		contentType string
		header      http.Header
	)
	e.mu.Lock()
	at := e.clock.Now()
	if !job.delayed {
		if f := e.fireLocked(job.origin, job.subj, FaultWebhookDelay); f != nil {
			late := *job
			late.delayed, late.due = true, job.queued.Add(f.Latency)
			if !e.closed {
				e.retries = append(e.retries, &late)
			}
			e.mu.Unlock()
			return
		}
	}
	suppressed := e.fireLocked(job.origin, job.subj, FaultWebhookFail)
	var duplicate *Fault
	if suppressed == nil {
		duplicate = e.fireLocked(job.origin, job.subj, FaultWebhookDuplicate)
	}
	if job.v2 != nil {
		body, contentType = job.v2.body, "application/json"
		header = e.signV2Locked(job.v2.id, at, body)
	} else {
		body, contentType = job.payload.encode(job.format)
	}
	e.mu.Unlock()

	d := WebhookDelivery{
		URL: job.url, Body: string(body), Format: job.format,
		ImpUID: job.payload.ImpUID, MerchantUID: job.payload.MerchantUID, Status: job.payload.Status,
		CancellationID: job.payload.CancellationID, At: at, Attempt: job.attempt,
	}
	if job.v2 != nil {
		d.Version, d.Type, d.BillingKey, d.Header = VersionV2, job.v2.event.Type, job.v2.event.BillingKey, header
	}
	if suppressed != nil {
		d.Err = "not sent: webhook_fail fault injected"
	} else {
		d.StatusCode, d.Err = e.post(job.url, contentType, body, header)
	}

	var again *WebhookDelivery
	if duplicate != nil {
		dup := d
		dup.Duplicate = true
		dup.StatusCode, dup.Err = e.post(job.url, contentType, body, header)
		again = &dup
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.deliveries = append(e.deliveries, d)
	if again != nil {
		e.deliveries = append(e.deliveries, *again)
	}
	if job.v2 != nil {
		e.recordV2AttemptLocked(job, d)
	}
	// Network errors and 5xx are documented as retried; Guess: a suppressed (webhook_fail)
	// attempt counts as a network error.
	retryable := d.Err != "" || d.StatusCode >= 500
	if retryable && e.opts.WebhookRetries && job.attempt <= webhookMaxRetries && !e.closed {
		next := *job
		next.attempt++
		next.due = at.Add(webhookRetryDelay)
		e.retries = append(e.retries, &next)
	}
	close(e.webhookSignal)
	e.webhookSignal = make(chan struct{})
	e.log.Info("webhook", slog.String("merchant_uid", d.MerchantUID), slog.String("status", d.Status),
		slog.Int("attempt", d.Attempt), slog.Int("http_status", d.StatusCode), slog.String("err", d.Err))
}

// post sends one webhook with PortOne's 10-second timeout.
func (e *Emulator) post(target, contentType string, body []byte, header http.Header) (int, string) {
	ctx, cancel := context.WithTimeout(e.ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Sprintf("building request: %v", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "portone-emulator-webhook/1")
	resp, err := e.httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, ""
}

// runDueRetriesLocked starts the retries whose time has come.
func (e *Emulator) runDueRetriesLocked(now time.Time) {
	keep := e.retries[:0]
	var due []*webhookJob
	for _, j := range e.retries {
		if !j.due.After(now) {
			due = append(due, j)
		} else {
			keep = append(keep, j)
		}
	}
	e.retries = keep
	for _, j := range due {
		e.startDeliveryLocked(j)
	}
}

// Webhooks returns every delivery attempt so far, in the order they completed.
func (e *Emulator) Webhooks() []WebhookDelivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]WebhookDelivery(nil), e.deliveries...)
}

// WaitWebhooks waits until at least n delivery attempts have completed and returns all of
// them, or returns ctx's error. Deliveries are asynchronous, so tests wait with this instead
// of sleeping.
func (e *Emulator) WaitWebhooks(ctx context.Context, n int) ([]WebhookDelivery, error) {
	for {
		e.mu.Lock()
		if len(e.deliveries) >= n {
			out := append([]WebhookDelivery(nil), e.deliveries...)
			e.mu.Unlock()
			return out, nil
		}
		ch := e.webhookSignal
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return e.Webhooks(), fmt.Errorf("portonetest: waiting for %d webhook deliveries: %w", n, ctx.Err())
		}
	}
}
