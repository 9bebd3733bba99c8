package portonetest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// FaultOp names the operation a Fault applies to.
type FaultOp string

// Fault operations.
const (
	// OpAgain is POST /subscribe/payments/again.
	OpAgain FaultOp = "again"
	// OpScheduleExecution is the execution of a due schedule by the emulator's scheduler.
	OpScheduleExecution FaultOp = "schedule_execution"
	// OpCancel is POST /payments/cancel.
	OpCancel FaultOp = "cancel"
	// OpLookup is every read: payment, customer and schedule GETs.
	OpLookup FaultOp = "lookup"
	// OpSchedule is POST /subscribe/payments/schedule.
	OpSchedule FaultOp = "schedule"
	// OpUnschedule is POST /subscribe/payments/unschedule.
	OpUnschedule FaultOp = "unschedule"
	// OpDeleteCustomer is DELETE /subscribe/customers/{customer_uid}.
	OpDeleteCustomer FaultOp = "delete_customer"
	// OpIssue is POST /subscribe/customers/{customer_uid} (always refused for NaverPay).
	OpIssue FaultOp = "issue"
	// OpGetToken is POST /users/getToken.
	OpGetToken FaultOp = "get_token"
	// OpAny matches every operation (for the actions that make sense there).
	OpAny FaultOp = "any"
)

// FaultAction is what a Fault does.
type FaultAction string

// Fault actions.
const (
	// FaultDecline makes a charge fail the way card companies decline: HTTP 200, code 0,
	// response.status "failed" with fail_reason = Reason; the failed payment is stored and no
	// webhook is sent (for again; a scheduled execution always notifies). With Hard the
	// billing key becomes unusable until it is registered again. On cancel it is a PG refusal
	// (code -1).
	FaultDecline FaultAction = "decline"
	// FaultDeclineCode makes a charge fail as a code -1 refusal carrying Reason with a null
	// response, as some PGs do; the failed payment is still stored.
	FaultDeclineCode FaultAction = "decline_code"
	// FaultErrorBeforeCommit answers HTTPStatus (default 500) with an error envelope before
	// anything is stored. On a scheduled execution it makes the attempt fail.
	FaultErrorBeforeCommit FaultAction = "error_before_commit"
	// FaultCommitThenDrop commits the write (the charge is stored and paid) and then closes
	// the connection without answering: the client cannot know the outcome.
	FaultCommitThenDrop FaultAction = "commit_then_drop"
	// FaultLatency sleeps Latency before handling the request; if the client gives up first,
	// nothing happens.
	FaultLatency FaultAction = "latency"
	// FaultLatencyAfterCommit commits the write and then holds the answer for Latency or
	// until the client goes away: a worker killed while a committed charge is in flight.
	FaultLatencyAfterCommit FaultAction = "latency_after_commit"
	// FaultWebhookFail suppresses webhook deliveries for matching payments; each suppressed
	// attempt is recorded as failed (and retried when retries are on).
	FaultWebhookFail FaultAction = "webhook_fail"
	// FaultRecovery turns on PortOne's console 리커버리 for matching schedules: a scheduled
	// execution that failed is executed again under the same merchant_uid every Every (24 h
	// of the emulator's clock by default), at most Retries times (DefaultRecoveryRetries by
	// default; PortOne itself retries "until success"), until one is paid. Each re-execution
	// is a new payment (new imp_uid) with customer_uid_usage payment.scheduled, the schedule
	// shows it, and its webhook goes out as for a scheduled execution. It is a merchant's
	// setting rather than a failure, so it normally stays installed (Times 0).
	FaultRecovery FaultAction = "recovery"
	// FaultWebhookDuplicate delivers a matching webhook twice, the second time right after the
	// first with the same body (and, on V2, the same webhook-id): a receiver must act once.
	FaultWebhookDuplicate FaultAction = "webhook_duplicate"
	// FaultWebhookDelay holds a matching webhook back for Latency of the emulator's clock (it
	// goes out when the clock has moved that far, after whatever happened meanwhile): a late
	// notification.
	FaultWebhookDelay FaultAction = "webhook_delay"
	// FaultAmountMismatch approves a charge for PaidAmount instead of the amount requested
	// (the requested amount plus DefaultMismatchDelta when PaidAmount is 0): the payment is
	// stored, answered and notified as paid with the other amount. PortOne should never do
	// this; the README's rule is that such a payment is cancelled at once, and this fault is
	// how tests prove it.
	FaultAmountMismatch FaultAction = "amount_mismatch"
)

