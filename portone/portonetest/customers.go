package portonetest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
)

// PGNaverPay is the pg_provider of NaverPay (결제형), the only PG this project uses.
const PGNaverPay = "naverpay"

// CustomerSeed describes a billing key to register. NaverPay keys are only ever issued
// through NaverPay's browser window, never through PortOne's REST API, so tests create them
// with RegisterCustomer (or POST /__emulator/customers) instead.
type CustomerSeed struct {
	// CustomerUID is the merchant-chosen id of the billing key. Required, at most 80 chars.
	CustomerUID string `json:"customer_uid"`
	// PGProvider is the key's PG. Optional: defaults to PGNaverPay.
	PGProvider string `json:"pg_provider,omitempty"`
	// PGID is the PG merchant id (MID). Optional: defaults to a fixed emulator MID.
	PGID string `json:"pg_id,omitempty"`
	// CustomerID is PortOne's customer_id. Optional.
	CustomerID string `json:"customer_id,omitempty"`
	// CardName, CardCode, CardNumber and CardType describe the card behind the key. Optional:
	// NaverPay does not disclose them, so they default to null.
	CardName   string `json:"card_name,omitempty"`
	CardCode   string `json:"card_code,omitempty"`
	CardNumber string `json:"card_number,omitempty"`
	CardType   *int   `json:"card_type,omitempty"`
	// CustomerName, CustomerTel, CustomerEmail, CustomerAddr and CustomerPostcode are the
	// customer_* fields; PortOne copies them into a charge's buyer_* fields when the charge
	// request leaves those empty. Optional. (NaverPay's window requires buyer_tel.)
	CustomerName     string `json:"customer_name,omitempty"`
	CustomerTel      string `json:"customer_tel,omitempty"`
	CustomerEmail    string `json:"customer_email,omitempty"`
	CustomerAddr     string `json:"customer_addr,omitempty"`
	CustomerPostcode string `json:"customer_postcode,omitempty"`
	// RegistrationMerchantUID is the merchant_uid the registration window was opened with.
	// Optional: a fresh one is generated.
	RegistrationMerchantUID string `json:"registration_merchant_uid,omitempty"`
	// RegistrationName is the order name shown in the registration window. Optional.
	RegistrationName string `json:"registration_name,omitempty"`
}

// RegisteredCustomer is what RegisterCustomer created.
type RegisteredCustomer struct {
	// Merchant is the key of the merchant that owns the billing key.
	Merchant string `json:"merchant"`
	// CustomerUID is the billing key's customer_uid.
	CustomerUID string `json:"customer_uid"`
	// RegistrationImpUID is the imp_uid of the registration payment record (status paid,
	// amount 0, customer_uid_usage "issue") that NaverPay's window leaves behind; the
	// registration flow verifies the registration by looking it up with GET /payments/{imp_uid}.
	RegistrationImpUID string `json:"registration_imp_uid"`
	// RegistrationMerchantUID is that record's merchant_uid.
	RegistrationMerchantUID string `json:"registration_merchant_uid"`
}

// defaultNaverPayMID is the pg_id of seeded NaverPay keys.
const defaultNaverPayMID = "np_emulator_partner"

