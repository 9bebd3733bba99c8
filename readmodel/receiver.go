package readmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// maxEventBytes bounds a received body: an event is a few KB.
const maxEventBytes = 1 << 20

// Receiver is the http.Handler that receives the merchant events from the webhooks outbox (add
// its URL to the worker's webhook endpoints): it verifies the Standard Webhooks signature with
// the configured secrets, decodes the event and applies it, answering 2xx only once it is
// committed, so that the outbox retries anything not stored. A duplicate and an event held
// behind a gap are answered 2xx too (they are stored; nothing is lost); the header
// Readmodel-Result says which ("applied", "duplicate", "held", "superseded").
type Receiver struct {
	store  *Store
	signer *webhooks.Signer
}

// NewReceiver returns a Receiver applying events to store, verifying signatures with secrets
// (the Standard Webhooks "whsec_…" secrets the worker signs with, comma- or space-separated:
// during a rotation both verify).
func NewReceiver(store *Store, secrets string) (*Receiver, error) {
	if store == nil {
		return nil, errors.New("readmodel: receiver: no store")
	}
	signer, err := webhooks.ParseSecrets(secrets)
	if err != nil {
		return nil, fmt.Errorf("readmodel: receiver: %w", err)
	}
	return &Receiver{store: store, signer: signer}, nil
}

// ServeHTTP receives one event.
func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST the event", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBytes+1))
	if err != nil {
		http.Error(w, "body not read", http.StatusBadRequest)
		return
	}
	if len(body) > maxEventBytes {
		http.Error(w, fmt.Sprintf("body over %d bytes", maxEventBytes), http.StatusRequestEntityTooLarge)
		return
	}
	if err := rv.signer.Verify(body, r.Header); err != nil {
		http.Error(w, "signature not valid for any configured secret (or timestamp too old)", http.StatusUnauthorized)
		return
	}
	// Lenient on unknown fields: a field a newer worker adds must not stop the projection (a
	// refused event is retried for the delivery window, then lost to it); a missing or wrong one
	// is refused by Accept, naming it.
	var e billing.MerchantEvent
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "event does not decode: "+err.Error(), http.StatusBadRequest)
		return
	}
	if id := r.Header.Get("webhook-id"); id != e.ID {
		http.Error(w, "webhook-id header is not the event's id", http.StatusBadRequest)
		return
	}
	res, err := rv.store.Accept(r.Context(), e)
	var bad *BadEventError
	switch {
	case errors.As(err, &bad):
		http.Error(w, bad.Error(), http.StatusBadRequest)
		return
	case err != nil:
		// Not stored: the outbox delivers it again.
		http.Error(w, "not stored; retry", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Readmodel-Result", res.String())
	w.WriteHeader(http.StatusNoContent)
}
