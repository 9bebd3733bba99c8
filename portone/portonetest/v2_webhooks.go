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
}

// v2Job is a V2 delivery's fixed part.
type v2Job struct {
	id    string
	body  []byte
	event v2Event
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
		job := &webhookJob{
			url: u, format: WebhookJSON, attempt: 1, origin: origin, subj: subj,
			payload: webhookPayload{ImpUID: ev.TransactionID, MerchantUID: ev.PaymentID, CancellationID: ev.CancellationID},
			v2:      &v2Job{id: "msg_" + strings.ReplaceAll(newUUID(), "-", ""), body: body, event: ev},
		}
		e.startDeliveryLocked(job)
	}
}

// v2PaymentEvent is the event of a payment attempt's new state.
func v2PaymentEvent(typ string, p *payment) v2Event {
	return v2Event{Type: typ, PaymentID: p.merchantUID, TransactionID: p.impUID}
}
