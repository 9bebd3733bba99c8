package portonetest

// The V2 browser stand-in: PortOne's V2 browser SDK (PortOne.requestIssueBillingKey) cannot
// load here, so the emulator serves a replacement for what NaverPay recurring registration
// needs, and a NaverPay window like V1's:
//
//	GET  /__emulator/v2/browser-sdk.js       window.PortOne with requestIssueBillingKey
//	POST /__emulator/v2/naverpay/session     called by the SDK: checks the request, opens a session
//	GET  /__emulator/v2/naverpay/register    the window page (?session=ID)
//	POST /__emulator/v2/naverpay/register    its buttons: action=agree (with the Naver account) or cancel
//
// Agreeing issues the key through IssueBillingKeyV2, so a key from the window is exactly what
// the V2 API then serves. The checks follow v2-browser-sdk.yml and PortOne's NaverPay V2
// guide: billingKeyMethod EASY_PAY, issueId and issueName required, POPUP on PC and
// REDIRECTION on mobile. README.md ("V2 browser stand-in") lists the routes and the guesses.

import (
	"cmp"
	_ "embed" // the SDK stand-in's script
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed browser_assets/portone-v2.js
var portoneV2JS []byte

// Routes and constants of the V2 stand-in.
const (
	v2ScriptPath      = "/__emulator/v2/browser-sdk.js"
	v2SessionPath     = "/__emulator/v2/naverpay/session"
	v2RegisterPath    = "/__emulator/v2/naverpay/register"
	v2NaverMessage    = "portone-emulator:v2-naverpay" // postMessage type understood by the script
	v2IssueTxType     = "ISSUE_BILLING_KEY"
	maxV2FieldLength  = 256
	defaultNaverLogin = "naver-test-account"
)

// Error codes of the V2 stand-in, taken from the enums v2-browser-sdk.yml lists for
// IssueBillingKeyError (CheckoutServiceErrorCode, GrpcErrorCode, TxServiceIssueErrorCode).
// Which one PortOne returns in each case is not documented: a guess (README).
const (
	v2CodeBadRequest    = "BadRequest"
	v2CodeStoreNotFound = "StoreNotFound"
	v2CodeChannel       = "ChannelNotFound"
	v2CodeCancelled     = "Cancelled"
	v2CodePG            = "PGProviderError"
	v2CodeExpired       = "DeadlineExceeded"
)

// v2IssueResponse is IssueBillingKeyResponse (a failure carries code and message).
type v2IssueResponse struct {
	TransactionType string `json:"transactionType"`
	BillingKey      string `json:"billingKey,omitempty"`
	Code            string `json:"code,omitempty"`
	Message         string `json:"message,omitempty"`
	PGCode          string `json:"pgCode,omitempty"`
	PGMessage       string `json:"pgMessage,omitempty"`
}

func v2IssueFailed(code, msg string) v2IssueResponse {
	return v2IssueResponse{TransactionType: v2IssueTxType, Code: code, Message: msg}
}

// v2NaverSession is one requestIssueBillingKey call waiting in the window.
type v2NaverSession struct {
	id            string
	merchantKey   string
	storeID       string
	issueID       string
	issueName     string
	customer      V2Customer
	customData    string
	displayAmount int64
	noticeURLs    []string
	popup         bool
	redirectURL   string
	openerOrigin  string
	created       time.Time
}

func (e *Emulator) v2BrowserRoutes() []plainRoute {
	return []plainRoute{
		{"GET " + v2ScriptPath, e.servePortOneV2JS},
		{"HEAD " + v2ScriptPath, e.servePortOneV2JS},
		{"POST " + v2SessionPath, e.createV2NaverSession},
		{"OPTIONS " + v2SessionPath, corsPreflight},
		{"GET " + v2RegisterPath, e.v2NaverWindow},
		{"POST " + v2RegisterPath, e.v2NaverDecide},
	}
}

func (e *Emulator) servePortOneV2JS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(portoneV2JS)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(portoneV2JS)
	}
}

// mobileUA is how the stand-in tells a phone from a PC, as PortOne's SDK does by user agent.
var mobileUA = regexp.MustCompile(`(?i)Mobi|Android|iPhone|iPad|iPod`)

