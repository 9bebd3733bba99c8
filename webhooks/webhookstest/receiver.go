// Package webhookstest is a reference receiver of paycycle's merchant webhooks, as a merchant
// would write one with an existing Standard Webhooks verifier: it verifies every signature,
// drops duplicates by event ID, and checks that each subscription's events arrive in sequence.
// Tests run it on loopback and make it fail, stall or lose its answers.
package webhookstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/paycycle/paycycle/billing"
)

// Receiver is an http.Handler that accepts paycycle events.
type Receiver struct {
	verifiers []*standardwebhooks.Webhook

	mu sync.Mutex
	// events are the accepted events, first delivery only, in arrival order.
	events []billing.MerchantEvent
	// requests counts every request, duplicates and refusals included.
	requests int
	// duplicates counts deliveries of an event ID already accepted.
	duplicates int
	// badSignatures counts requests that failed verification.
	badSignatures int
	// outOfOrder lists events that arrived before an earlier Seq of their subscription.
	outOfOrder []string
	seen       map[string]bool
	lastSeq    map[string]int64

	// failNext makes the next n requests answer 503 (a receiver that is down).
	failNext int
	// loseNext makes the next n accepted requests answer 500 after accepting (a lost answer:
	// the sender must deliver again and the receiver must drop the duplicate).
	loseNext int
	// down answers 503 to everything while true.
	down bool
	// delay is how long each request takes before it is answered (a slow receiver).
	delay time.Duration
}

// New returns a receiver that accepts events signed with any of secrets (whsec_…).
func New(secrets ...string) (*Receiver, error) {
	r := &Receiver{seen: map[string]bool{}, lastSeq: map[string]int64{}}
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, err
		}
		r.verifiers = append(r.verifiers, wh)
	}
	return r, nil
}

// Serve starts the receiver on a loopback port; the server is closed by the returned func.
func (r *Receiver) Serve() (url string, closeFn func()) {
	srv := httptest.NewServer(r)
	return srv.URL + "/hooks/paycycle", srv.Close
}

// ServeHTTP verifies and records one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	r.requests++
	delay := r.delay
	fail := r.down || r.failNext > 0
	if r.failNext > 0 {
		r.failNext--
	}
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if fail {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if err != nil || !r.verify(body, req.Header) {
		r.mu.Lock()
		r.badSignatures++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev billing.MerchantEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != req.Header.Get("webhook-id") {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[ev.ID] {
		r.duplicates++
		w.WriteHeader(http.StatusOK)
		return
	}
	r.seen[ev.ID] = true
	// Order is per stream: a subscription ID reused after its end starts again at 1 (its event
	// IDs carry the new incarnation's tag before the sequence number).
	stream := ev.ID[:max(0, strings.LastIndexByte(ev.ID, '_'))]
	if last := r.lastSeq[stream]; ev.Seq <= last {
		r.outOfOrder = append(r.outOfOrder, fmt.Sprintf("%s after seq %d", ev.ID, last))
	}
	r.lastSeq[stream] = max(r.lastSeq[stream], ev.Seq)
	r.events = append(r.events, ev)
	if r.loseNext > 0 {
		r.loseNext--
		http.Error(w, "accepted, but the answer is lost", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify accepts a body whose signature any of the receiver's secrets made, within the
// library's five-minute tolerance.
func (r *Receiver) verify(body []byte, h http.Header) bool {
	for _, v := range r.verifiers {
		if v.Verify(body, h) == nil {
			return true
		}
	}
	return false
}

// Stats is what the receiver saw.
type Stats struct {
	Events        []billing.MerchantEvent
	Requests      int
	Duplicates    int
	BadSignatures int
	OutOfOrder    []string
}

// Stats returns a copy of what the receiver saw so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		Events: append([]billing.MerchantEvent(nil), r.events...), Requests: r.requests, Duplicates: r.duplicates,
		BadSignatures: r.badSignatures, OutOfOrder: append([]string(nil), r.outOfOrder...),
	}
}

// FailNext makes the next n requests answer 503.
func (r *Receiver) FailNext(n int) { r.mu.Lock(); r.failNext = n; r.mu.Unlock() }

// LoseNext makes the next n accepted deliveries answer 500 after accepting them.
func (r *Receiver) LoseNext(n int) { r.mu.Lock(); r.loseNext = n; r.mu.Unlock() }

// SetDown makes every request answer 503 while down is true.
func (r *Receiver) SetDown(down bool) { r.mu.Lock(); r.down = down; r.mu.Unlock() }

// SetDelay makes every request take d before it is answered.
func (r *Receiver) SetDelay(d time.Duration) { r.mu.Lock(); r.delay = d; r.mu.Unlock() }
