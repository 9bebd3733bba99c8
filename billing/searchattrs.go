package billing

import "go.temporal.io/sdk/temporal"

// Search attributes the workflow upserts on every change. They must be registered on the
// Temporal server (the dev server does it at start-up; see README for a cluster).
var (
	// SABillingStatus is the subscription Status (Keyword).
	SABillingStatus = temporal.NewSearchAttributeKeyKeyword("BillingStatus")
	// SACustomerUID is the billing key handle (Keyword).
	SACustomerUID = temporal.NewSearchAttributeKeyKeyword("CustomerUID")
	// SANextChargeAt is the next charge instant (Datetime); unset when none is planned.
	SANextChargeAt = temporal.NewSearchAttributeKeyTime("NextChargeAt")
	// SAPlanName is the current plan's name (Keyword).
	SAPlanName = temporal.NewSearchAttributeKeyKeyword("PlanName")
	// SABillingCycle is the latest cycle number billed (Int).
	SABillingCycle = temporal.NewSearchAttributeKeyInt64("BillingCycle")
	// SAAmountKRW is the current plan's amount in KRW (Int).
	SAAmountKRW = temporal.NewSearchAttributeKeyInt64("AmountKRW")
	// SANeedsAttention is true while the subscription is parked for a human (Bool); see Attention.
	SANeedsAttention = temporal.NewSearchAttributeKeyBool("NeedsAttention")
	// SAConsentStatus is the coming price rise's ConsentStatus (Keyword): "required" lists the
	// subscriptions whose customers must be asked; "none" once settled. Unset when never needed.
	SAConsentStatus = temporal.NewSearchAttributeKeyKeyword("ConsentStatus")
	// SABillingPhase is State.PricingPhase (Keyword: trial, intro k/n, regular), set only on
	// plans with a trial or introductory price.
	SABillingPhase = temporal.NewSearchAttributeKeyKeyword("BillingPhase")
)

// SearchAttributeDef names one search attribute and its Temporal type, for registration.
type SearchAttributeDef struct {
	Name string
	// Type is the Temporal CLI spelling: Keyword, Int, Datetime, Bool.
	Type string
}

// SearchAttributes lists the attributes to register on the server.
var SearchAttributes = []SearchAttributeDef{
	{Name: SABillingStatus.GetName(), Type: "Keyword"},
	{Name: SACustomerUID.GetName(), Type: "Keyword"},
	{Name: SANextChargeAt.GetName(), Type: "Datetime"},
	{Name: SAPlanName.GetName(), Type: "Keyword"},
	{Name: SABillingCycle.GetName(), Type: "Int"},
	{Name: SAAmountKRW.GetName(), Type: "Int"},
	{Name: SANeedsAttention.GetName(), Type: "Bool"},
	{Name: SAConsentStatus.GetName(), Type: "Keyword"},
	{Name: SABillingPhase.GetName(), Type: "Keyword"},
}