// readV2NaverRequest checks a requestIssueBillingKey call. The script makes the same checks in
// the page; these are the ones that count.
func (e *Emulator) readV2NaverRequest(p params, r *http.Request) (*v2NaverSession, *v2IssueResponse) {
	fail := func(code, format string, args ...any) (*v2NaverSession, *v2IssueResponse) {
		f := v2IssueFailed(code, fmt.Sprintf(format, args...))
		return nil, &f
	}
	var errs []error
	str := func(pp params, key string) string {
		v, _, err := pp.str(key)
		if err != nil {
			errs = append(errs, err)
		}
		if len([]rune(v)) > maxV2FieldLength {
			errs = append(errs, errors.New(pp.name(key)+": longer than 256 characters"))
		}
		return v
	}
	s := &v2NaverSession{id: newSessionID()}
	s.storeID = str(p, "storeId")
	channelKey := str(p, "channelKey")
	method := str(p, "billingKeyMethod")
	s.issueID = str(p, "issueId")
	s.issueName = str(p, "issueName")
	s.redirectURL = str(p, "redirectUrl")
	currency := str(p, "currency")
	origin := str(p, "origin")
	var provider string
	if ep, ok, err := p.obj("easyPay"); err != nil {
		errs = append(errs, err)
	} else if ok {
		provider = str(ep, "easyPayProvider")
	}
	var pcWindow, mobileWindow string
	if wt, ok, err := p.obj("windowType"); err != nil {
		errs = append(errs, err)
	} else if ok {
		pcWindow, mobileWindow = str(wt, "pc"), str(wt, "mobile")
	}
	if c, ok, err := p.obj("customer"); err != nil {
		errs = append(errs, err)
	} else if ok {
		s.customer = V2Customer{ID: str(c, "customerId"), Name: str(c, "fullName"), Email: str(c, "email"), PhoneNumber: str(c, "phoneNumber")}
	}
	if cd, ok := p.m["customData"]; ok && cd != nil {
		enc, err := reencode(cd)
		if err != nil {
			errs = append(errs, err)
		}
		s.customData = enc
	}
	amount, _, err := p.int("displayAmount")
	if err != nil {
		errs = append(errs, err)
	}
	s.displayAmount = amount
	urls, err := p.strList("noticeUrls")
	if err != nil {
		errs = append(errs, err)
	}
	s.noticeURLs = urls
	if len(errs) > 0 {
		return fail(v2CodeBadRequest, "%v", errs[0])
	}

	mobile := mobileUA.MatchString(r.Header.Get("User-Agent"))
	switch {
	case s.storeID == "":
		return fail(v2CodeBadRequest, "storeId: required")
	case method != "EASY_PAY":
		return fail(v2CodeBadRequest, "billingKeyMethod: NaverPay billing keys are issued with EASY_PAY, got %q", method)
	case provider != "" && provider != "NAVERPAY" && provider != "EASY_PAY_PROVIDER_NAVERPAY":
		return fail(v2CodeBadRequest, "easyPay.easyPayProvider: the emulator issues NaverPay keys only, got %q", provider)
	case strings.TrimSpace(s.issueID) == "":
		return fail(v2CodeBadRequest, "issueId: required for NaverPay (one Naver account can never reuse one)")
	case strings.TrimSpace(s.issueName) == "":
		return fail(v2CodeBadRequest, "issueName: required for NaverPay")
	case currency != "" && currency != "KRW" && currency != "CURRENCY_KRW":
		return fail(v2CodeBadRequest, "currency: NaverPay shows KRW only, got %q", currency)
	case amount < 0:
		return fail(v2CodeBadRequest, "displayAmount: must not be negative")
	case s.redirectURL != "" && !absoluteHTTPURL(s.redirectURL):
		return fail(v2CodeBadRequest, "redirectUrl: not an absolute http(s) URL")
	case !mobile && pcWindow != "" && pcWindow != "POPUP":
		return fail(v2CodeBadRequest, "windowType.pc: NaverPay opens a POPUP on PC, got %q", pcWindow)
	case mobile && mobileWindow != "" && mobileWindow != "REDIRECTION":
		return fail(v2CodeBadRequest, "windowType.mobile: NaverPay uses REDIRECTION on mobile, got %q", mobileWindow)
	case mobile && s.redirectURL == "":
		return fail(v2CodeBadRequest, "redirectUrl: required on mobile, where NaverPay's window replaces the page")
	}
	for _, u := range s.noticeURLs {
		if !absoluteHTTPURL(u) {
			return fail(v2CodeBadRequest, "noticeUrls: %q is not an absolute http(s) URL", u)
		}
	}
	s.popup = !mobile
	if o, ok := webOrigin(cmp.Or(r.Header.Get("Origin"), origin)); ok {
		s.openerOrigin = o
	}
	if s.popup && s.openerOrigin == "" {
		return fail(v2CodeBadRequest, "origin: the page's origin is needed to report the popup's result")
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, key := range e.merchantOrder {
		if m := e.merchants[key]; m.v2Secret != "" && m.storeID == s.storeID {
			if channelKey != "" && channelKey != m.channelKey {
				return fail(v2CodeChannel, "channelKey: not a channel of store %s", s.storeID)
			}
			s.merchantKey = key
			return s, nil
		}
	}
	return fail(v2CodeStoreNotFound, "storeId: no store %s", s.storeID)
}

// v2SessionCreated is the answer of POST /__emulator/v2/naverpay/session.
type v2SessionCreated struct {
	SessionID string `json:"session_id"`
	WindowURL string `json:"window_url"`
	Popup     bool   `json:"popup"`
}

func (e *Emulator) createV2NaverSession(w http.ResponseWriter, r *http.Request) {
	setCORS(w)
	body, err := readV2Body(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, v2IssueFailed(v2CodeBadRequest, err.Error()))
		return
	}
	s, fail := e.readV2NaverRequest(body, r)
	if fail != nil {
		e.log.Info("v2 naverpay window refused", slog.String("code", fail.Code))
		writeJSON(w, http.StatusBadRequest, fail)
		return
	}
	e.mu.Lock()
	now := e.clock.Now()
	s.created = now
	b := &e.browser
	for id, old := range b.v2sessions {
		if now.Sub(old.created) > 2*naverSessionTTL {
			delete(b.v2sessions, id)
		}
	}
	if len(b.v2sessions) >= maxNaverSessions {
		e.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, v2IssueFailed(v2CodeBadRequest, "too many open windows"))
		return
	}
	b.v2sessions[s.id] = s
	e.mu.Unlock()
	e.log.Info("v2 naverpay window opened", slog.String("merchant", maskKey(s.merchantKey)), slog.Bool("popup", s.popup))
	writeJSON(w, http.StatusCreated, v2SessionCreated{SessionID: s.id, WindowURL: v2RegisterPath + "?session=" + url.QueryEscape(s.id), Popup: s.popup})
}

