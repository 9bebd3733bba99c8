package portonetest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The browser stand-in. NaverPay billing keys are only ever issued in NaverPay's window, which
// a web page opens through PortOne's browser SDK (IMP.request_pay). That SDK
// (https://cdn.iamport.kr/v1/iamport.js) cannot load on our machines, so the emulator serves a
// small replacement and a stand-in for NaverPay's registration window:
//
//	GET  /__emulator/iamport.js            window.IMP with init and request_pay
//	POST /__emulator/naverpay/session      called by iamport.js: checks the request, opens a session
//	GET  /__emulator/naverpay/register     the window page (?session=ID)
//	POST /__emulator/naverpay/register     the buttons: action=agree or action=cancel
//
// Agreeing registers the billing key through RegisterCustomer, so the key and its
// registration payment record are exactly what the rest of the emulator already knows.
// README.md ("Browser stand-in") documents the routes, the checks and the guesses.

// DefaultIMPCode is the 가맹점 식별코드 of the first merchant when Merchant.IMPCode is empty. It is
// the placeholder PortOne's own samples use, so a page written from those samples works as is.
const DefaultIMPCode = "imp00000000"

// Routes of the browser stand-in.
const (
	browserScriptPath   = "/__emulator/iamport.js"
	naverSessionPath    = "/__emulator/naverpay/session"
	naverRegisterPath   = "/__emulator/naverpay/register"
	naverSessionTTL     = 30 * time.Minute // on the emulator's clock
	maxNaverSessions    = 1024             // the oldest session is dropped beyond this
	maxBrowserURLLength = 2048
	naverMessageType    = "portone-emulator:naverpay" // postMessage type understood by iamport.js
)

// Messages of the window. The cancel text is what PortOne's guides show for a cancelled
// payment window; the others are the emulator's (see README, Guesses).
const (
	msgUserCancelled       = "사용자가 결제를 취소하였습니다"
	msgAlreadyRegistered   = "이미 등록된 정기결제 상품입니다."
	msgUnknownIMPCode      = "등록되지 않은 가맹점 식별코드입니다."
	msgSessionExpired      = "결제 요청 시간(30분)이 만료되었습니다. 다시 시도해주세요."
	msgRegistrationDecline = "[네이버페이] 정기결제 등록에 실패하였습니다."
	msgOneOffUnsupported   = "customer_uid가 없으면 일반결제(단건결제)로 진행됩니다. 에뮬레이터는 네이버페이 정기결제(빌링키) 등록만 지원합니다. (customer_uid is required: without it PortOne makes a one-off payment, which the emulator does not support)"
)

// Error codes the stand-in puts in error_code. PortOne's real codes for these cases are not
// documented; these are stable names for tests to match on.
const (
	errCodeNotInitialized     = "NOT_INITIALIZED"
	errCodeUnknownIMPCode     = "UNKNOWN_IMP_CODE"
	errCodeUnsupportedPG      = "UNSUPPORTED_PG"
	errCodeCustomerUIDMissing = "CUSTOMER_UID_REQUIRED"
	errCodeInvalidParameter   = "INVALID_PARAMETER"
	errCodeMerchantUIDUsed    = "MERCHANT_UID_USED"
	errCodeUserCancel         = "USER_CANCEL"
	errCodeAlreadyRegistered  = "ALREADY_REGISTERED"
	errCodeDeclined           = "REGISTRATION_DECLINED"
	errCodeSessionExpired     = "SESSION_EXPIRED"
	errCodeRegistration       = "REGISTRATION_FAILED"
)

// browserState is the stand-in's state. The maps are guarded by Emulator.mu; regMu
// serialises registrations so that the duplicate-product check and the registration it
// guards happen as one step. regMu is always taken before Emulator.mu, never while holding it.
type browserState struct {
	regMu    sync.Mutex
	sessions map[string]*naverSession
	// products remembers which buyer registered which naverProductCode, for NaverPay's
	// "same buyer, same product" refusal.
	products []productRegistration
	// v2sessions are the V2 stand-in's windows (v2_browser.go).
	v2sessions map[string]*v2NaverSession
}