// RegisterCustomer stores a billing key for the merchant with merchantKey (empty means the
// first configured merchant), replacing any key already stored under the same customer_uid,
// as re-issuing does on PortOne. It also creates the registration payment record that the
// NaverPay window creates. Re-registering clears a key made unusable by a hard decline.
func (e *Emulator) RegisterCustomer(merchantKey string, seed CustomerSeed) (RegisteredCustomer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.merchantFor(merchantKey)
	if err != nil {
		return RegisteredCustomer{}, err
	}
	if seed.CustomerUID == "" {
		return RegisteredCustomer{}, errors.New("portonetest: CustomerUID is required")
	}
	if len(seed.CustomerUID) > 80 {
		return RegisteredCustomer{}, errors.New("portonetest: CustomerUID is longer than 80 characters")
	}
	if len(seed.RegistrationMerchantUID) > 40 {
		return RegisteredCustomer{}, errors.New("portonetest: RegistrationMerchantUID is longer than 40 characters")
	}
	if seed.PGProvider == "" {
		seed.PGProvider = PGNaverPay
	}
	if seed.PGID == "" {
		seed.PGID = defaultNaverPayMID
	}
	regMUID := seed.RegistrationMerchantUID
	if regMUID == "" {
		regMUID = "issue_" + randomDigits(16)
	}
	if p := m.paidPaymentLocked(regMUID); p != nil {
		return RegisteredCustomer{}, fmt.Errorf("portonetest: registration merchant_uid %q was already used by %s", regMUID, p.impUID)
	}

	now := e.clock.Now()
	c := &customer{
		uid: seed.CustomerUID, pgProvider: seed.PGProvider, pgID: seed.PGID,
		customerID: seed.CustomerID,
		cardName:   seed.CardName, cardCode: seed.CardCode, cardNumber: seed.CardNumber, cardType: seed.CardType,
		name: seed.CustomerName, tel: seed.CustomerTel, email: seed.CustomerEmail,
		addr: seed.CustomerAddr, postcode: seed.CustomerPostcode,
		inserted: now.Unix(), updated: now.Unix(),
	}
	if old := m.customers[c.uid]; old != nil {
		c.inserted = old.inserted
	}
	m.customers[c.uid] = c

	name := seed.RegistrationName
	if name == "" {
		name = "정기결제 등록"
	}
	// Guess: the registration record's exact fields are not documented. The guide says
	// status "paid" means the registration succeeded and nothing is charged, so: paid,
	// amount 0, customer_uid_usage "issue", channel "pc" (it comes from the browser window).
	p := e.newPaymentLocked(m, now, c, regMUID, name, 0, 0, buyer{}.orFrom(c), nil, "", usageIssue)
	p.channel = "pc"
	e.approveLocked(p, now)

	e.log.Info("billing key registered",
		slog.String("merchant", maskKey(m.key)), slog.String("customer_uid", c.uid),
		slog.String("pg_provider", c.pgProvider), slog.String("registration_imp_uid", p.impUID),
		slog.String("customer_tel", maskTel(c.tel)), slog.String("customer_email", maskEmail(c.email)))
	return RegisteredCustomer{Merchant: m.key, CustomerUID: c.uid, RegistrationImpUID: p.impUID, RegistrationMerchantUID: regMUID}, nil
}

// DeleteCustomer removes a billing key without PortOne's request checks (no NaverPay review
// warning is recorded), as if the merchant deleted it in the console. Pending schedules are
// left alone and fail when they run, like after a REST delete.
func (e *Emulator) DeleteCustomer(merchantKey, customerUID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.merchantFor(merchantKey)
	if err != nil {
		return err
	}
	if _, found := m.customers[customerUID]; !found {
		return fmt.Errorf("portonetest: no billing key %q", customerUID)
	}
	delete(m.customers, customerUID)
	return nil
}

// maskKey keeps the last 4 characters of an imp_key for logs.
func maskKey(k string) string { return maskTel(k) }

func customerNotFoundMessage(uid string) string {
	return fmt.Sprintf("요청하신 customer_uid(%s)로 등록된 정보를 찾을 수 없습니다.", uid)
}

// handleGetCustomer serves GET /subscribe/customers/{customer_uid}.
func (e *Emulator) handleGetCustomer(c *call) result {
	uid := c.vars["customer_uid"]
	e.mu.Lock()
	defer e.mu.Unlock()
	cust := c.m.customers[uid]
	if cust == nil {
		return refuse(e.opts.CustomerNotFoundStatus, 1, customerNotFoundMessage(uid))
	}
	return ok(cust.wire(c.m))
}

