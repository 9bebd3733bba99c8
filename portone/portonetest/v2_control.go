package portonetest

// The V2 part of the control API (README.md, "V2"): the Go API's V2 calls as JSON over HTTP
// under /__emulator/v2/, served on both listeners.

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

func (e *Emulator) v2ControlRoutes() []plainRoute {
	return []plainRoute{
		{"POST /__emulator/v2/billing-keys", e.ctlIssueV2Key},
		{"GET /__emulator/v2/billing-keys", e.ctlListV2Keys},
		{"DELETE /__emulator/v2/billing-keys/", e.ctlDeleteV2Key},
		{"GET /__emulator/v2/schedules", e.ctlV2Schedules},
		{"GET /__emulator/v2/attempts", e.ctlV2Attempts},
		{"POST /__emulator/v2/async-cancel", e.ctlV2AsyncCancel},
	}
}

func (e *Emulator) ctlIssueV2Key(w http.ResponseWriter, r *http.Request) {
	var seed V2BillingKeySeed
	if err := decodeControl(r, &seed); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	k, err := e.IssueBillingKeyV2(seed)
	switch {
	case errors.Is(err, ErrV2IssueIDReused):
		controlFail(w, http.StatusConflict, "%v", err)
		return
	case err != nil:
		controlFail(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (e *Emulator) ctlListV2Keys(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.merchantFor(r.URL.Query().Get("merchant"))
	if err != nil {
		controlFail(w, http.StatusNotFound, "%v", err)
		return
	}
	out := []V2BillingKey{}
	for _, k := range m.v2.keyOrder {
		out = append(out, k.public())
	}
	writeJSON(w, http.StatusOK, map[string]any{"billing_keys": out})
}

func (e *Emulator) ctlDeleteV2Key(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/__emulator/v2/billing-keys/")
	if err := e.DeleteBillingKeyV2(key); err != nil {
		controlFail(w, http.StatusNotFound, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": key})
}

func (e *Emulator) ctlV2Schedules(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"schedules": e.V2Schedules()})
}

func (e *Emulator) ctlV2Attempts(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("payment_id")
	if id == "" {
		controlFail(w, http.StatusBadRequest, "payment_id is required")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": nonNil(e.V2Attempts(id)), "paid_count": e.PaidCount(id)})
}

// asyncCancelRequest is the body of POST /__emulator/v2/async-cancel.
type asyncCancelRequest struct {
	On    bool   `json:"on"`
	Delay string `json:"delay"`
	// Fail makes the cancels asked from now on end FAILED when due (SetV2AsyncCancelFail);
	// absent means false.
	Fail bool `json:"fail,omitempty"`
}

func (e *Emulator) ctlV2AsyncCancel(w http.ResponseWriter, r *http.Request) {
	var req asyncCancelRequest
	if err := decodeControl(r, &req); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	var d time.Duration
	if req.Delay != "" {
		var err error
		if d, err = time.ParseDuration(req.Delay); err != nil || d <= 0 {
			controlFail(w, http.StatusBadRequest, "delay must be a positive Go duration such as \"90s\"")
			return
		}
	}
	e.SetV2AsyncCancel(req.On, d)
	e.SetV2AsyncCancelFail(req.Fail)
	e.mu.Lock()
	on, delay, fail := e.v2AsyncCancel, e.v2AsyncDelay, e.v2AsyncFail
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"on": on, "delay": delay.String(), "fail": fail})
}