func (b *browserState) resetLocked() {
	b.sessions = map[string]*naverSession{}
	b.v2sessions = map[string]*v2NaverSession{}
	b.products = nil
}

// productRegistration is a billing key registered through the window with a product code.
// cust is the stored key; the registration counts only while that very key is still stored.
type productRegistration struct {
	merchant    string
	tel         string // digits only
	productCode string
	customerUID string
	cust        *customer
}

// naverSession is one IMP.request_pay call waiting in the window.
type naverSession struct {
	id           string
	merchantKey  string
	impCode      string
	pgID         string
	customerUID  string
	merchantUID  string
	name         string
	amount       int64
	buyer        buyer
	productCode  string
	chainID      string
	popup        bool
	redirectURL  string
	noticeURL    string
	openerOrigin string
	created      time.Time
}

// payResponse is the rsp object of IMP.request_pay's callback.
type payResponse struct {
	Success     bool    `json:"success"`
	ImpSuccess  bool    `json:"imp_success"`
	ImpUID      *string `json:"imp_uid"`
	MerchantUID string  `json:"merchant_uid"`
	CustomerUID *string `json:"customer_uid,omitempty"`
	PayMethod   string  `json:"pay_method,omitempty"`
	PGProvider  string  `json:"pg_provider,omitempty"`
	PGType      string  `json:"pg_type,omitempty"`
	PaidAmount  *int64  `json:"paid_amount,omitempty"`
	Currency    string  `json:"currency,omitempty"`
	Name        *string `json:"name,omitempty"`
	Status      string  `json:"status,omitempty"`
	PaidAt      int64   `json:"paid_at,omitempty"`
	ErrorCode   *string `json:"error_code"`
	ErrorMsg    *string `json:"error_msg"`
}

func failedPay(merchantUID, code, msg string) payResponse {
	return payResponse{MerchantUID: merchantUID, ErrorCode: &code, ErrorMsg: &msg}
}

func (r payResponse) errorMsg() string {
	if r.ErrorMsg == nil {
		return ""
	}
	return *r.ErrorMsg
}

func (r payResponse) errorCode() string {
	if r.ErrorCode == nil {
		return ""
	}
	return *r.ErrorCode
}

// storeSessionLocked keeps s, first dropping sessions that expired a TTL ago (an expired
// session is kept for one more TTL so that its window can still report the expiry) and, at
// the bound, the oldest one.
func (e *Emulator) storeSessionLocked(s *naverSession, now time.Time) {
	b := &e.browser
	for id, old := range b.sessions {
		if now.Sub(old.created) > 2*naverSessionTTL {
			delete(b.sessions, id)
		}
	}
	for len(b.sessions) >= maxNaverSessions {
		var oldest *naverSession
		for _, old := range b.sessions {
			if oldest == nil || old.created.Before(oldest.created) || (old.created.Equal(oldest.created) && old.id < oldest.id) {
				oldest = old
			}
		}
		delete(b.sessions, oldest.id)
	}
	b.sessions[s.id] = s
}

