// Package webhookstest is a reference receiver of paycycle's merchant webhooks, as a merchant
// would write one with an existing Standard Webhooks verifier: it verifies every signature,
// drops duplicates by event ID, and checks that each subscription's events arrive in sequence.
// Tests run it on loopback and make it fail, stall or lose its answers.
package webhookstest

import (
	"crypto/rand"
	"encoding/hex"
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
	// path is the receiver's own endpoint path, unique per receiver: a loopback port is
	// reused by the kernel, and a sender of another test (another package's worker still
	// retrying to a receiver that closed) may reach this one's port with its own secret. Such
	// a request is a stray, answered 404 and counted apart, not a bad signature.
	path string

	mu sync.Mutex
	// events are the accepted events, first delivery only, in arrival order.
	events []billing.MerchantEvent
	// requests counts every request, duplicates and refusals included.
	requests int
	// duplicates counts deliveries of an event ID already accepted.
	duplicates int
	// badSignatures counts complete requests to the receiver's path that failed verification.
	badSignatures int
	// incomplete counts requests whose body could not be read whole (the sender gave up
	// mid-request): nothing to verify, answered 400, the sender delivers again.
	incomplete int
	// strays counts requests to another path (another test's sender on a reused port).
	strays int
	// refusals says why each refused request was refused (reason and webhook-id, never a
	// signature or secret), so a failing test shows the cause.
	refusals []string
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
	token := make([]byte, 8)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	r := &Receiver{seen: map[string]bool{}, lastSeq: map[string]int64{}, path: "/hooks/paycycle/" + hex.EncodeToString(token)}
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
	return srv.URL + r.path, srv.Close
}

// refuse counts a refused request under counter and keeps why, then answers status.
func (r *Receiver) refuse(w http.ResponseWriter, req *http.Request, counter *int, status int, reason string) {
	r.mu.Lock()
	*counter++
	r.refusals = append(r.refusals, fmt.Sprintf("%s %s (webhook-id %q)", reason, req.URL.Path, req.Header.Get("webhook-id")))
	r.mu.Unlock()
	http.Error(w, reason, status)
}

// ServeHTTP verifies and records one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != r.path {
		r.refuse(w, req, &r.strays, http.StatusNotFound, "stray: not this receiver's path")
		return
	}
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
	if err != nil {
		r.refuse(w, req, &r.incomplete, http.StatusBadRequest, "incomplete body: "+err.Error())
		return
	}
	if reason := r.verify(body, req.Header); reason != "" {
		r.refuse(w, req, &r.badSignatures, http.StatusUnauthorized, "bad signature: "+reason)
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
// library's five-minute tolerance; it returns why not (the library's error for the last
// secret tried, which names no secret), or "" when one verified.
func (r *Receiver) verify(body []byte, h http.Header) string {
	reason := "no secret"
	for _, v := range r.verifiers {
		err := v.Verify(body, h)
		if err == nil {
			return ""
		}
		reason = err.Error()
	}
	return reason
}

// Stats is what the receiver saw.
type Stats struct {
	Events        []billing.MerchantEvent
	Requests      int
	Duplicates    int
	BadSignatures int
	// Incomplete counts requests whose body was cut off; Strays those to another path.
	Incomplete int
	Strays     int
	// Refusals says why each refused request was refused.
	Refusals   []string
	OutOfOrder []string
}

// Stats returns a copy of what the receiver saw so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		Events: append([]billing.MerchantEvent(nil), r.events...), Requests: r.requests, Duplicates: r.duplicates,
		BadSignatures: r.badSignatures, Incomplete: r.incomplete, Strays: r.strays,
		Refusals: append([]string(nil), r.refusals...), OutOfOrder: append([]string(nil), r.outOfOrder...),
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
