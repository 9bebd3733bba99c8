package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// replace_billing_key to a PortOne V2 key (issue 22, versionReplaceToV2). A V1 subscription
// moves onto V2 only through a new V2 registration: PortOne documents no way to turn a V1 key
// into a V2 one, so the customer registers NaverPay again through V2's window (a new consent to
// recurring payments) and the merchant sends the key it got. The workflow trusts that key only
// after PortOne V2 confirmed it exactly as for a V2 registration (issued, NaverPay's, under the
// issueId named), then switches the gateway from the next charge on. Nothing moves back to V1.

// moveReason is the reason sent with the deletion of the V1 key a move replaced, unless the
// request gives its own (NaverPay's review requires one on every deletion).
const moveReason = "PortOne V2 결제수단으로 변경 (moved to a new PortOne V2 billing key)"

// replaceNewerFields are the fields of a replace_billing_key payload this run reads as the
// version that recorded it did: the V2 fields (billing.ReplaceV2Fields) when the run does not
// take versionReplaceToV2. The question is asked only when the payload names one of them, and
// only when the message is applied: an update's validator (dryRun) cannot record a marker, and
// a validator runs only live, where the answer is the newest version.
func (r *runner) replaceNewerFields(raw json.RawMessage, dryRun bool) []string {
	if dryRun || !namesAnyField(raw, billing.ReplaceV2Fields) {
		return nil
	}
	if r.atLeast(changeReplaceToV2, versionReplaceToV2) {
		return nil
	}
	return billing.ReplaceV2Fields
}

// namesAnyField reports whether raw is a JSON object with a key matching one of fields
// case-insensitively (as json.Unmarshal matches keys to fields).
func namesAnyField(raw json.RawMessage, fields []string) bool {
	var obj map[string]json.RawMessage
	//workflowcheck:ignore decoding JSON is deterministic; the map is only looked up
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	//workflowcheck:ignore the answer does not depend on the order of the keys
	for k := range obj {
		if slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(k, f) }) {
			return true
		}
	}
	return false
}

// checkReplace validates a replace_billing_key request against the subscription and the
// worker: a V2 subscription never moves back to a V1 key, a V2 key needs a worker with V2
// settings, and the plan must be chargeable on V2 (NaverPay's V2 minimum).
func (r *runner) checkReplace(req *billing.ReplaceBillingKeyRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if r.s.Gateway.IsV2() && req.Gateway == billing.GatewayPortOneV1 {
		return &billing.InputError{Field: "gateway", Reason: fmt.Sprintf("this subscription is on %s and cannot move back to a V1 key: a move goes one way, "+
			"from V1 to a new V2 registration (V1 keys stay V1; PortOne documents no migration between generations)", billing.GatewayPortOneV2)}
	}
	if !req.ToV2() {
		return nil
	}
	if !r.settings.PortOneV2 {
		return &billing.InputError{Field: "gateway", Reason: fmt.Sprintf("%q, but this worker has no PortOne V2 settings (start it with PORTONE_V2_API_SECRET); nothing changed", req.Gateway)}
	}
	plans := []*billing.Plan{&r.s.Plan}
	if r.s.PendingPlan != nil {
		plans = append(plans, r.s.PendingPlan)
	}
	for i, p := range plans {
		field := []string{"plan.amount", "pending_plan.amount"}[i]
		if err := p.ValidateForGateway(field, billing.GatewayPortOneV2); err != nil {
			return &billing.InputError{Field: "gateway", Reason: fmt.Sprintf("the subscription's %s; change the plan before moving to %s", err.Error(), billing.GatewayPortOneV2)}
		}
	}
	return nil
}

