package billing

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Limits that keep every merchant_uid within PortOne's 40 characters:
// 24 (subscription) + 1 + 4 (tag) + 1 + 5 (cycle) + 1 + 2 (attempt) = 38.
const (
	// MaxSubscriptionIDLen is the longest subscription ID accepted.
	MaxSubscriptionIDLen = 24
	// MaxCycle is the highest cycle number a merchant_uid can carry.
	MaxCycle = 99999
	// MaxAttempt is the highest attempt number within one cycle.
	MaxAttempt = 99
	// TagLen is the length of the incarnation tag.
	TagLen = 4
)

var (
	subscriptionIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	chargeUIDPattern      = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_-]{0,23})-([a-z2-7]{4})-([1-9][0-9]{0,4})-([1-9][0-9]?)$`)
	registrationPattern   = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_-]{0,23})-reg-([a-z0-9]{1,10})$`)
	cyclePaymentPattern   = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_-]{0,23})-([a-z2-7]{4})-c([1-9][0-9]{0,4})(?:p([2-9]|[1-9][0-9]))?$`)
)

// MaxPaymentGen is the highest generation of a cycle's V2 paymentId (CyclePaymentID.Gen): a
// cycle moves to its next paymentId only when PortOne's attempt cap closed the one before, so
// 99 of them outlast MaxAttempt attempts under any cap.
const MaxPaymentGen = 99

// CyclePaymentID is the PortOne V2 paymentId of a billing cycle: one per cycle, shared by every
// attempt of the cycle (V2 lets many attempts, transactions, run under one paymentId and only one
// of them succeed, so a cycle paid twice is PortOne's own impossibility). Gen counts the
// paymentIds of the cycle: 1 until PortOne's attempt cap (MAX_TRANSACTION_COUNT_REACHED) closes
// it, then 2, and so on. Each attempt keeps its own ChargeUID (merchant_uid) as its identity in
// state and events; this is only what PortOne V2 is told.
type CyclePaymentID struct {
	SubscriptionID string `json:"subscription_id"`
	Tag            string `json:"tag"`
	Cycle          int    `json:"cycle"`
	// Gen is 1 for the cycle's first paymentId (0 reads as 1).
	Gen int `json:"gen,omitempty"`
}

// String returns the paymentId, "sub-1001-k3xq-c12" for the first generation and
// "sub-1001-k3xq-c12p2" for the second: the "c" keeps it apart from every merchant_uid (whose
// last two parts are digits), so a webhook's paymentId alone names its subscription and cycle.
// At most 24+1+4+2+5+3 = 39 characters.
func (p CyclePaymentID) String() string {
	if p.Gen <= 1 {
		return fmt.Sprintf("%s-%s-c%d", p.SubscriptionID, p.Tag, p.Cycle)
	}
	return fmt.Sprintf("%s-%s-c%dp%d", p.SubscriptionID, p.Tag, p.Cycle, p.Gen)
}

// Next is the cycle's following paymentId, and false when Gen is MaxPaymentGen already.
func (p CyclePaymentID) Next() (CyclePaymentID, bool) {
	if p.Gen >= MaxPaymentGen {
		return p, false
	}
	p.Gen = max(p.Gen, 1) + 1
	return p, true
}

// ValidateSubscriptionID reports why id cannot be a subscription ID, or nil. The limits exist
// because the subscription ID is embedded in every merchant_uid (PortOne allows 40 characters)
// so that a webhook's merchant_uid alone names its subscription.
func ValidateSubscriptionID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("must not be empty")
	case len(id) > MaxSubscriptionIDLen:
		return fmt.Errorf("%q is %d characters; at most %d are allowed because it is embedded in PortOne's 40-character merchant_uid", id, len(id), MaxSubscriptionIDLen)
	case !subscriptionIDPattern.MatchString(id):
		return fmt.Errorf("%q may contain only A-Z, a-z, 0-9, '_' and '-', and must start with a letter or digit", id)
	}
	return nil
}

// IncarnationTag derives the 4-character tag that tells apart two subscriptions started, one
// after the other, under the same subscription ID. It is computed from the workflow's first run
// ID, which Temporal keeps across continue-as-new and workflow reset, so every merchant_uid of one
// subscription stays the same after a crash, a continue-as-new or a reset, while a later
// subscription reusing the ID can never adopt the earlier one's payments.
func IncarnationTag(firstRunID string) string {
	sum := sha256.Sum256([]byte(firstRunID))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:TagLen]
}

// ChargeUID identifies one charge attempt: the attempt-th try of the cycle-th billing cycle of a
// subscription incarnation. Its String form is the PortOne merchant_uid.
type ChargeUID struct {
	SubscriptionID string `json:"subscription_id"`
	Tag            string `json:"tag"`
	Cycle          int    `json:"cycle"`
	Attempt        int    `json:"attempt"`
}

// String returns the merchant_uid, for example "sub-1001-k3xq-12-1". It is a pure function of
// the fields, so every retry of an attempt sends the same merchant_uid.
func (u ChargeUID) String() string {
	return fmt.Sprintf("%s-%s-%d-%d", u.SubscriptionID, u.Tag, u.Cycle, u.Attempt)
}

// Validate reports whether the fields can form a merchant_uid.
func (u ChargeUID) Validate() error {
	if err := ValidateSubscriptionID(u.SubscriptionID); err != nil {
		return fmt.Errorf("subscription_id %w", err)
	}
	if len(u.Tag) != TagLen {
		return fmt.Errorf("tag %q must be %d characters", u.Tag, TagLen)
	}
	if u.Cycle < 1 || u.Cycle > MaxCycle {
		return fmt.Errorf("cycle %d out of range 1..%d", u.Cycle, MaxCycle)
	}
	if u.Attempt < 1 || u.Attempt > MaxAttempt {
		return fmt.Errorf("attempt %d out of range 1..%d", u.Attempt, MaxAttempt)
	}
	return nil
}

// MerchantUIDKind says what a parsed merchant_uid belongs to.
type MerchantUIDKind int

// The kinds of merchant_uid this project creates.
const (
	// KindUnknown is a merchant_uid this project did not create.
	KindUnknown MerchantUIDKind = iota
	// KindCharge is a billing-cycle charge attempt.
	KindCharge
	// KindRegistration is the NaverPay registration (billing-key issue) record.
	KindRegistration
	// KindCyclePayment is a cycle's PortOne V2 paymentId (CyclePaymentID), shared by the
	// cycle's attempts.
	KindCyclePayment
)

// ParsedMerchantUID is what the HTTP edge learns from a merchant_uid alone.
type ParsedMerchantUID struct {
	Kind           MerchantUIDKind
	SubscriptionID string
	// Charge is set for KindCharge; for KindCyclePayment its SubscriptionID, Tag and Cycle are
	// (Attempt is 0: the paymentId names no single attempt).
	Charge ChargeUID
	// Payment is set for KindCyclePayment.
	Payment CyclePaymentID
}

// OfCycle reports whether the id names a billing cycle of a subscription: an attempt's
// merchant_uid or a cycle's V2 paymentId. Charge.SubscriptionID, Tag and Cycle are then set.
func (p ParsedMerchantUID) OfCycle() bool {
	return p.Kind == KindCharge || p.Kind == KindCyclePayment
}

// ParseMerchantUID recognises the merchant_uids (and V2 cycle paymentIds) this project creates. Anything else is
// KindUnknown with an error, so a forged or foreign notification cannot name a subscription.
func ParseMerchantUID(s string) (ParsedMerchantUID, error) {
	if m := chargeUIDPattern.FindStringSubmatch(s); m != nil {
		cycle, _ := strconv.Atoi(m[3])
		attempt, _ := strconv.Atoi(m[4])
		return ParsedMerchantUID{
			Kind:           KindCharge,
			SubscriptionID: m[1],
			Charge:         ChargeUID{SubscriptionID: m[1], Tag: m[2], Cycle: cycle, Attempt: attempt},
		}, nil
	}
	if m := cyclePaymentPattern.FindStringSubmatch(s); m != nil {
		cycle, _ := strconv.Atoi(m[3])
		gen := 1
		if m[4] != "" {
			gen, _ = strconv.Atoi(m[4])
		}
		return ParsedMerchantUID{
			Kind:           KindCyclePayment,
			SubscriptionID: m[1],
			Charge:         ChargeUID{SubscriptionID: m[1], Tag: m[2], Cycle: cycle},
			Payment:        CyclePaymentID{SubscriptionID: m[1], Tag: m[2], Cycle: cycle, Gen: gen},
		}, nil
	}
	if m := registrationPattern.FindStringSubmatch(s); m != nil {
		return ParsedMerchantUID{Kind: KindRegistration, SubscriptionID: m[1]}, nil
	}
	return ParsedMerchantUID{}, fmt.Errorf("merchant_uid %q was not issued by this billing orchestrator", s)
}

// RegistrationMerchantUID returns the merchant_uid of a NaverPay registration attempt. nonce
// must be fresh for every registration window opened (1–10 characters of a-z0-9), because
// PortOne refuses to reuse a merchant_uid.
func RegistrationMerchantUID(subscriptionID, nonce string) string {
	return subscriptionID + "-reg-" + nonce
}
