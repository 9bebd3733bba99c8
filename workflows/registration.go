package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// awaitRegistration verifies the billing key, or waits for the customer to register one. It
// reports false when the subscription ended while waiting (canceled or expired). PortOne being
// unreachable delays it; it never fails it.
func (r *runner) awaitRegistration() (bool, error) {
	var deadline, lastCheck time.Time
	for {
		var done, ok bool
		backedOff, err := r.tick(func() (bool, error) {
			var err error
			done, ok, err = r.registrationStep(&deadline, &lastCheck)
			return false, err
		})
		if err != nil {
			return false, err
		}
		if done {
			return ok, nil
		}
		if backedOff {
			continue
		}
		wake := lastCheck.Add(r.registrationRecheck())
		if deadline.Before(wake) {
			wake = deadline
		}
		if _, err := workflow.AwaitWithOptions(r.ctx, workflow.AwaitOptions{
			Timeout:      wake.Sub(r.now()),
			TimerOptions: workflow.TimerOptions{Summary: "awaiting registration"},
		}, r.wake); err != nil {
			return false, err
		}
	}
}

// registrationStep does the next thing while awaiting registration. done reports that waiting is
// over, and ok whether billing can start.
func (r *runner) registrationStep(deadline, lastCheck *time.Time) (done, ok bool, err error) {
	now := r.now()
	if deadline.IsZero() {
		// First look: the key may already be registered.
		key, err := r.checkBillingKey(r.key())
		if err != nil {
			return false, false, err
		}
		if key.Exists {
			r.s.Registration.VerifiedAt = r.now()
			r.event("billing_key_verified", "", "billing key found at PortOne")
			return true, true, nil
		}
		*deadline, *lastCheck = now.Add(r.regTimeout), now
		r.s.Registration.Deadline = *deadline
		r.setStatus(billing.StatusAwaitingRegistration, "waiting for the customer to register NaverPay recurring payment")
		return false, false, nil
	}
	if i, ok := r.mailbox.nextIntent(); ok {
		// Only a cancel or a new billing key can be admitted while awaiting registration.
		kind := r.mailbox.intents[i].kind
		refused, err := r.carryOut(i)
		if err != nil {
			return false, false, err
		}
		if kind == intentCancel {
			return true, false, nil
		}
		return !refused, !refused, nil
	}
	if len(r.mailbox.registrations) > 0 {
		ok, err := r.verifyRegistration(r.mailbox.registrations[0])
		if err != nil {
			return false, false, err
		}
		r.mailbox.registrations = r.mailbox.registrations[1:]
		return ok, ok, nil
	}
	if now.Before(*deadline) && now.Sub(*lastCheck) < r.registrationRecheck() {
		return false, false, nil
	}
	// The edge's message may have been lost: ask PortOne directly.
	key, err := r.checkBillingKey(r.key())
	if err != nil {
		return false, false, err
	}
	*lastCheck = now
	if key.Exists {
		r.s.Registration.VerifiedAt = r.now()
		r.event("billing_key_verified", "", "billing key found at PortOne on a periodic check")
		return true, true, nil
	}
	if !now.Before(*deadline) {
		r.setStatus(billing.StatusExpired, fmt.Sprintf("no billing key was registered within %s", billing.Duration(r.regTimeout)))
		return true, false, nil
	}
	return false, false, nil
}

// verifyRegistration checks a reported registration at PortOne.
func (r *runner) verifyRegistration(reg billing.RegisteredSignal) (bool, error) {
	var res activities.VerifyRegistrationResult
	err := workflow.ExecuteActivity(r.activity(readOptions), acts.VerifyRegistration,
		activities.VerifyRegistrationInput{ImpUID: reg.ImpUID, CustomerUID: r.s.CustomerUID, Gateway: r.s.Gateway, BillingKey: reg.BillingKey}).Get(r.actx, &res)
	if err != nil {
		return false, err
	}
	if !res.OK {
		r.s.Registration.LastError = res.Reason
		what := "imp_uid " + reg.ImpUID
		if reg.BillingKey != "" {
			what = "billing key " + textfmt.MaskUID(reg.BillingKey)
		}
		r.event("registration_rejected", "", fmt.Sprintf("%s: %s", what, res.Reason))
		r.publish(billing.EventRegistrationFailed, billing.EventData{Detail: "rejected at PortOne: " + res.Reason})
		return false, nil
	}
	r.s.Registration.ImpUID = reg.ImpUID
	r.s.Registration.VerifiedAt = r.now()
	r.s.Registration.LastError = ""
	if r.s.Gateway.IsV2() && reg.BillingKey != "" {
		r.s.BillingKey = reg.BillingKey
		r.event("registered", "customer", "V2 billing key "+textfmt.MaskUID(reg.BillingKey)+" verified at PortOne (issued, NaverPay, issueId "+r.s.CustomerUID+")")
		return true, nil
	}
	r.event("registered", "customer", "registration "+reg.ImpUID+" verified at PortOne")
	return true, nil
}

// key is the billing key every charge, schedule and deletion names: on V1 the customer_uid; on
// V2 the key PortOne issued, once verified, or before that the customer_uid (a V2 key issued
// beforehand may be named there directly; the first look verifies it).
func (r *runner) key() string {
	if r.s.Gateway.IsV2() && r.s.BillingKey != "" {
		return r.s.BillingKey
	}
	return r.s.CustomerUID
}

func (r *runner) checkBillingKey(customerUID string) (activities.BillingKeyResult, error) {
	var res activities.BillingKeyResult
	err := workflow.ExecuteActivity(r.activity(readOptions), acts.CheckBillingKey,
		activities.BillingKeyInput{CustomerUID: customerUID, Gateway: r.s.Gateway}).Get(r.actx, &res)
	return res, err
}

// acts is the nil receiver through which the workflow names activity methods.
var acts *activities.Activities

// registrationRecheck is how often a subscription awaiting registration asks PortOne itself, in
// case the edge's "registered" message was lost: every 30 minutes, or less often for long
// deadlines so that at most about 100 checks are made.
func (r *runner) registrationRecheck() time.Duration {
	return max(minRegistrationRecheck, r.regTimeout/100)
}