// handleGetCustomers serves GET /subscribe/customers?customer_uid[]=a&customer_uid[]=b:
// 200 when every uid was found, 207 when some were not (those are simply absent; the official
// Go client's live test saw unknown uids give an empty list without an error).
func (e *Emulator) handleGetCustomers(c *call) result {
	uids, err := c.q.strList("customer_uid")
	if err != nil {
		return refuse(http.StatusBadRequest, 1, err.Error())
	}
	if len(uids) == 0 {
		return refuse(http.StatusBadRequest, 1, "customer_uid[] 파라메터가 누락되었습니다.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	list := []wireCustomer{}
	for _, uid := range uids {
		if cust := c.m.customers[uid]; cust != nil {
			list = append(list, cust.wire(c.m))
		}
	}
	res := ok(list)
	if len(list) < len(uids) {
		res.status = http.StatusMultiStatus
	}
	return res
}

// handleIssueCustomer serves POST /subscribe/customers/{customer_uid}. PortOne issues keys
// from raw card data there for some PGs, but never for NaverPay, and the emulated merchants
// only have NaverPay, so every request is refused.
func (e *Emulator) handleIssueCustomer(c *call) result {
	pg, _, _ := c.p.str("pg")
	if pg == "" || pg == PGNaverPay || len(pg) > len(PGNaverPay) && pg[:len(PGNaverPay)+1] == PGNaverPay+"." {
		// Guess: the exact text is undocumented; the fact (no REST issuance) is documented.
		return refuse(http.StatusOK, 1, "네이버페이는 API를 통한 빌링키 발급을 지원하지 않습니다. 네이버페이 결제창을 통해 빌링키를 발급해주세요.")
	}
	return refuse(http.StatusOK, 1, fmt.Sprintf("빌링키 발급이 가능한 PG 설정(%s)이 존재하지 않습니다. (emulator: only naverpay is configured)", pg))
}

// Requester values of extra[requester] (NaverPay only).
var requesters = []string{"customer", "admin"}

// handleDeleteCustomer serves DELETE /subscribe/customers/{customer_uid}?reason=&extra[requester]=.
// For NaverPay keys, NaverPay's review requires a reason and a requester; PortOne does not
// refuse the call without them, so the emulator accepts it and records a ReviewWarning.
func (e *Emulator) handleDeleteCustomer(c *call) result {
	uid := c.vars["customer_uid"]
	reason, _, err := c.p.str("reason")
	if err != nil {
		return refuse(http.StatusBadRequest, 1, err.Error())
	}
	extra, _, err := c.p.obj("extra")
	if err != nil {
		return refuse(http.StatusBadRequest, 1, err.Error())
	}
	requester, hasRequester, err := extra.str("requester")
	if err != nil {
		return refuse(http.StatusBadRequest, 1, err.Error())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cust := c.m.customers[uid]
	if cust == nil {
		return refuse(e.opts.CustomerNotFoundStatus, 1, customerNotFoundMessage(uid))
	}
	if hasRequester && !slices.Contains(requesters, requester) {
		// Guess: PortOne's reaction to an unknown requester is undocumented.
		return refuse(http.StatusOK, 1, "extra[requester]는 customer 또는 admin 이어야 합니다.")
	}
	if cust.pgProvider == PGNaverPay {
		e.reviewWarningLocked(c.m, "DELETE /subscribe/customers/{customer_uid}", uid, "", reason, hasRequester)
	}
	delete(c.m.customers, uid)
	w := cust.wire(c.m)
	w.Updated = e.clock.Now().Unix()
	e.log.Info("billing key deleted", slog.String("merchant", maskKey(c.m.key)), slog.String("customer_uid", uid))
	res := ok(w)
	res.after = e.fireLocked(c.op, subject{merchant: c.m.key, customerUID: uid}, FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}

// handleCustomerPayments serves GET /subscribe/customers/{customer_uid}/payments?page=N:
// every payment made with the key (its registration record included), newest first, 20 per
// page. An unknown customer_uid gives an empty page, as the official Go client's live test saw.
func (e *Emulator) handleCustomerPayments(c *call) result {
	uid := c.vars["customer_uid"]
	pageNo, res, bad := pageParam(c.q, "page")
	if bad {
		return res
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var list []wirePayment
	for i := len(c.m.payments) - 1; i >= 0; i-- {
		if p := c.m.payments[i]; p.customerUID == uid {
			list = append(list, p.wire())
		}
	}
	return ok(paginate(list, pageNo, 20))
}

// pageParam reads a 1-based page number (default 1).
func pageParam(q params, key string) (int, result, bool) {
	n, given, err := q.int(key)
	if err != nil || (given && n < 1) {
		return 0, refuse(http.StatusBadRequest, 1, fmt.Sprintf("%s 파라메터는 1 이상의 정수여야 합니다.", key)), true
	}
	if !given {
		return 1, result{}, false
	}
	return int(n), result{}, false
}
