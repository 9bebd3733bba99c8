package portonetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The control API mirrors the Go API as JSON over HTTP under /__emulator/, without
// authentication, for processes that cannot call Go (the emulator binary driven by curl,
// compose setups). Answers are plain JSON objects, not PortOne envelopes; errors are
// {"error": "..."}. README.md documents every endpoint with a curl example.

type controlError struct {
	Error string `json:"error"`
}

func controlFail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, controlError{Error: fmt.Sprintf(format, args...)})
}

// decodeControl reads a JSON body into v; an empty body leaves v untouched.
func decodeControl(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooLarge
	}
	return err
}

// controlPrefix is where the control API lives; no PortOne route starts with it.
const controlPrefix = "/__emulator/"

// controlRoutes lists the control API's endpoints (README.md, "Control API"). The subtree
// patterns (trailing "/") take the customer_uid or fault id from the rest of the path.
func (e *Emulator) controlRoutes() []plainRoute {
	return append([]plainRoute{
		{"GET /__emulator/health", e.ctlHealth},
		{"POST /__emulator/customers", e.ctlRegisterCustomer},
		{"GET /__emulator/customers", e.ctlListCustomers},
		{"DELETE /__emulator/customers/", e.ctlDeleteCustomer},
		{"POST /__emulator/faults", e.ctlAddFault},
		{"GET /__emulator/faults", e.ctlFaults},
		{"DELETE /__emulator/faults", e.ctlClearFaults},
		{"DELETE /__emulator/faults/", e.ctlRemoveFault},
		{"GET /__emulator/ledger", e.ctlLedger},
		{"GET /__emulator/webhooks", e.ctlWebhooks},
		{"GET /__emulator/schedules", e.ctlSchedules},
		{"GET /__emulator/warnings", e.ctlWarnings},
		{"POST /__emulator/clock", e.ctlClock},
		{"GET /__emulator/clock", e.ctlGetClock},
		{"POST /__emulator/run-due", e.ctlRunDue},
		{"POST /__emulator/tokens/revoke", e.ctlRevokeTokens},
		{"POST /__emulator/reset", e.ctlReset},
		{"POST /__emulator/payments", e.ctlCreatePayment}, // status.go
	}, e.v2ControlRoutes()...)
}

func (e *Emulator) ctlHealth(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	n := len(e.merchantOrder)
	e.mu.Unlock()
	_, manual := e.clock.(*ManualClock)
	kind := "real"
	if manual {
		kind = "manual"
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "merchants": n, "clock": kind, "now": e.clock.Now().Unix()})
}

// registerCustomerRequest is the body of POST /__emulator/customers.
type registerCustomerRequest struct {
	Merchant string `json:"merchant"`
	CustomerSeed
}

func (e *Emulator) ctlRegisterCustomer(w http.ResponseWriter, r *http.Request) {
	var req registerCustomerRequest
	if err := decodeControl(r, &req); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	reg, err := e.RegisterCustomer(req.Merchant, req.CustomerSeed)
	if err != nil {
		controlFail(w, http.StatusBadRequest, "%v", err)
		return
	}
	e.mu.Lock()
	m := e.merchants[reg.Merchant]
	cust := m.customers[reg.CustomerUID].wire(m)
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"customer":                  cust,
		"merchant":                  reg.Merchant,
		"registration_imp_uid":      reg.RegistrationImpUID,
		"registration_merchant_uid": reg.RegistrationMerchantUID,
	})
}

func (e *Emulator) ctlListCustomers(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.merchantFor(r.URL.Query().Get("merchant"))
	if err != nil {
		controlFail(w, http.StatusNotFound, "%v", err)
		return
	}
	list := []wireCustomer{}
	for _, c := range m.customers {
		list = append(list, c.wire(m))
	}
	slices.SortFunc(list, func(a, b wireCustomer) int { return strings.Compare(a.CustomerUID, b.CustomerUID) })
	writeJSON(w, http.StatusOK, map[string]any{"customers": list})
}

