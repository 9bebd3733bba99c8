package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// BillingKeyInput names a billing key.
type BillingKeyInput struct {
	// Gateway is the subscription's gateway generation (empty: PortOne V1, as in every
	// history recorded before V2).
	Gateway     billing.GatewayName `json:"gateway,omitempty"`
	CustomerUID string              `json:"customer_uid"`
}

// BillingKeyResult says whether PortOne holds a billing key for the customer_uid.
type BillingKeyResult struct {
	Exists     bool   `json:"exists"`
	PGProvider string `json:"pg_provider,omitempty"`
	CardName   string `json:"card_name,omitempty"`
}

// CheckBillingKey asks the gateway whether the billing key exists (Gateway.BillingKey).
func (a *Activities) CheckBillingKey(ctx context.Context, in BillingKeyInput) (BillingKeyResult, error) {
	g, gerr := a.gatewayFor(in.Gateway)
	if gerr != nil {
		return BillingKeyResult{}, gerr
	}
	c, err := g.BillingKey(ctx, in.CustomerUID)
	if errors.Is(err, gateway.ErrKeyNotFound) {
		return BillingKeyResult{}, nil
	}
	if err != nil {
		return BillingKeyResult{}, gatewayError(err)
	}
	return BillingKeyResult{Exists: true, PGProvider: c.PGProvider, CardName: c.CardName}, nil
}

// VerifyRegistrationInput names a registration payment to verify.
type VerifyRegistrationInput struct {
	// BillingKey is the V2 key to verify (V2 has no registration payment); CustomerUID is then
	// the issueId the key must carry.
	BillingKey string `json:"billing_key,omitempty"`
	// Gateway is the subscription's gateway generation (empty: PortOne V1, as in every
	// history recorded before V2).
	Gateway     billing.GatewayName `json:"gateway,omitempty"`
	ImpUID      string              `json:"imp_uid"`
	CustomerUID string              `json:"customer_uid"`
}

// VerifyRegistrationResult is the verdict on a registration.
type VerifyRegistrationResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// VerifyRegistration checks, without trusting whoever reported it, that a NaverPay registration
// really happened: the payment exists at PortOne, is "paid" (NaverPay's registration record),
// belongs to this customer_uid, and the billing key now exists.
func (a *Activities) VerifyRegistration(ctx context.Context, in VerifyRegistrationInput) (VerifyRegistrationResult, error) {
	g, gerr := a.gatewayFor(in.Gateway)
	if gerr != nil {
		return VerifyRegistrationResult{}, gerr
	}
	if in.Gateway.IsV2() {
		return a.verifyKeyV2(ctx, g, in)
	}
	p, err := g.Payment(ctx, in.ImpUID)
	if errors.Is(err, gateway.ErrNotFound) {
		return VerifyRegistrationResult{Reason: fmt.Sprintf("PortOne has no payment %s", in.ImpUID)}, nil
	}
	if err != nil {
		if errors.Is(err, gateway.ErrInvalidRequest) {
			return VerifyRegistrationResult{Reason: err.Error()}, nil
		}
		return VerifyRegistrationResult{}, gatewayError(err)
	}
	switch {
	case p.Status != gateway.StatusPaid:
		reason := fmt.Sprintf("registration %s is %q, not paid", in.ImpUID, p.Status)
		if p.FailReason != "" {
			reason += ": " + p.FailReason
		}
		return VerifyRegistrationResult{Reason: reason}, nil
	case p.Key != in.CustomerUID:
		return VerifyRegistrationResult{Reason: fmt.Sprintf("registration %s belongs to another billing key", in.ImpUID)}, nil
	}
	key, err := a.CheckBillingKey(ctx, BillingKeyInput{CustomerUID: in.CustomerUID, Gateway: in.Gateway})
	if err != nil {
		return VerifyRegistrationResult{}, err
	}
	if !key.Exists {
		return VerifyRegistrationResult{Reason: "the registration is paid but PortOne holds no billing key for this customer_uid"}, nil
	}
	return VerifyRegistrationResult{OK: true}, nil
}

// DeleteBillingKeyInput asks to delete a billing key at PortOne.
type DeleteBillingKeyInput struct {
	// Gateway is the subscription's gateway generation (empty: PortOne V1, as in every
	// history recorded before V2).
	Gateway     billing.GatewayName `json:"gateway,omitempty"`
	CustomerUID string              `json:"customer_uid"`
	Reason      string              `json:"reason"`
	Requester   billing.Requester   `json:"requester"`
}

// DeleteBillingKeyResult reports the deletion.
type DeleteBillingKeyResult struct {
	Deleted     bool `json:"deleted"`
	AlreadyGone bool `json:"already_gone,omitempty"`
}

// DeleteBillingKey deletes the billing key with the reason and requester NaverPay's review
// requires. A key that is already gone counts as deleted, so a retry after a lost answer is safe.
func (a *Activities) DeleteBillingKey(ctx context.Context, in DeleteBillingKeyInput) (DeleteBillingKeyResult, error) {
	g, gerr := a.gatewayFor(in.Gateway)
	if gerr != nil {
		return DeleteBillingKeyResult{}, gerr
	}
	err := g.DeleteBillingKey(ctx, gateway.DeleteKeyRequest{Key: in.CustomerUID, Reason: in.Reason, Requester: in.Requester})
	switch {
	case err == nil:
		return DeleteBillingKeyResult{Deleted: true}, nil
	case errors.Is(err, gateway.ErrKeyNotFound):
		return DeleteBillingKeyResult{Deleted: true, AlreadyGone: true}, nil
	}
	return DeleteBillingKeyResult{}, gatewayError(err)
}

// verifyKeyV2 checks a V2 registration: PortOne issues the key without a registration payment,
// so the key itself is verified at the server: it exists (issued, not deleted), belongs to
// NaverPay, and carries this subscription's issueId (the customer_uid), which no other
// subscription's registration page sends. Whoever reported it is not trusted.
func (a *Activities) verifyKeyV2(ctx context.Context, g gateway.Gateway, in VerifyRegistrationInput) (VerifyRegistrationResult, error) {
	if in.BillingKey == "" {
		return VerifyRegistrationResult{Reason: "no billing key was reported"}, nil
	}
	k, err := g.BillingKey(ctx, in.BillingKey)
	switch {
	case errors.Is(err, gateway.ErrKeyNotFound):
		return VerifyRegistrationResult{Reason: "PortOne holds no issued billing key by that name (unknown or deleted)"}, nil
	case errors.Is(err, gateway.ErrInvalidRequest):
		return VerifyRegistrationResult{Reason: err.Error()}, nil
	case err != nil:
		return VerifyRegistrationResult{}, gatewayError(err)
	case !strings.EqualFold(k.PGProvider, "naverpay") && !strings.Contains(strings.ToUpper(k.PGProvider), "NAVERPAY"):
		return VerifyRegistrationResult{Reason: fmt.Sprintf("the billing key belongs to %q, not NaverPay", k.PGProvider)}, nil
	case k.IssueID != in.CustomerUID:
		return VerifyRegistrationResult{Reason: "the billing key was issued for another registration (its issueId is not this subscription's)"}, nil
	}
	return VerifyRegistrationResult{OK: true}, nil
}
