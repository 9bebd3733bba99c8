package portonetest

// V2 webhooks: the 2024-04-25 format ({type, timestamp, data}) signed by Standard Webhooks
// (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>" over
// "{id}.{timestamp}.{body}" with the bytes after "whsec_"), one signature per secret so that a
// receiver holding either secret of a rotation accepts it. The package imports nothing beyond
// the standard library (internal/archtest), so it signs on its own rather than with the
// project's webhooks package; the V2 tests verify with an independent implementation.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// v2Event is the data of one V2 webhook.
type v2Event struct {
	Type           string
	PaymentID      string
	TransactionID  string
	CancellationID string
	BillingKey     string
	// payment is the attempt a Transaction.* event is about: its webhooks[] record the
	// deliveries. trigger is PaymentWebhook.trigger (MANUAL, ASYNC_CANCEL_APPROVED) or empty.
	payment *payment
	trigger string
}

// v2Job is a V2 delivery's fixed part.
type v2Job struct {
	id    string
	body  []byte
	event v2Event
	hook  *v2Hook // the payment's record of this webhook, nil for BillingKey.* events
}

// v2Hook is one webhook of a payment as PaymentWebhook reports it.
type v2Hook struct {
	id            string
	url           string
	origin        FaultOp
	subj          subject
	body          []byte
	event         v2Event
	paymentStatus string
	trigger       string
	triggeredAt   time.Time
	executions    int    // attempts made so far
	maxExecutions int    // 1, or 1 + the retries when WebhookRetries is on
	status        string // empty until the first attempt ends
	requestedAt   time.Time
	respondedAt   time.Time
	responseCode  int
	manualResends int
}

// Webhook delivery statuses (PaymentWebhookStatus).
const (
	v2HookSucceeded  = "SUCCEEDED"
	v2HookNotOK      = "FAILED_NOT_OK_RESPONSE"
	v2HookUnexpected = "FAILED_UNEXPECTED_ERROR"
)

// recordV2AttemptLocked updates the payment's record of a webhook after one attempt.
func (e *Emulator) recordV2AttemptLocked(job *webhookJob, d WebhookDelivery) {
	h := job.v2.hook
	if h == nil {
		return
	}
	h.executions = job.attempt
	h.requestedAt, h.respondedAt, h.responseCode = d.At, d.At, d.StatusCode
	switch {
	case d.OK():
		h.status = v2HookSucceeded
	case d.StatusCode != 0:
		h.status = v2HookNotOK
	default:
		h.status = v2HookUnexpected
	}
}

// v2WireHook is PaymentWebhook.
type v2WireHook struct {
	PaymentStatus         string              `json:"paymentStatus,omitempty"`
	ID                    string              `json:"id"`
	Status                string              `json:"status,omitempty"`
	URL                   string              `json:"url"`
	IsAsync               bool                `json:"isAsync"`
	CurrentExecutionCount int                 `json:"currentExecutionCount"`
	MaxExecutionCount     int                 `json:"maxExecutionCount"`
	Trigger               string              `json:"trigger,omitempty"`
	Request               *v2WireHookRequest  `json:"request,omitempty"`
	Response              *v2WireHookResponse `json:"response,omitempty"`
	TriggeredAt           string              `json:"triggeredAt"`
}

type v2WireHookRequest struct {
	Body        string `json:"body"`
	RequestedAt string `json:"requestedAt,omitempty"`
}

type v2WireHookResponse struct {
	Code        string `json:"code"`
	Header      string `json:"header"`
	Body        string `json:"body"`
	RespondedAt string `json:"respondedAt"`
}

func (h *v2Hook) wire() v2WireHook {
	w := v2WireHook{PaymentStatus: h.paymentStatus, ID: h.id, Status: h.status, URL: h.url, IsAsync: true,
		CurrentExecutionCount: h.executions, MaxExecutionCount: h.maxExecutions, Trigger: h.trigger,
		Request: &v2WireHookRequest{Body: string(h.body)}, TriggeredAt: v2Time(h.triggeredAt)}
	if h.executions > 0 {
		w.Request.RequestedAt = v2Time(h.requestedAt)
	}
	if h.responseCode != 0 {
		// The receiver's headers and body are not kept (only its status).
		w.Response = &v2WireHookResponse{Code: strconv.Itoa(h.responseCode), Header: "", Body: "", RespondedAt: v2Time(h.respondedAt)}
	}
	return w
}

// v2WebhookBody is the 2024-04-25 body. timestamp is the event's time and stays the same
// across resends (v2-api.md §8).
type v2WebhookBody struct {
	Type      string        `json:"type"`
	Timestamp string        `json:"timestamp"`
	Data      v2WebhookData `json:"data"`
}

type v2WebhookData struct {
	StoreID        string `json:"storeId"`
	PaymentID      string `json:"paymentId,omitempty"`
	TransactionID  string `json:"transactionId,omitempty"`
	CancellationID string `json:"cancellationId,omitempty"`
	BillingKey     string `json:"billingKey,omitempty"`
}

