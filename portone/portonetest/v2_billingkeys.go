package portonetest

// V2 billing keys: GET and DELETE /billing-keys/{billingKey}. Keys are issued by NaverPay's
// window only (IssueBillingKeyV2, the browser stand-in): POST /billing-keys is card-only on
// PortOne and is not served.

import (
	"net/http"
	"slices"
	"strconv"
)

// v2NaverPayMID is the pgMerchantId of the emulator's NaverPay channels.
const v2NaverPayMID = "np_emulator_partner_v2"

// v2WireChannel is SelectedChannel.
type v2WireChannel struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Key          string `json:"key"`
	Name         string `json:"name"`
	PGProvider   string `json:"pgProvider"`
	PGMerchantID string `json:"pgMerchantId"`
}

func (m *merchant) v2Channel() v2WireChannel {
	typ := "LIVE"
	if m.sandbox {
		typ = "TEST"
	}
	return v2WireChannel{Type: typ, ID: "channel-id-" + m.storeID, Key: m.channelKey, Name: "네이버페이 정기결제",
		PGProvider: "NAVERPAY", PGMerchantID: v2NaverPayMID}
}

// v2WireCustomer is Customer (every field optional).
type v2WireCustomer struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

func (c V2Customer) wire() v2WireCustomer {
	return v2WireCustomer(c)
}

// v2WireKeyMethod is BillingKeyPaymentMethodEasyPay: NaverPay discloses no card behind it.
type v2WireKeyMethod struct {
	Type     string `json:"type"`
	Provider string `json:"provider"`
}

// v2WireKey is IssuedBillingKeyInfo / DeletedBillingKeyInfo.
type v2WireKey struct {
	Status      string            `json:"status"`
	BillingKey  string            `json:"billingKey"`
	MerchantID  string            `json:"merchantId"`
	StoreID     string            `json:"storeId"`
	Methods     []v2WireKeyMethod `json:"methods"`
	Channels    []v2WireChannel   `json:"channels"`
	Customer    v2WireCustomer    `json:"customer"`
	CustomData  string            `json:"customData,omitempty"`
	IssueID     string            `json:"issueId,omitempty"`
	IssueName   string            `json:"issueName,omitempty"`
	RequestedAt string            `json:"requestedAt"`
	IssuedAt    string            `json:"issuedAt"`
	DeletedAt   string            `json:"deletedAt,omitempty"`
}

func (k *v2Key) wire() v2WireKey {
	w := v2WireKey{
		Status: v2KeyIssued, BillingKey: k.billingKey, MerchantID: k.m.merchantID, StoreID: k.m.storeID,
		Methods:  []v2WireKeyMethod{{Type: "BillingKeyPaymentMethodEasyPay", Provider: "NAVERPAY"}},
		Channels: []v2WireChannel{k.m.v2Channel()}, Customer: k.customer.wire(), CustomData: k.customData,
		IssueID: k.issueID, IssueName: k.issueName, RequestedAt: v2Time(k.issuedAt), IssuedAt: v2Time(k.issuedAt),
	}
	if !k.deletedAt.IsZero() {
		w.Status, w.DeletedAt = v2KeyDeleted, v2Time(k.deletedAt)
	}
	return w
}

// v2GetBillingKey serves GET /billing-keys/{billingKey}.
func (e *Emulator) v2GetBillingKey(c *v2Call) v2Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := c.m.v2.keys[c.r.PathValue("billingKey")]
	if k == nil {
		return v2Fail(http.StatusNotFound, v2KeyNotFound, "빌링키가 존재하지 않습니다.")
	}
	return v2OK(k.wire())
}

// v2DeleteBillingKey serves DELETE /billing-keys/{billingKey}?reason=&requester=. NaverPay's
// review requires both reason and requester, so the emulator refuses a deletion without them
// (a NaverPay channel is all it has). Pending schedules block it (409
// PAYMENT_SCHEDULE_ALREADY_EXISTS), as v2-api.md §3 documents.
func (e *Emulator) v2DeleteBillingKey(c *v2Call) v2Result {
	reason, requester := c.q.Get("reason"), c.q.Get("requester")
	switch {
	case reason == "":
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "reason: NaverPay billing keys are deleted with a reason")
	case requester == "":
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "requester: NaverPay billing keys are deleted with a requester (CUSTOMER or ADMIN)")
	case requester != "CUSTOMER" && requester != "ADMIN":
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "requester: must be CUSTOMER or ADMIN, got %q", requester)
	}
	skip := false
	if v := c.q.Get("skipWebhook"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return v2Fail(http.StatusBadRequest, v2InvalidRequest, "skipWebhook: not a boolean")
		}
		skip = b
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := c.m.v2.keys[c.r.PathValue("billingKey")]
	if k == nil {
		return v2Fail(http.StatusNotFound, v2KeyNotFound, "빌링키가 존재하지 않습니다.")
	}
	if !k.deletedAt.IsZero() {
		return v2Fail(http.StatusConflict, v2KeyAlreadyDeleted, "이미 삭제된 빌링키입니다.")
	}
	if slices.ContainsFunc(c.m.v2.schedules, func(s *v2Schedule) bool {
		return s.billingKey == k.billingKey && s.status == v2SchedScheduled
	}) {
		return v2Fail(http.StatusConflict, v2ScheduleExists, "빌링키에 예약된 결제가 있습니다. 결제 예약을 먼저 취소해주세요.")
	}
	now := e.clock.Now()
	k.deletedAt, k.deleteReason, k.deleteBy = now, reason, requester
	subj := subject{merchant: c.m.key, customerUID: k.billingKey}
	if !skip {
		e.enqueueV2WebhookLocked(c.m, nil, v2Event{Type: "BillingKey.Deleted", BillingKey: k.billingKey}, subj, OpV2DeleteBillingKey)
	}
	res := v2OK(map[string]string{"deletedAt": v2Time(now)})
	res.after = e.fireLocked(c.op, subj, FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}