// DefaultMismatchDelta is what FaultAmountMismatch adds to the requested amount by default.
const DefaultMismatchDelta = 1000

// Defaults of the recovery fault.
const (
	// DefaultRecoveryEvery is PortOne's daily 리커버리 batch.
	DefaultRecoveryEvery = 24 * time.Hour
	// DefaultRecoveryRetries bounds the emulator's re-executions of one failed schedule.
	DefaultRecoveryRetries = 7
)

// faultOps lists, per action, the operations where the action means something. A fault whose
// Op is OpAny fires only where its action applies.
var faultOps = map[FaultAction][]FaultOp{
	FaultDecline:            {OpAgain, OpScheduleExecution, OpCancel, OpIssue},
	FaultDeclineCode:        {OpAgain, OpScheduleExecution, OpCancel},
	FaultErrorBeforeCommit:  {OpAgain, OpScheduleExecution, OpCancel, OpLookup, OpSchedule, OpUnschedule, OpDeleteCustomer, OpIssue, OpGetToken},
	FaultCommitThenDrop:     {OpAgain, OpCancel, OpSchedule, OpUnschedule, OpDeleteCustomer},
	FaultLatency:            {OpAgain, OpCancel, OpLookup, OpSchedule, OpUnschedule, OpDeleteCustomer, OpIssue, OpGetToken},
	FaultLatencyAfterCommit: {OpAgain, OpCancel, OpSchedule, OpUnschedule, OpDeleteCustomer},
	FaultWebhookFail:        {OpAgain, OpScheduleExecution, OpCancel},
	FaultWebhookDuplicate:   {OpAgain, OpScheduleExecution, OpCancel},
	FaultWebhookDelay:       {OpAgain, OpScheduleExecution, OpCancel},
	FaultRecovery:           {OpScheduleExecution},
	FaultAmountMismatch:     {OpAgain, OpScheduleExecution},
}

// Fault is a scripted failure. Empty Merchant, CustomerUID and MerchantUID match anything;
// the first matching fault (in the order they were added) fires.
type Fault struct {
	// Merchant limits the fault to one merchant key.
	Merchant string
	// CustomerUID limits the fault to one billing key.
	CustomerUID string
	// MerchantUID limits the fault to one order id.
	MerchantUID string
	// Op is the operation; empty means OpAny.
	Op FaultOp
	// Action is what happens. Required.
	Action FaultAction
	// Reason is the fail_reason or error message. Optional: a realistic default is used.
	Reason string
	// Hard makes a decline permanent: the billing key is marked invalid and every later
	// charge on it declines with the hard reason until the key is registered again.
	Hard bool
	// HTTPStatus is the status of error_before_commit. Optional: defaults to 500.
	HTTPStatus int
	// Latency is the delay of latency and latency_after_commit.
	Latency time.Duration
	// Times is how often the fault fires before it is removed; 0 means until removed.
	Times int
	// Every is the recovery fault's interval between re-executions (default
	// DefaultRecoveryEvery).
	Every time.Duration
	// Retries bounds the recovery fault's re-executions of one schedule (default
	// DefaultRecoveryRetries).
	Retries int
	// PaidAmount is the amount_mismatch fault's approved amount in KRW (default: the requested
	// amount plus DefaultMismatchDelta).
	PaidAmount int64
	// PGCode is the pgCode of a V2 decline's PG_PROVIDER error (default V2PGCodeDecline, or
	// V2PGCodeHardDecline with Hard). V1 ignores it.
	PGCode string
}