var (
	pgPattern      = regexp.MustCompile(`^naverpay(\.([A-Za-z0-9_.\-]{1,64}))?$`)
	impCodePattern = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,64}$`)
	telPattern     = regexp.MustCompile(`^\+?[0-9][0-9 \-]*$`)
)

// readNaverRequest checks a request_pay call the way PortOne and NaverPay do before the
// window opens. iamport.js makes the same checks in the browser; these are the ones that
// count, and the only ones for a client that calls the session endpoint directly.
func (e *Emulator) readNaverRequest(p params, originHeader string) (*naverSession, *payResponse) {
	str := func(key string) (string, error) {
		v, _, err := p.str(key)
		return strings.TrimSpace(v), err
	}
	muid, _ := str("merchant_uid")
	fail := func(code, format string, args ...any) (*naverSession, *payResponse) {
		r := failedPay(muid, code, fmt.Sprintf(format, args...))
		return nil, &r
	}
	fields := map[string]string{}
	for _, key := range []string{"imp_code", "pg", "channelKey", "customer_uid", "merchant_uid", "name",
		"buyer_name", "buyer_tel", "buyer_email", "buyer_addr", "buyer_postcode", "m_redirect_url",
		"notice_url", "naverProductCode", "naverChainId", "origin"} {
		v, err := str(key)
		if err != nil {
			return fail(errCodeInvalidParameter, "%s", err.Error())
		}
		fields[key] = v
	}

	s := &naverSession{}
	code := fields["imp_code"]
	if code == "" {
		return fail(errCodeNotInitialized, "IMP.init(가맹점 식별코드)을 먼저 호출해주세요. (imp_code missing: IMP.init was not called)")
	}
	key, found := e.merchantKeyForIMPCode(code)
	if !found {
		return fail(errCodeUnknownIMPCode, "%s (%s)", msgUnknownIMPCode, truncate(code, 64))
	}
	s.merchantKey, s.impCode = key, code

	switch pg := fields["pg"]; {
	case pg != "":
		m := pgPattern.FindStringSubmatch(pg)
		if m == nil {
			return fail(errCodeUnsupportedPG, "에뮬레이터는 네이버페이(pg: naverpay 또는 naverpay.{MID}) 정기결제 등록만 지원합니다. (pg: %s)", truncate(pg, 64))
		}
		s.pgID = m[2]
	case fields["channelKey"] == "":
		return fail(errCodeUnsupportedPG, "pg 또는 channelKey 파라메터가 누락되었습니다. (pg: naverpay)")
	case len(fields["channelKey"]) > 128:
		return fail(errCodeInvalidParameter, "channelKey 파라메터가 너무 깁니다.")
	}

	if fields["customer_uid"] == "" {
		return fail(errCodeCustomerUIDMissing, "%s", msgOneOffUnsupported)
	}
	for _, req := range []string{"merchant_uid", "buyer_tel"} {
		if fields[req] == "" {
			return fail(errCodeInvalidParameter, "%s", missingField(p, req))
		}
	}
	limits := []struct {
		key string
		max int
	}{
		{"customer_uid", 80}, {"merchant_uid", 40}, {"name", 40}, {"buyer_name", 16}, {"buyer_tel", 16},
		{"buyer_email", 64}, {"buyer_addr", 128}, {"buyer_postcode", 8}, {"naverProductCode", 64},
		{"naverChainId", 64}, {"m_redirect_url", maxBrowserURLLength}, {"notice_url", maxBrowserURLLength},
	}
	for _, l := range limits {
		if n := len([]rune(fields[l.key])); n > l.max {
			return fail(errCodeInvalidParameter, "%s 파라메터는 최대 %d자까지 입력 가능합니다. (%d자)", l.key, l.max, n)
		}
	}
	if !telPattern.MatchString(fields["buyer_tel"]) {
		return fail(errCodeInvalidParameter, "buyer_tel 파라메터는 전화번호여야 합니다. (숫자, 하이픈)")
	}

	amount, given, err := p.int("amount")
	switch {
	case err != nil:
		return fail(errCodeInvalidParameter, "amount 파라메터는 숫자(원 단위 정수)여야 합니다.")
	case !given:
		return fail(errCodeInvalidParameter, "%s", missingField(p, "amount"))
	case amount < 0 || amount > 10_000_000_000:
		return fail(errCodeInvalidParameter, "amount 파라메터는 0 이상 100억 이하여야 합니다.")
	}

	popup, _, err := p.boolean("naverPopupMode")
	if err != nil {
		return fail(errCodeInvalidParameter, "%s", err.Error())
	}
	if u := fields["m_redirect_url"]; u != "" && !absoluteHTTPURL(u) {
		return fail(errCodeInvalidParameter, "m_redirect_url은 http:// 또는 https://로 시작하는 절대 URL이어야 합니다.")
	}
	if !popup && fields["m_redirect_url"] == "" {
		return fail(errCodeInvalidParameter, "naverPopupMode가 false이면 m_redirect_url이 필요합니다. (redirect mode needs m_redirect_url)")
	}
	if u := fields["notice_url"]; u != "" && !absoluteHTTPURL(u) {
		return fail(errCodeInvalidParameter, "notice_url은 http:// 또는 https://로 시작하는 절대 URL이어야 합니다.")
	}
	origin := originHeader
	if origin == "" || origin == "null" {
		origin = fields["origin"]
	}
	origin, originOK := webOrigin(origin)
	if popup && !originOK {
		return fail(errCodeInvalidParameter, "팝업 모드에는 결제 요청 페이지의 origin이 필요합니다. (popup mode needs the page's origin)")
	}

	s.id = newSessionID()
	s.customerUID = fields["customer_uid"]
	s.merchantUID = fields["merchant_uid"]
	s.name = fields["name"]
	s.amount = amount
	s.buyer = buyer{name: fields["buyer_name"], tel: fields["buyer_tel"], email: fields["buyer_email"],
		addr: fields["buyer_addr"], postcode: fields["buyer_postcode"]}
	s.productCode = fields["naverProductCode"]
	s.chainID = fields["naverChainId"]
	s.popup = popup
	s.redirectURL = fields["m_redirect_url"]
	s.noticeURL = fields["notice_url"]
	s.openerOrigin = origin
	return s, nil
}

// absoluteHTTPURL reports whether u is an absolute http(s) URL with a host: the only kind the
// window may send a buyer to.
func absoluteHTTPURL(u string) bool {
	if len(u) > maxBrowserURLLength {
		return false
	}
	parsed, err := url.Parse(u)
	return err == nil && (parsed.Scheme == "http" || parsed.Scheme == "https") && parsed.Host != "" && parsed.User == nil
}

// webOrigin normalises an http(s) origin ("https://shop.example:8443").
func webOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// digitsOnly normalises a phone number for comparisons ("010-1234-5678" = "01012345678").
func digitsOnly(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// impCodeOf returns the IMP code of the i-th configured merchant: its own, or DefaultIMPCode
// for the first merchant.
func impCodeOf(ms []Merchant, i int) string {
	if ms[i].IMPCode == "" && i == 0 {
		return DefaultIMPCode
	}
	return ms[i].IMPCode
}

// validateIMPCodes is part of Options.Validate: IMP codes must look like identifiers and name
// one merchant each.
func validateIMPCodes(ms []Merchant) error {
	seen := map[string]bool{}
	for i, m := range ms {
		code := impCodeOf(ms, i)
		if code == "" {
			continue
		}
		if !impCodePattern.MatchString(code) {
			return fmt.Errorf("portonetest: merchant %q: IMPCode %q must be 1-64 letters, digits, '_' or '-'", m.Key, code)
		}
		if seen[code] {
			return fmt.Errorf("portonetest: IMPCode %q is used by two merchants", code)
		}
		seen[code] = true
	}
	return nil
}

// merchantKeyForIMPCode maps the code given to IMP.init to a merchant key.
func (e *Emulator) merchantKeyForIMPCode(code string) (string, bool) {
	for i, m := range e.opts.Merchants {
		if c := impCodeOf(e.opts.Merchants, i); c != "" && c == code {
			return m.Key, true
		}
	}
	return "", false
}

// registerFromWindow is the agree button: NaverPay's checks, a scripted failure if one
// matches, then the registration through RegisterCustomer. The caller holds regMu.
func (e *Emulator) registerFromWindow(s *naverSession) payResponse {
	tel := digitsOnly(s.buyer.tel)
	e.mu.Lock()
	m := e.merchants[s.merchantKey]
	if m == nil {
		e.mu.Unlock()
		return failedPay(s.merchantUID, errCodeRegistration, "가맹점 정보를 찾을 수 없습니다.")
	}
	if m.paidPaymentLocked(s.merchantUID) != nil {
		e.mu.Unlock()
		return failedPay(s.merchantUID, errCodeMerchantUIDUsed, msgMerchantUIDUsed)
	}
	if s.productCode != "" {
		for _, pr := range e.browser.products {
			if pr.merchant == m.key && pr.tel == tel && pr.productCode == s.productCode && m.customers[pr.customerUID] == pr.cust {
				e.mu.Unlock()
				return failedPay(s.merchantUID, errCodeAlreadyRegistered, msgAlreadyRegistered)
			}
		}
	}
	if f := e.fireWindowFaultLocked(subject{merchant: m.key, customerUID: s.customerUID, merchantUID: s.merchantUID}); f != nil {
		e.mu.Unlock()
		reason := f.Reason
		if reason == "" {
			reason = msgRegistrationDecline
			if f.Action == FaultErrorBeforeCommit {
				reason = defaultErrorBeforeCommitMessage
			}
		}
		return failedPay(s.merchantUID, errCodeDeclined, reason)
	}
	e.mu.Unlock()

	reg, err := e.RegisterCustomer(s.merchantKey, CustomerSeed{
		CustomerUID: s.customerUID, PGProvider: PGNaverPay, PGID: s.pgID,
		CustomerName: s.buyer.name, CustomerTel: s.buyer.tel, CustomerEmail: s.buyer.email,
		CustomerAddr: s.buyer.addr, CustomerPostcode: s.buyer.postcode,
		RegistrationMerchantUID: s.merchantUID, RegistrationName: s.name,
	})
	if err != nil {
		return failedPay(s.merchantUID, errCodeRegistration, strings.TrimPrefix(err.Error(), "portonetest: "))
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	m = e.merchants[reg.Merchant]
	if m == nil { // reset between the registration and here
		return failedPay(s.merchantUID, errCodeRegistration, "가맹점 정보를 찾을 수 없습니다.")
	}
	p := m.byImp[reg.RegistrationImpUID]
	if cust := m.customers[reg.CustomerUID]; cust != nil && s.productCode != "" {
		keep := e.browser.products[:0]
		for _, pr := range e.browser.products {
			if pm := e.merchants[pr.merchant]; pm != nil && pm.customers[pr.customerUID] == pr.cust {
				keep = append(keep, pr)
			}
		}
		e.browser.products = append(keep, productRegistration{
			merchant: m.key, tel: tel, productCode: s.productCode, customerUID: cust.uid, cust: cust,
		})
	}
	rsp := payResponse{
		Success: true, ImpSuccess: true, MerchantUID: s.merchantUID,
		ImpUID: &reg.RegistrationImpUID, CustomerUID: &reg.CustomerUID,
		PayMethod: "naverpay", PGProvider: PGNaverPay, PGType: "payment", Currency: "KRW", Status: statusPaid,
	}
	zero := int64(0)
	rsp.PaidAmount = &zero
	if p != nil {
		rsp.Name = &p.name
		rsp.PaidAt = p.paidAt
		// A registration is an approved payment record (status paid), and PortOne notifies
		// every approval; the record keeps the URL like any other payment.
		p.noticeURL = e.noticeURL(s.noticeURL)
		e.enqueueWebhookLocked(m, p.noticeURL, p, statusPaid, "", OpIssue)
	}
	return rsp
}

// fireWindowFaultLocked finds the first installed fault whose Op is exactly OpIssue and whose
// action is decline or error_before_commit, and fires it as fireLocked would. Faults with
// Op "any" are deliberately ignored: a test that declines "everything" for a customer means
// its charges, and registering that customer in the window must still work.
func (e *Emulator) fireWindowFaultLocked(s subject) *Fault {
	return e.fireWhereLocked(OpIssue, s, func(f Fault) bool {
		return f.Op == OpIssue && (f.Action == FaultDecline || f.Action == FaultErrorBeforeCommit)
	})
}