func (e *Emulator) ctlDeleteCustomer(w http.ResponseWriter, r *http.Request) {
	uid := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/__emulator"), "/customers/")
	if err := e.DeleteCustomer(r.URL.Query().Get("merchant"), uid); err != nil {
		controlFail(w, http.StatusNotFound, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": uid})
}

func (e *Emulator) ctlAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := decodeControl(r, &f); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	id, err := e.addFault(f)
	if err != nil {
		controlFail(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (e *Emulator) ctlFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": e.Faults(), "firings": nonNil(e.FaultFirings())})
}

func (e *Emulator) ctlClearFaults(w http.ResponseWriter, _ *http.Request) {
	e.ClearFaults()
	writeJSON(w, http.StatusOK, map[string]any{"cleared": true})
}

func (e *Emulator) ctlRemoveFault(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/__emulator"), "/faults/")
	if !e.RemoveFault(id) {
		controlFail(w, http.StatusNotFound, "no fault %q", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"removed": id})
}

func (e *Emulator) ctlLedger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	muid, cuid := q.Get("merchant_uid"), q.Get("customer_uid")
	out := []LedgerEntry{}
	for _, le := range e.Ledger() {
		if (muid == "" || le.MerchantUID == muid) && (cuid == "" || le.CustomerUID == cuid) {
			out = append(out, le)
		}
	}
	resp := map[string]any{"entries": out}
	if muid != "" {
		resp["paid_count"] = e.PaidCount(muid)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) ctlWebhooks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": nonNil(e.Webhooks())})
}

func (e *Emulator) ctlSchedules(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"schedules": e.Schedules()})
}

func (e *Emulator) ctlWarnings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"warnings": nonNil(e.Warnings())})
}

// clockRequest is the body of POST /__emulator/clock: exactly one of Set (unix seconds) and
// Advance (a Go duration such as "90m").
type clockRequest struct {
	Set     *int64 `json:"set"`
	Advance string `json:"advance"`
}

func (e *Emulator) ctlClock(w http.ResponseWriter, r *http.Request) {
	mc, manual := e.clock.(*ManualClock)
	if !manual {
		controlFail(w, http.StatusConflict, "the emulator runs on the real clock; start it with a manual clock to move time")
		return
	}
	var req clockRequest
	if err := decodeControl(r, &req); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	switch {
	case req.Set != nil && req.Advance == "":
		mc.Set(time.Unix(*req.Set, 0))
	case req.Set == nil && req.Advance != "":
		d, err := time.ParseDuration(req.Advance)
		if err != nil || d < 0 {
			controlFail(w, http.StatusBadRequest, "advance must be a non-negative Go duration such as \"90m\"")
			return
		}
		mc.Advance(d)
	default:
		controlFail(w, http.StatusBadRequest, `give exactly one of {"set": <unix seconds>} or {"advance": "<duration>"}`)
		return
	}
	e.ctlGetClock(w, r)
}

func (e *Emulator) ctlGetClock(w http.ResponseWriter, _ *http.Request) {
	now := e.clock.Now()
	writeJSON(w, http.StatusOK, map[string]any{"now": now.Unix(), "now_rfc3339": now.Format(time.RFC3339)})
}

func (e *Emulator) ctlRunDue(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int{"executed": e.RunDue()})
}

// revokeRequest is the body of POST /__emulator/tokens/revoke.
type revokeRequest struct {
	Merchant string `json:"merchant"`
}

func (e *Emulator) ctlRevokeTokens(w http.ResponseWriter, r *http.Request) {
	var req revokeRequest
	if err := decodeControl(r, &req); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	e.RevokeTokens(req.Merchant)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": true})
}

func (e *Emulator) ctlReset(w http.ResponseWriter, _ *http.Request) {
	e.Reset()
	writeJSON(w, http.StatusOK, map[string]any{"reset": true})
}

// nonNil makes empty slices encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