// v2WindowView is what v2_window.html shows.
type v2WindowView struct {
	SessionID    string
	Action       string
	StoreID      string
	IssueName    string
	IssueID      string
	Amount       int64
	TelMasked    string
	NaverAccount string // the placeholder: the default account, masked
	Popup        bool
	ExpiresAt    string
}

func (e *Emulator) v2NaverWindow(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("session")
	e.mu.Lock()
	s := e.browser.v2sessions[id]
	if s == nil {
		e.mu.Unlock()
		e.renderNotFound(w)
		return
	}
	if e.clock.Now().Sub(s.created) > naverSessionTTL {
		delete(e.browser.v2sessions, id)
		e.mu.Unlock()
		e.finishV2Window(w, r, s, v2IssueFailed(v2CodeExpired, msgSessionExpired))
		return
	}
	view := v2WindowView{
		SessionID: s.id, Action: v2RegisterPath, StoreID: s.storeID, IssueName: s.issueName, IssueID: s.issueID,
		Amount: s.displayAmount, TelMasked: maskTel(s.customer.PhoneNumber),
		NaverAccount: "(기본 / default) " + cmp.Or(maskTel(s.customer.PhoneNumber), defaultNaverLogin), Popup: s.popup,
		ExpiresAt: s.created.Add(naverSessionTTL).In(kst).Format("2006-01-02 15:04:05 KST"),
	}
	e.mu.Unlock()
	renderPage(w, http.StatusOK, "v2_window.html", view)
}