// applyReplaceKeyV2 verifies a V2 key at PortOne V2 and moves the subscription onto it (or, on a
// V2 subscription, onto the new key): a pending V1 schedule is revoked first, the V1 charges on
// record keep their gateway for later refunds, the new key and its issueId become the
// subscription's, the old key is deleted on its own gateway, and a past-due cycle is retried at
// once on the new key. refusal is set when PortOne V2 does not confirm the key; nothing changes
// then.
func (r *runner) applyReplaceKeyV2(req billing.ReplaceBillingKeyRequest) (receipt billing.Receipt, refusal, err error) {
	issueID := req.IssueID
	if issueID == "" {
		issueID = r.s.CustomerUID
	}
	if r.s.Gateway.IsV2() && r.s.BillingKey == req.BillingKey && r.s.CustomerUID == issueID {
		// Already on this key: a message sent again, or this intent carried out again after a
		// step after the switch failed. The old key was dealt with then.
		again := req
		keep := false
		again.DeleteOld = &keep
		return r.afterReplace(again, r.s.Gateway, "", "", moveReason)
	}
	var res activities.VerifyRegistrationResult
	if err := workflow.ExecuteActivity(r.activity(readOptions), acts.VerifyRegistration, activities.VerifyRegistrationInput{
		BillingKey: req.BillingKey, CustomerUID: issueID, Gateway: billing.GatewayPortOneV2,
	}).Get(r.actx, &res); err != nil {
		return billing.Receipt{}, nil, err
	}
	if !res.OK {
		msg := fmt.Sprintf("V2 billing key %s not confirmed by PortOne V2: %s; nothing changed", textfmt.MaskUID(req.BillingKey), res.Reason)
		r.event("replace_billing_key_refused", "", msg)
		return billing.Receipt{Message: msg}, &billing.InputError{Field: "billing_key", Reason: res.Reason + "; nothing changed"}, nil
	}
	oldGateway, old := r.s.Gateway, r.key()
	moving := !oldGateway.IsV2()
	if moving && r.s.Scheduled != nil {
		// PortOne V1's scheduler would charge the V1 key: revoke before the switch (if it ran
		// already, that charge is the cycle's, settled on V1 before the move).
		if _, err := r.revokeSchedule(r.s.Scheduled); err != nil {
			return billing.Receipt{}, nil, err
		}
	}
	if moving {
		// What was made on V1 stays there: its refunds and lookups go to V1.
		for i := range r.s.Charges {
			if r.s.Charges[i].Gateway == "" {
				r.s.Charges[i].Gateway = billing.GatewayPortOneV1
			}
		}
		for i := range r.s.RecoveryWatches {
			if r.s.RecoveryWatches[i].Gateway == "" {
				r.s.RecoveryWatches[i].Gateway = billing.GatewayPortOneV1
			}
		}
	}
	r.s.Gateway, r.s.CustomerUID, r.s.BillingKey = billing.GatewayPortOneV2, issueID, req.BillingKey
	r.s.Registration.VerifiedAt, r.s.Registration.LastError = r.now(), ""
	r.s.Registration.IssueID = issueID
	from := string(oldGateway)
	if from == "" {
		from = string(billing.GatewayPortOneV1)
	}
	detail := fmt.Sprintf("%s %s → %s %s", from, textfmt.MaskUID(old), billing.GatewayPortOneV2, textfmt.MaskUID(req.BillingKey))
	r.event("billing_key_replaced", "", detail+" "+req.Reason)
	if moving {
		r.s.Registration.MovedFrom, r.s.Registration.MovedAt = billing.GatewayPortOneV1, r.now()
		r.event("gateway_changed", "", fmt.Sprintf("%s → %s from the next charge on (cycle %d); charges made on V1 are refunded on V1", from, billing.GatewayPortOneV2, r.s.Cycle+1))
		r.event("naverpay_consent_renewed", "customer", fmt.Sprintf("the V2 key is a new NaverPay registration (issueId %s): the customer agreed to recurring payments again in NaverPay's window; the V1 key's agreement ends with that key", issueID))
	}
	r.publish(billing.EventBillingKeyReplaced, billing.EventData{Detail: detail})
	return r.afterReplace(req, oldGateway, old, req.BillingKey, moveReason)
}

// replaceRegisteredV2Key is replace_billing_key in the form it always had (customer_uid naming
// the new key, which PortOne V2 holds) on a V2 subscription registered through the V2 page,
// whose customer_uid is the issueId and whose key is State.BillingKey: the new key becomes
// BillingKey and the old one is deleted at V2. Before versionReplaceToV2 only the customer_uid
// changed, so the charges went on on the old key and the deletion named the issueId, which
// PortOne V2 does not hold.
func (r *runner) replaceRegisteredV2Key(req billing.ReplaceBillingKeyRequest) (receipt billing.Receipt, refusal, err error) {
	old := r.s.BillingKey
	r.s.BillingKey = req.CustomerUID
	detail := fmt.Sprintf("%s → %s", textfmt.MaskUID(old), textfmt.MaskUID(req.CustomerUID))
	r.event("billing_key_replaced", "", detail+" "+req.Reason)
	r.publish(billing.EventBillingKeyReplaced, billing.EventData{Detail: detail})
	return r.afterReplace(req, r.s.Gateway, old, req.CustomerUID, "결제수단 변경 (billing key replaced)")
}

// watchGateway is the gateway of a watched schedule: its own (a V1 schedule watched when the
// subscription moved to V2) or the subscription's.
func (r *runner) watchGateway(w billing.RecoveryWatch) billing.GatewayName {
	if w.Gateway != "" {
		return w.Gateway
	}
	return r.s.Gateway
}
