package activities

import "github.com/paycycle/paycycle/billing"

// Outcome is how one charge attempt settled, as an activity reports it. It is kept apart from
// billing.Outcome, which also names record states that no activity returns (a charge handed to
// PortOne's scheduler is recorded as billing.OutcomeScheduled until it runs), so that a switch
// over results cannot grow a branch for a state that never arrives. The strings are the
// billing.Outcome ones, so the JSON of recorded histories is unchanged.
type Outcome string

// Activity results. A decline is a result, never an error.
const (
	// OutcomePaid: PortOne approved the charge (or an earlier attempt of the cycle was found paid).
	OutcomePaid Outcome = "paid"
	// OutcomeDeclined is a soft decline (limit, balance): dunning retries later.
	OutcomeDeclined Outcome = "declined"
	// OutcomeDeclinedHard needs a new billing key (deleted, lost or expired card).
	OutcomeDeclinedHard Outcome = "declined_hard"
	// OutcomeRejected: PortOne refused the request itself; nothing was charged.
	OutcomeRejected Outcome = "rejected"
	// OutcomeAmountMismatch: the paid amount differed from the amount asked and was cancelled.
	OutcomeAmountMismatch Outcome = "amount_mismatch"
	// OutcomeUnknown: no trustworthy answer yet; the merchant_uid is looked up before anything else.
	OutcomeUnknown Outcome = "unknown"
	// OutcomeRevoked: a schedule was revoked at PortOne before it ran; nothing was charged.
	OutcomeRevoked Outcome = "revoked"
)

// outcomes lists every result outcome, for Valid and the tests.
var outcomes = []Outcome{OutcomePaid, OutcomeDeclined, OutcomeDeclinedHard, OutcomeRejected, OutcomeAmountMismatch, OutcomeUnknown, OutcomeRevoked}

// Valid reports whether o is one of the result outcomes above.
func (o Outcome) Valid() bool {
	for _, v := range outcomes {
		if o == v {
			return true
		}
	}
	return false
}

// Record is the record state (billing.ChargeRecord.Outcome) of a result.
func (o Outcome) Record() billing.Outcome { return billing.Outcome(o) }

// OutcomeOf converts a record state back to a result outcome. It reports false for the states
// that are not results (billing.OutcomeScheduled) and for unknown strings.
func OutcomeOf(o billing.Outcome) (Outcome, bool) {
	r := Outcome(o)
	return r, r.Valid()
}

// Result is the outcome of r as the activity-result type. ChargeResult.Outcome keeps its
// billing.Outcome type until the workflow switches to this one (see docs/architecture.md).
func (r ChargeResult) Result() Outcome { return Outcome(r.Outcome) }

// attemptOf is the attempt number encoded in a charge's merchant_uid, 0 when it is not one of
// ours (the workflow then derives the attempt from its own records).
func attemptOf(merchantUID string) int {
	p, err := billing.ParseMerchantUID(merchantUID)
	if err != nil || p.Kind != billing.KindCharge {
		return 0
	}
	return p.Charge.Attempt
}

// stamp fills a result's Attempt and Via, so that the caller no longer recomputes them. attempt
// is the attempt that was made; an adopted payment (found under an earlier merchant_uid) takes
// the attempt encoded in its own merchant_uid instead.
func stamp(res ChargeResult, attempt int, via billing.Via) ChargeResult {
	res.Via = via
	res.Attempt = attempt
	if a := attemptOf(res.MerchantUID); a > 0 && (res.Adopted || attempt == 0) {
		res.Attempt = a
	}
	return res
}
