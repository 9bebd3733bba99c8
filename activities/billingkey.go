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
	CustomerUID string `json:"customer_uid"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
}

// BillingKeyResult says whether PortOne holds a billing key for the customer_uid.
type BillingKeyResult struct {
	Exists     bool   `json:"exists"`
	PGProvider string `json:"pg_provider,omitempty"`
	CardName   string `json:"card_name,omitempty"`
}

// CheckBillingKey asks the gateway whether the billing key exists (Gateway.BillingKey).
func (a *Activities) CheckBillingKey(ctx context.Context, in BillingKeyInput) (BillingKeyResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return BillingKeyResult{}, gerr
	}
	c, err := a.Gateway.BillingKey(ctx, in.CustomerUID)
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
	// BillingKey is a V2 key reported issued (V2 has no registration payment); CustomerUID is
	// then the issueId the key must carry.
	BillingKey  string `json:"billing_key,omitempty"`
	ImpUID      string `json:"imp_uid"`
	CustomerUID string `json:"customer_uid"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
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
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return VerifyRegistrationResult{}, gerr
	}
	if in.Gateway.IsV2() && in.BillingKey != "" {
		return a.verifyKeyV2(ctx, in)
	}
	if in.Gateway.IsV2() {
		return a.verifyV2Registration(ctx, in)
	}
	p, err := a.Gateway.Payment(ctx, in.ImpUID)
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
	key, err := a.CheckBillingKey(ctx, BillingKeyInput{CustomerUID: in.CustomerUID})
	if err != nil {
		return VerifyRegistrationResult{}, err
	}
	if !key.Exists {
		return VerifyRegistrationResult{Reason: "the registration is paid but PortOne holds no billing key for this customer_uid"}, nil
	}
	return VerifyRegistrationResult{OK: true}, nil
}

// verifyV2Registration checks a V2 registration: V2 issues a billing key without a registration
// payment, so the key itself is the proof: PortOne holds it, issued, for NaverPay. (Checking the
// issueId the registration used is left to the V2 registration page, which knows it.)
func (a *Activities) verifyV2Registration(ctx context.Context, in VerifyRegistrationInput) (VerifyRegistrationResult, error) {
	key, err := a.CheckBillingKey(ctx, BillingKeyInput{CustomerUID: in.CustomerUID, Gateway: in.Gateway})
	switch {
	case err != nil:
		return VerifyRegistrationResult{}, err
	case !key.Exists:
		return VerifyRegistrationResult{Reason: "PortOne V2 holds no issued billing key " + in.CustomerUID}, nil
	case key.PGProvider != "naverpay":
		return VerifyRegistrationResult{Reason: fmt.Sprintf("billing key %s is a %q key, not NaverPay's", in.CustomerUID, key.PGProvider)}, nil
	}
	return VerifyRegistrationResult{OK: true}, nil
}

// DeleteBillingKeyInput asks to delete a billing key at PortOne.
type DeleteBillingKeyInput struct {
	CustomerUID string            `json:"customer_uid"`
	Reason      string            `json:"reason"`
	Requester   billing.Requester `json:"requester"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
}

// DeleteBillingKeyResult reports the deletion.
type DeleteBillingKeyResult struct {
	Deleted     bool `json:"deleted"`
	AlreadyGone bool `json:"already_gone,omitempty"`
}

// DeleteBillingKey deletes the billing key with the reason and requester NaverPay's review
// requires. A key that is already gone counts as deleted, so a retry after a lost answer is safe.
func (a *Activities) DeleteBillingKey(ctx context.Context, in DeleteBillingKeyInput) (DeleteBillingKeyResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return DeleteBillingKeyResult{}, gerr
	}
	err := a.Gateway.DeleteBillingKey(ctx, gateway.DeleteKeyRequest{Key: in.CustomerUID, Reason: in.Reason, Requester: in.Requester})
	switch {
	case err == nil:
		return DeleteBillingKeyResult{Deleted: true}, nil
	case errors.Is(err, gateway.ErrKeyNotFound):
		return DeleteBillingKeyResult{Deleted: true, AlreadyGone: true}, nil
	}
	return DeleteBillingKeyResult{}, gatewayError(err)
}

// verifyKeyV2 checks a V2 registration reported with its key: PortOne issues the key without a
// registration payment, so the key itself is verified at the server: it exists (issued, not
// deleted), belongs to NaverPay, and carries this subscription's issueId (the customer_uid),
// which no other subscription's registration page sends. Whoever reported it is not trusted.
func (a *Activities) verifyKeyV2(ctx context.Context, in VerifyRegistrationInput) (VerifyRegistrationResult, error) {
	k, err := a.Gateway.BillingKey(ctx, in.BillingKey)
	switch {
	case errors.Is(err, gateway.ErrKeyNotFound):
		return VerifyRegistrationResult{Reason: "PortOne holds no issued billing key by that name (unknown or deleted)"}, nil
	case errors.Is(err, gateway.ErrInvalidRequest):
		return VerifyRegistrationResult{Reason: err.Error()}, nil
	case err != nil:
		return VerifyRegistrationResult{}, gatewayError(err)
	case !strings.EqualFold(k.PGProvider, "naverpay"):
		return VerifyRegistrationResult{Reason: fmt.Sprintf("the billing key is a %q key, not NaverPay's", k.PGProvider)}, nil
	case k.IssueID != in.CustomerUID:
		return VerifyRegistrationResult{Reason: "the billing key was issued for another registration (its issueId is not this subscription's)"}, nil
	}
	return VerifyRegistrationResult{OK: true}, nil
}
