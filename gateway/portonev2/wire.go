package portonev2

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/paycycle/paycycle/gateway"
)

// The wire types below read only what the gateway needs, as plain strings and numbers. That is
// how PortOne's compatibility rule is kept ("new fields, enum values and oneOf cases may be
// added at any time"): an unknown field is ignored by encoding/json, an enum or a oneOf tag
// (status, type) is a string interpreted here, and a new oneOf case is decoded with the fields
// all cases share. Timestamps that do not parse are read as unknown (zero), never an error.

// wireTime is an RFC 3339 timestamp, zero when absent, null or unreadable.
type wireTime struct{ time.Time }

func (t *wireTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil || s == "" {
		t.Time = time.Time{}
		return nil
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Time = time.Time{}
		return nil
	}
	t.Time = p.UTC()
	return nil
}

// wirePayment is every case of the Payment oneOf (READY, PENDING, VIRTUAL_ACCOUNT_ISSUED,
// PAID, FAILED, PARTIAL_CANCELLED, CANCELLED, PAY_PENDING and any added later) in one struct.
type wirePayment struct {
	Status        string `json:"status"`
	ID            string `json:"id"`
	TransactionID string `json:"transactionId"`
	ScheduleID    string `json:"scheduleId"`
	BillingKey    string `json:"billingKey"`
	Amount        struct {
		Total     int64 `json:"total"`
		TaxFree   int64 `json:"taxFree"`
		Paid      int64 `json:"paid"`
		Cancelled int64 `json:"cancelled"`
	} `json:"amount"`
	RequestedAt     wireTime `json:"requestedAt"`
	StatusChangedAt wireTime `json:"statusChangedAt"`
	PaidAt          wireTime `json:"paidAt"`
	FailedAt        wireTime `json:"failedAt"`
	CancelledAt     wireTime `json:"cancelledAt"`
	ReceiptURL      string   `json:"receiptUrl"`
	Failure         struct {
		Reason    string `json:"reason"`
		PgCode    string `json:"pgCode"`
		PgMessage string `json:"pgMessage"`
	} `json:"failure"`
	Cancellations []wireCancellation `json:"cancellations"`
}

// wireCancellation is every case of PaymentCancellation (REQUESTED, SUCCEEDED, FAILED, ...).
type wireCancellation struct {
	Status      string   `json:"status"`
	ID          string   `json:"id"`
	TotalAmount int64    `json:"totalAmount"`
	CancelledAt wireTime `json:"cancelledAt"`
	RequestedAt wireTime `json:"requestedAt"`
}

// status maps V2's payment status to the contract's. A partly cancelled payment stays paid
// (its Cancelled says how much went back). Any other status (READY, PAY_PENDING, one added
// later) is passed on lower-cased: the contract's callers treat it as not settled.
func status(s string) gateway.Status {
	switch s {
	case "PAID", "PARTIAL_CANCELLED":
		return gateway.StatusPaid
	case "FAILED":
		return gateway.StatusFailed
	case "CANCELLED":
		return gateway.StatusCancelled
	}
	return gateway.Status(strings.ToLower(s))
}

// failReason is the decline text: the PG's message with its code, else PortOne's reason. The
// PG's text is what V1 called fail_reason, so the activities' hard/soft classification
// (activities.IsHardDecline) reads it the same on both generations; the code is kept beside it
// for people, as PortOne publishes no catalogue of NaverPay's pgCodes to classify by.
func failReason(pgCode, pgMessage, reason string) string {
	msg := pgMessage
	if msg == "" {
		msg = reason
	}
	if pgCode != "" {
		if msg == "" {
			return "[" + pgCode + "]"
		}
		return msg + " [" + pgCode + "]"
	}
	return msg
}