// Validate reports whether the fault is well formed.
func (f Fault) Validate() error {
	ops, known := faultOps[f.Action]
	if !known {
		return fmt.Errorf("portonetest: unknown fault action %q", f.Action)
	}
	if f.Op != "" && f.Op != OpAny && !slices.Contains(ops, f.Op) {
		return fmt.Errorf("portonetest: fault action %q does not apply to op %q (it applies to %v)", f.Action, f.Op, ops)
	}
	if f.Times < 0 {
		return fmt.Errorf("portonetest: fault Times must not be negative")
	}
	if (f.Action == FaultLatency || f.Action == FaultLatencyAfterCommit || f.Action == FaultWebhookDelay) && f.Latency <= 0 {
		return fmt.Errorf("portonetest: fault action %q needs a positive Latency", f.Action)
	}
	if f.Every < 0 || f.Retries < 0 {
		return fmt.Errorf("portonetest: fault Every and Retries must not be negative")
	}
	if (f.Every != 0 || f.Retries != 0) && f.Action != FaultRecovery {
		return fmt.Errorf("portonetest: fault Every and Retries apply to action %q only", FaultRecovery)
	}
	if f.PaidAmount < 0 {
		return fmt.Errorf("portonetest: fault PaidAmount must not be negative")
	}
	if f.PaidAmount != 0 && f.Action != FaultAmountMismatch {
		return fmt.Errorf("portonetest: fault PaidAmount applies to action %q only", FaultAmountMismatch)
	}
	if f.PGCode != "" && f.Action != FaultDecline && f.Action != FaultDeclineCode {
		return fmt.Errorf("portonetest: fault PGCode applies to declines only")
	}
	if f.HTTPStatus != 0 && (f.HTTPStatus < 400 || f.HTTPStatus > 599) {
		return fmt.Errorf("portonetest: fault HTTPStatus must be a 4xx or 5xx status, got %d", f.HTTPStatus)
	}
	return nil
}

// faultJSON is Fault's JSON form for the control API; Latency is a Go duration string.
type faultJSON struct {
	ID          string      `json:"id,omitempty"`
	Merchant    string      `json:"merchant,omitempty"`
	CustomerUID string      `json:"customer_uid,omitempty"`
	MerchantUID string      `json:"merchant_uid,omitempty"`
	Op          FaultOp     `json:"op,omitempty"`
	Action      FaultAction `json:"action"`
	Reason      string      `json:"reason,omitempty"`
	Hard        bool        `json:"hard,omitempty"`
	HTTPStatus  int         `json:"http_status,omitempty"`
	Latency     string      `json:"latency,omitempty"`
	Times       int         `json:"times,omitempty"`
	Every       string      `json:"every,omitempty"`
	Retries     int         `json:"retries,omitempty"`
	PaidAmount  int64       `json:"paid_amount,omitempty"`
	PGCode      string      `json:"pg_code,omitempty"`
	Fired       int         `json:"fired"`
}

func (f Fault) toJSON() faultJSON {
	j := faultJSON{Merchant: f.Merchant, CustomerUID: f.CustomerUID, MerchantUID: f.MerchantUID, Op: f.Op,
		Action: f.Action, Reason: f.Reason, Hard: f.Hard, HTTPStatus: f.HTTPStatus, Times: f.Times, Retries: f.Retries,
		PaidAmount: f.PaidAmount, PGCode: f.PGCode}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	if f.Every != 0 {
		j.Every = f.Every.String()
	}
	return j
}

// MarshalJSON writes the control API's form of a fault (snake_case, latency as "1.5s").
func (f Fault) MarshalJSON() ([]byte, error) { return json.Marshal(f.toJSON()) }

// UnmarshalJSON reads the control API's form of a fault.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var lat time.Duration
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		lat = d
	}
	var every time.Duration
	if j.Every != "" {
		d, err := time.ParseDuration(j.Every)
		if err != nil {
			return fmt.Errorf("every: %w", err)
		}
		every = d
	}
	*f = Fault{Merchant: j.Merchant, CustomerUID: j.CustomerUID, MerchantUID: j.MerchantUID, Op: j.Op,
		Action: j.Action, Reason: j.Reason, Hard: j.Hard, HTTPStatus: j.HTTPStatus, Latency: lat, Times: j.Times,
		Every: every, Retries: j.Retries, PaidAmount: j.PaidAmount, PGCode: j.PGCode}
	return nil
}

// ActiveFault is an installed fault with its id and how often it has fired.
type ActiveFault struct {
	// ID identifies the fault for RemoveFault.
	ID string
	// Fault is the fault as added.
	Fault Fault
	// Fired counts its firings so far.
	Fired int
}

// MarshalJSON flattens the fault and adds id and fired.
func (a ActiveFault) MarshalJSON() ([]byte, error) {
	j := a.Fault.toJSON()
	j.ID, j.Fired = a.ID, a.Fired
	return json.Marshal(j)
}

