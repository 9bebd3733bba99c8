package reconcile

import (
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// sub is what the checks need of one subscription's state: no buyer data, no audit trail.
type sub struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	ID         string `json:"id"`
	Tag        string `json:"tag"`
	// CustomerUID is the billing key the subscription's charges use: its customer_uid, or on
	// a V2 subscription registered through the V2 page or moved onto a V2 key, the key PortOne
	// issued (state.billing_key; the customer_uid is then the issueId, which names no key).
	CustomerUID    string                   `json:"customer_uid"`
	Status         billing.Status           `json:"status"`
	ChargeMode     billing.ChargeMode       `json:"charge_mode"`
	Amount         int64                    `json:"amount"`
	Cycle          int                      `json:"cycle"`
	NextChargeAt   time.Time                `json:"next_charge_at,omitzero"`
	NextRetryAt    time.Time                `json:"next_retry_at,omitzero"`
	Scheduled      *billing.ScheduledCharge `json:"scheduled,omitempty"`
	Charges        []billing.ChargeRecord   `json:"charges"`
	Refunds        []billing.RefundRecord   `json:"refunds,omitempty"`
	ChargesOmitted int                      `json:"charges_omitted,omitempty"`
}

func subOf(workflowID, runID string, st billing.State) sub {
	s := sub{
		WorkflowID: workflowID, RunID: runID, ID: st.SubscriptionID, Tag: st.Tag, CustomerUID: st.CustomerUID,
		Status: st.Status, ChargeMode: st.Plan.ChargeMode, Amount: st.Plan.Amount, Cycle: st.Cycle,
		NextChargeAt: st.NextChargeAt, Scheduled: st.Scheduled, Charges: st.Charges, Refunds: st.Refunds,
		ChargesOmitted: st.ChargesOmitted,
	}
	if st.Gateway.IsV2() && st.BillingKey != "" {
		s.CustomerUID = st.BillingKey
	}
	if st.DunningState != nil {
		s.NextRetryAt = st.DunningState.NextRetryAt
	}
	for i := range s.Charges {
		// Not evidence; dropping them keeps heartbeats small.
		s.Charges[i].ReceiptURL, s.Charges[i].Reason, s.Charges[i].ScheduledAt = "", "", time.Time{}
	}
	return s
}

// cancelEntry is one cancel_history entry.
type cancelEntry struct {
	Amount int64 `json:"amount"`
	At     int64 `json:"at"`
}

// pay is what the checks need of one PortOne payment (no buyer data).
type pay struct {
	ImpUID       string        `json:"imp_uid"`
	MerchantUID  string        `json:"merchant_uid"`
	Status       string        `json:"status"`
	Usage        string        `json:"usage,omitempty"`
	CustomerUID  string        `json:"customer_uid,omitempty"`
	Amount       int64         `json:"amount"`
	CancelAmount int64         `json:"cancel_amount,omitempty"`
	Cancels      []cancelEntry `json:"cancels,omitempty"`
	StartedAt    int64         `json:"started_at,omitempty"`
	PaidAt       int64         `json:"paid_at,omitempty"`
	FailedAt     int64         `json:"failed_at,omitempty"`
	CancelledAt  int64         `json:"cancelled_at,omitempty"`
}

// payOf is a gateway payment in the snapshot's (heartbeat's) form, times as Unix seconds with 0
// for never, as the snapshot always stored them.
func payOf(p gateway.Payment) pay {
	out := pay{
		ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: string(p.Status), Usage: string(p.Usage),
		CustomerUID: p.Key, Amount: p.Amount, CancelAmount: p.Cancelled,
		StartedAt: unixOf(p.StartedAt), PaidAt: unixOf(p.PaidAt), FailedAt: unixOf(p.FailedAt), CancelledAt: unixOf(p.CancelledAt),
	}
	for _, c := range p.Refunds {
		out.Cancels = append(out.Cancels, cancelEntry{Amount: c.Amount, At: unixOf(c.At)})
	}
	return out
}

func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// wasPaid: approved at some point (paid, or paid and then refunded in part or in full).
func (p pay) wasPaid() bool {
	return p.Status == string(gateway.StatusPaid) || p.Status == string(gateway.StatusCancelled) || p.PaidAt != 0
}

// kept: money the buyer still pays (paid and not fully refunded).
func (p pay) kept() bool {
	return p.Status == string(gateway.StatusPaid) && p.CancelAmount < p.Amount
}

func (p pay) historySum() int64 {
	var n int64
	for _, c := range p.Cancels {
		n += c.Amount
	}
	return n
}

// sched is one pending PortOne schedule.
type sched struct {
	MerchantUID string `json:"merchant_uid"`
	CustomerUID string `json:"customer_uid"`
	ScheduleAt  int64  `json:"schedule_at"`
	Amount      int64  `json:"amount"`
}

// snapshot is everything one run gathered; check turns it into findings. It is also what a
// retried Gather activity resumes from (heartbeat details).
type snapshot struct {
	From          time.Time       `json:"from"`
	To            time.Time       `json:"to"`
	AsOf          time.Time       `json:"as_of"`
	StopTolerance time.Duration   `json:"stop_tolerance"`
	Subs          []sub           `json:"subs"`
	Unreadable    []string        `json:"unreadable,omitempty"`
	Payments      []pay           `json:"payments"`
	Extra         []pay           `json:"extra,omitempty"`
	Schedules     []sched         `json:"schedules"`
	SchedFrom     time.Time       `json:"sched_from"`
	SchedTo       time.Time       `json:"sched_to"`
	KeysAsked     []string        `json:"keys_asked,omitempty"`
	KeysFound     map[string]bool `json:"keys_found,omitempty"`
}