// payment converts a V2 payment. Amount is amount.total, what the charge was for (the contract
// compares it with what was asked); Usage is "payment.scheduled" when a schedule made it.
func (w *wirePayment) payment() gateway.Payment {
	p := gateway.Payment{PaymentID: w.ID, TxID: w.TransactionID, Key: w.BillingKey, Status: status(w.Status),
		Amount: w.Amount.Total, Cancelled: w.Amount.Cancelled, ReceiptURL: w.ReceiptURL, Usage: gateway.UsageCharge,
		StartedAt: w.RequestedAt.Time, PaidAt: w.PaidAt.Time, FailedAt: w.FailedAt.Time, CancelledAt: w.CancelledAt.Time}
	if w.ScheduleID != "" {
		p.Usage = gateway.UsageScheduled
	}
	if p.Status == gateway.StatusFailed {
		p.FailReason = failReason(w.Failure.PgCode, w.Failure.PgMessage, w.Failure.Reason)
	}
	for _, c := range w.Cancellations {
		p.Cancellations = append(p.Cancellations, gateway.Cancellation{ID: c.ID, Status: gateway.CancellationStatus(strings.ToLower(c.Status)),
			Amount: c.TotalAmount, RequestedAt: c.RequestedAt.Time})
		if c.Status == "REQUESTED" {
			p.Pending += c.TotalAmount // asked for; PortOne finishes it later
		}
		if c.Status != "SUCCEEDED" {
			continue // a requested or failed cancellation gave nothing back (yet)
		}
		at := c.CancelledAt.Time
		if at.IsZero() {
			at = c.RequestedAt.Time
		}
		p.Refunds = append(p.Refunds, gateway.Refund{Amount: c.TotalAmount, At: at})
	}
	return p
}

// wireSchedule is every case of the PaymentSchedule oneOf.
type wireSchedule struct {
	Status      string   `json:"status"`
	ID          string   `json:"id"`
	PaymentID   string   `json:"paymentId"`
	BillingKey  string   `json:"billingKey"`
	TotalAmount int64    `json:"totalAmount"`
	TimeToPay   wireTime `json:"timeToPay"`
	RevokedAt   wireTime `json:"revokedAt"`
}

// scheduleStatus maps V2's schedule status: SCHEDULED is pending; SUCCEEDED and FAILED ran;
// REVOKED was revoked. STARTED and PENDING (the execution is under way) and any status added
// later are passed on lower-cased: neither pending nor settled.
func scheduleStatus(s string) gateway.ScheduleStatus {
	switch s {
	case "SCHEDULED":
		return gateway.SchedulePending
	case "SUCCEEDED", "FAILED":
		return gateway.ScheduleExecuted
	case "REVOKED":
		return gateway.ScheduleRevoked
	}
	return gateway.ScheduleStatus(strings.ToLower(s))
}

func (w *wireSchedule) schedule() gateway.Schedule {
	return gateway.Schedule{PaymentID: w.PaymentID, Key: w.BillingKey, Amount: w.TotalAmount, Status: scheduleStatus(w.Status),
		At: w.TimeToPay.Time, RevokedAt: w.RevokedAt.Time}
}

// wireBillingKey is every case of BillingKeyInfo (ISSUED, DELETED, ...).
type wireBillingKey struct {
	Status     string `json:"status"`
	BillingKey string `json:"billingKey"`
	IssueID    string `json:"issueId"`
	Channels   []struct {
		PgProvider string `json:"pgProvider"`
	} `json:"channels"`
	Methods []struct {
		Type     string `json:"type"`
		Provider string `json:"provider"`
		Card     struct {
			Name string `json:"name"`
		} `json:"card"`
	} `json:"methods"`
}

// billingKey converts an issued key. PGProvider is the first channel's PG lower-cased
// ("naverpay"), as V1 spells pg_provider; CardName is the card's name when the method is a
// card, else the easy-pay provider.
func (w *wireBillingKey) billingKey() gateway.BillingKey {
	k := gateway.BillingKey{Key: w.BillingKey, IssueID: w.IssueID}
	if len(w.Channels) > 0 {
		k.PGProvider = strings.ToLower(w.Channels[0].PgProvider)
	}
	for _, m := range w.Methods {
		switch {
		case m.Card.Name != "":
			k.CardName = m.Card.Name
		case m.Provider != "":
			k.CardName = m.Provider
		}
		if k.CardName != "" {
			break
		}
	}
	return k
}

// pageInfo is PageInfo.
type pageInfo struct {
	Number     int `json:"number"`
	Size       int `json:"size"`
	TotalCount int `json:"totalCount"`
}