type activeFault struct {
	id    string
	f     Fault
	fired int
}

// FaultFiring records one firing of a fault.
type FaultFiring struct {
	// FaultID is the fault that fired.
	FaultID string `json:"fault_id"`
	// Action is its action.
	Action FaultAction `json:"action"`
	// Op is the operation it fired on.
	Op FaultOp `json:"op"`
	// Merchant, CustomerUID and MerchantUID describe what the operation was about.
	Merchant    string `json:"merchant"`
	CustomerUID string `json:"customer_uid,omitempty"`
	MerchantUID string `json:"merchant_uid,omitempty"`
	// At is when it fired, on the emulator's clock.
	At time.Time `json:"at"`
}

// subject is what an operation is about, for fault matching.
type subject struct {
	merchant, customerUID, merchantUID string
}

// AddFault installs a fault and returns its id. It panics if f.Validate fails, like
// regexp.MustCompile: a malformed fault is a bug in the test, not a runtime condition. The
// control API returns 400 instead.
func (e *Emulator) AddFault(f Fault) string {
	id, err := e.addFault(f)
	if err != nil {
		panic(err)
	}
	return id
}

func (e *Emulator) addFault(f Fault) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	if f.Op == "" {
		f.Op = OpAny
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faultSeq++
	id := fmt.Sprintf("fault-%d", e.faultSeq)
	e.faults = append(e.faults, &activeFault{id: id, f: f})
	return id, nil
}

// RemoveFault uninstalls a fault and reports whether it was installed.
func (e *Emulator) RemoveFault(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, af := range e.faults {
		if af.id == id {
			e.faults = slices.Delete(e.faults, i, i+1)
			return true
		}
	}
	return false
}

// ClearFaults uninstalls every fault. Firings stay recorded.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// Faults returns the installed faults in the order they match.
func (e *Emulator) Faults() []ActiveFault {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]ActiveFault, 0, len(e.faults))
	for _, af := range e.faults {
		out = append(out, ActiveFault{ID: af.id, Fault: af.f, Fired: af.fired})
	}
	return out
}

// FaultFirings returns every fault firing so far, oldest first.
func (e *Emulator) FaultFirings() []FaultFiring {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]FaultFiring(nil), e.firings...)
}

// fire takes the lock and calls fireLocked.
func (e *Emulator) fire(op FaultOp, s subject, actions ...FaultAction) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fireLocked(op, s, actions...)
}

// fireLocked finds the first installed fault that matches op, s and one of actions, records
// its firing, consumes one of its Times and returns a copy of it (with ID set), or nil.
func (e *Emulator) fireLocked(op FaultOp, s subject, actions ...FaultAction) *Fault {
	return e.fireWhereLocked(op, s, func(f Fault) bool {
		return slices.Contains(actions, f.Action) && slices.Contains(faultOps[f.Action], op) && (f.Op == OpAny || f.Op == op)
	})
}

// fireWhereLocked fires the first installed fault that match accepts and whose scope
// (merchant, customer_uid, merchant_uid) covers s: it records the firing under op, consumes
// one of its Times and returns a copy of it, or nil.
func (e *Emulator) fireWhereLocked(op FaultOp, s subject, match func(Fault) bool) *Fault {
	for i, af := range e.faults {
		f := af.f
		if !match(f) {
			continue
		}
		if (f.Merchant != "" && f.Merchant != s.merchant) ||
			(f.CustomerUID != "" && f.CustomerUID != s.customerUID) ||
			(f.MerchantUID != "" && f.MerchantUID != s.merchantUID) {
			continue
		}
		af.fired++
		if f.Times > 0 && af.fired >= f.Times {
			e.faults = slices.Delete(e.faults, i, i+1)
		}
		e.firings = append(e.firings, FaultFiring{
			FaultID: af.id, Action: f.Action, Op: op, Merchant: s.merchant,
			CustomerUID: s.customerUID, MerchantUID: s.merchantUID, At: e.clock.Now(),
		})
		e.log.Info("fault fired", slog.String("fault", af.id), slog.String("action", string(f.Action)),
			slog.String("op", string(op)), slog.String("merchant_uid", s.merchantUID))
		out := f
		return &out
	}
	return nil
}