func (e *Emulator) v2NaverDecide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		e.renderResult(w, http.StatusBadRequest, resultView{Title: "요청을 해석할 수 없습니다 / Bad request", Detail: err.Error()})
		return
	}
	id, action := r.PostForm.Get("session"), r.PostForm.Get("action")
	account := strings.TrimSpace(r.PostForm.Get("naver_account"))
	if action != "agree" && action != "cancel" {
		e.renderResult(w, http.StatusBadRequest, resultView{Title: "알 수 없는 요청입니다 / Unknown action", Detail: "action must be agree or cancel"})
		return
	}
	e.mu.Lock()
	s := e.browser.v2sessions[id]
	if s == nil {
		e.mu.Unlock()
		e.renderNotFound(w)
		return
	}
	delete(e.browser.v2sessions, id) // one decision per window
	expired := e.clock.Now().Sub(s.created) > naverSessionTTL
	e.mu.Unlock()

	var rsp v2IssueResponse
	switch {
	case expired:
		rsp = v2IssueFailed(v2CodeExpired, msgSessionExpired)
	case action == "cancel":
		rsp = v2IssueFailed(v2CodeCancelled, msgUserCancelled)
	default:
		rsp = e.issueFromV2Window(s, cmp.Or(account, s.customer.PhoneNumber, defaultNaverLogin))
	}
	e.finishV2Window(w, r, s, rsp)
}

// issueFromV2Window issues the key the customer agreed to, unless a v2_issue fault refuses it
// or the Naver account already used the issueId.
func (e *Emulator) issueFromV2Window(s *v2NaverSession, account string) v2IssueResponse {
	subj := subject{merchant: s.merchantKey, customerUID: s.issueID}
	if f := e.fire(OpV2Issue, subj, FaultDecline, FaultErrorBeforeCommit); f != nil {
		msg := cmp.Or(f.Reason, msgRegistrationDecline)
		rsp := v2IssueFailed(v2CodePG, msg)
		rsp.PGCode, rsp.PGMessage = cmp.Or(f.PGCode, V2PGCodeDecline), msg
		return rsp
	}
	k, err := e.IssueBillingKeyV2(V2BillingKeySeed{Merchant: s.merchantKey, IssueID: s.issueID, IssueName: s.issueName,
		NaverAccount: account, Customer: s.customer, CustomData: s.customData, NoticeURLs: s.noticeURLs})
	switch {
	case errors.Is(err, ErrV2IssueIDReused):
		msg := "[네이버페이] 하나의 네이버 계정에 대해서 같은 issueId를 재사용할 수 없습니다."
		rsp := v2IssueFailed(v2CodePG, msg)
		rsp.PGCode, rsp.PGMessage = "NAVERPAY_DUPLICATE_ISSUE_ID", msg
		return rsp
	case err != nil:
		return v2IssueFailed(v2CodeBadRequest, err.Error())
	}
	return v2IssueResponse{TransactionType: v2IssueTxType, BillingKey: k.BillingKey}
}

// finishV2Window reports the outcome: to the opener by postMessage on PC (popup), else by a
// 303 to redirectUrl with transactionType, billingKey or code and message.
func (e *Emulator) finishV2Window(w http.ResponseWriter, r *http.Request, s *v2NaverSession, rsp v2IssueResponse) {
	if !s.popup && s.redirectURL != "" {
		if u, err := url.Parse(s.redirectURL); err == nil {
			q := u.Query()
			q.Set("transactionType", rsp.TransactionType)
			for k, v := range map[string]string{"billingKey": rsp.BillingKey, "code": rsp.Code, "message": rsp.Message, "pgCode": rsp.PGCode, "pgMessage": rsp.PGMessage} {
				if v != "" {
					q.Set(k, v)
				}
			}
			u.RawQuery = q.Encode()
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
	}
	view := resultView{Success: rsp.Code == "", PostMessage: s.popup && s.openerOrigin != "", OpenerOrigin: s.openerOrigin,
		Message: map[string]any{"type": v2NaverMessage, "session_id": s.id, "rsp": rsp}}
	if view.Success {
		view.Title = "정기결제 등록이 완료되었습니다 / Registered"
		view.Detail = "이 창은 자동으로 닫힙니다. / This window closes by itself."
	} else {
		view.Title, view.Detail = rsp.Message, rsp.Code
	}
	e.renderResult(w, http.StatusOK, view)
}