// decodeWebhookSecret returns the key bytes of a "whsec_" secret.
func decodeWebhookSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("must start with whsec_")
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) == 0 {
		return nil, errors.New("not base64 after whsec_")
	}
	return raw, nil
}

// signV2Locked returns the Standard Webhooks headers of one attempt at instant at.
func (e *Emulator) signV2Locked(id string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := make([]string, 0, len(e.v2Secrets))
	for _, key := range e.v2Secrets {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return h
}

// enqueueV2WebhookLocked sends ev to each of noticeURLs, else to the console's V2 URL; nothing
// when neither is set.
func (e *Emulator) enqueueV2WebhookLocked(m *merchant, noticeURLs []string, ev v2Event, subj subject, origin FaultOp) {
	targets := noticeURLs
	if len(targets) == 0 && e.opts.V2.WebhookURL != "" {
		targets = []string{e.opts.V2.WebhookURL}
	}
	if len(targets) == 0 {
		return
	}
	body, _ := json.Marshal(v2WebhookBody{ // a struct of strings always marshals
		Type: ev.Type, Timestamp: v2Time(e.clock.Now()),
		Data: v2WebhookData{StoreID: m.storeID, PaymentID: ev.PaymentID, TransactionID: ev.TransactionID,
			CancellationID: ev.CancellationID, BillingKey: ev.BillingKey},
	})
	for _, u := range targets {
		vj := &v2Job{id: "msg_" + strings.ReplaceAll(newUUID(), "-", ""), body: body, event: ev}
		if p := ev.payment; p != nil {
			vj.hook = &v2Hook{id: vj.id, url: u, origin: origin, subj: subj, body: body, event: ev,
				paymentStatus: p.v2Status(), trigger: ev.trigger, triggeredAt: e.clock.Now(), maxExecutions: 1}
			if e.opts.WebhookRetries {
				vj.hook.maxExecutions += webhookMaxRetries
			}
			p.v2.hooks = append(p.v2.hooks, vj.hook)
		}
		e.startDeliveryLocked(&webhookJob{
			url: u, format: WebhookJSON, attempt: 1, origin: origin, subj: subj,
			payload: webhookPayload{ImpUID: ev.TransactionID, MerchantUID: ev.PaymentID, CancellationID: ev.CancellationID},
			v2:      vj,
		})
	}
}

// v2PaymentEvent is the event of a payment attempt's new state.
func v2PaymentEvent(typ string, p *payment) v2Event {
	return v2Event{Type: typ, PaymentID: p.merchantUID, TransactionID: p.impUID, payment: p}
}

// maxManualResends bounds POST /payments/{paymentId}/resend-webhook per webhook id (Guess:
// PortOne documents MAX_WEBHOOK_RETRY_COUNT_REACHED, not the number).
const maxManualResends = 5

// v2ResendWebhook serves POST /payments/{paymentId}/resend-webhook {webhookId?}: the webhook
// (default: the payment's latest) is sent again with the same webhook-id and body, so a
// receiver that de-duplicates by webhook-id sees a duplicate.
func (e *Emulator) v2ResendWebhook(c *v2Call) v2Result {
	id, _, err := c.body.str("webhookId")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	attempts := c.m.v2.attempts[c.r.PathValue("paymentId")]
	if len(attempts) == 0 {
		return v2Fail(http.StatusNotFound, v2PaymentNotFound, "결제 건이 존재하지 않습니다.")
	}
	var hook *v2Hook
	for _, p := range attempts {
		for _, h := range p.v2.hooks {
			if id == "" || h.id == id {
				if hook == nil || !h.triggeredAt.Before(hook.triggeredAt) {
					hook = h
				}
			}
		}
	}
	if hook == nil {
		return v2Fail(http.StatusNotFound, "WEBHOOK_NOT_FOUND", "웹훅 내역이 존재하지 않습니다.")
	}
	if hook.manualResends >= maxManualResends {
		return v2Fail(http.StatusBadRequest, "MAX_WEBHOOK_RETRY_COUNT_REACHED", "동일한 웹훅의 수동 재발송 횟수가 최대에 도달했습니다.")
	}
	hook.manualResends++
	hook.trigger = "MANUAL"
	hook.triggeredAt = e.clock.Now()
	e.startDeliveryLocked(&webhookJob{
		url: hook.url, format: WebhookJSON, attempt: hook.executions + 1, origin: hook.origin, subj: hook.subj,
		payload: webhookPayload{ImpUID: hook.event.TransactionID, MerchantUID: hook.event.PaymentID, CancellationID: hook.event.CancellationID},
		v2:      &v2Job{id: hook.id, body: hook.body, event: hook.event, hook: hook},
	})
	return v2OK(map[string]any{"webhook": hook.wire()})
}
