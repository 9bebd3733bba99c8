package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/portone"
)

// Registration outcomes shown by GET /registration/result.
const (
	// OutcomeRegistered: PortOne confirmed the billing key and the subscription was told.
	OutcomeRegistered = "registered"
	// OutcomePending: the registration could not be confirmed right now (PortOne or Temporal
	// unreachable). The workflow checks the billing key at PortOne by itself, so a real
	// registration is still picked up.
	OutcomePending = "pending"
	// OutcomeFailed: nothing was registered.
	OutcomeFailed = "failed"
)

// Failure reasons, a closed set so that the result page only ever shows the edge's own words
// (plus NaverPay's error_msg, verbatim, as NaverPay requires).
const (
	reasonNaverPay     = "naverpay"     // the NaverPay window reported an error (error_msg)
	reasonUnverified   = "unverified"   // PortOne does not confirm the claimed registration
	reasonNotFinished  = "not_finished" // PortOne's record exists but is not a registration
	reasonNoSub        = "unknown_subscription"
	reasonInvalid      = "invalid" // the redirect carried no usable parameters
	reasonNotConfirmed = "unconfirmed"
)

// regResult is where the buyer is sent after the NaverPay window: the query of
// GET /registration/result.
type regResult struct {
	Outcome string
	// SubscriptionID is the subscription the verified (or claimed) merchant_uid names; it
	// never travels in the result's query, only decides whether Link belongs to it.
	SubscriptionID string
	// Link is the registration page's signed token, carried through the NaverPay window, for
	// the "try again" link.
	Link     string
	Reason   string
	ErrorMsg string
}

func (r regResult) query() url.Values {
	q := url.Values{"outcome": {r.Outcome}}
	if r.Link != "" {
		q.Set("link", r.Link)
	}
	if r.Reason != "" {
		q.Set("reason", r.Reason)
	}
	if r.ErrorMsg != "" {
		q.Set("error_msg", r.ErrorMsg)
	}
	return q
}

// completion is what the NaverPay window reported, as claimed by the browser.
type completion struct {
	ImpUID      string
	MerchantUID string
	ErrorMsg    string
	// Success is the claimed imp_success / success; nil when absent or unreadable.
	Success *bool
	// ErrorCode is the popup callback's error_code, if any.
	ErrorCode string
}

// claimedSuccess decides what the window claimed: an explicit flag wins; without one, an
// error message means failure and an imp_uid means success (to be verified).
func (c completion) claimedSuccess() bool {
	if c.Success != nil {
		return *c.Success
	}
	if c.ErrorMsg != "" || c.ErrorCode != "" {
		return false
	}
	return c.ImpUID != ""
}

func parseBool(s string) *bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	return &b
}

// completionFromQuery reads NaverPay's redirect mode parameters (m_redirect_url gets imp_uid,
// merchant_uid, imp_success, error_msg; older SDKs send success instead of imp_success).
func completionFromQuery(q url.Values) completion {
	c := completion{
		ImpUID:      strings.TrimSpace(q.Get("imp_uid")),
		MerchantUID: strings.TrimSpace(q.Get("merchant_uid")),
		ErrorMsg:    q.Get("error_msg"),
		ErrorCode:   strings.TrimSpace(q.Get("error_code")),
	}
	if v := q.Get("imp_success"); v != "" {
		c.Success = parseBool(v)
	} else if v := q.Get("success"); v != "" {
		c.Success = parseBool(v)
	}
	return c
}

// completionFromJSON reads the popup callback's rsp object as the page posts it. Fields may be
// strings, booleans, numbers or null depending on the SDK version.
func completionFromJSON(body []byte) (completion, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return completion{}, errors.New("body must be the IMP.request_pay callback's rsp as a JSON object")
	}
	str := func(k string) string {
		v, ok := raw[k]
		if !ok {
			return ""
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			return n.String()
		}
		var b bool
		if json.Unmarshal(v, &b) == nil {
			return strconv.FormatBool(b)
		}
		return ""
	}
	c := completion{
		ImpUID:      strings.TrimSpace(str("imp_uid")),
		MerchantUID: strings.TrimSpace(str("merchant_uid")),
		ErrorMsg:    str("error_msg"),
		ErrorCode:   strings.TrimSpace(str("error_code")),
	}
	if v := str("imp_success"); v != "" {
		c.Success = parseBool(v)
	} else if v := str("success"); v != "" {
		c.Success = parseBool(v)
	}
	if len(c.ImpUID) > maxIDLen || len(c.MerchantUID) > maxIDLen {
		return completion{}, errors.New("imp_uid or merchant_uid is too long")
	}
	return c, nil
}

// handleCompleteRedirect is GET /registration/complete, NaverPay's m_redirect_url. It
// verifies what the window reported and answers 303 to the result page; a redirect with no
// usable parameter at all gets the failure page directly with 400.
func (s *Server) handleCompleteRedirect(w http.ResponseWriter, r *http.Request) {
	c := completionFromQuery(r.URL.Query())
	if c.ImpUID == "" && c.MerchantUID == "" && c.ErrorMsg == "" {
		s.renderResult(w, http.StatusBadRequest, regResult{Outcome: OutcomeFailed, Reason: reasonInvalid})
		return
	}
	if len(c.ImpUID) > maxIDLen || len(c.MerchantUID) > maxIDLen {
		s.renderResult(w, http.StatusBadRequest, regResult{Outcome: OutcomeFailed, Reason: reasonInvalid})
		return
	}
	res := s.withRetryLink(s.complete(r.Context(), c), r.URL.Query().Get("link"))
	http.Redirect(w, r, s.resultLink(res), http.StatusSeeOther)
}

// CompletionAnswer is the JSON answer of POST /registration/complete: where the page sends the
// buyer next.
type CompletionAnswer struct {
	Redirect string `json:"redirect,omitempty"`
	Error    string `json:"error,omitempty"`
}

// handleCompletePopup is POST /registration/complete: the registration page's popup-mode
// callback posts the SDK's rsp as JSON. It answers 200 {"redirect": result page} whatever the
// outcome, and 400 {"error": ...} for a body that is not such an object.
func (s *Server) handleCompletePopup(w http.ResponseWriter, r *http.Request) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		writeJSON(w, http.StatusBadRequest, CompletionAnswer{Error: "Content-Type must be application/json"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, CompletionAnswer{Error: "body too large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, CompletionAnswer{Error: "body could not be read"})
		return
	}
	c, err := completionFromJSON(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, CompletionAnswer{Error: err.Error()})
		return
	}
	if c.ImpUID == "" && c.MerchantUID == "" && c.ErrorMsg == "" {
		writeJSON(w, http.StatusBadRequest, CompletionAnswer{Error: "imp_uid, merchant_uid or error_msg is required"})
		return
	}
	res := s.withRetryLink(s.complete(r.Context(), c), r.URL.Query().Get("link"))
	writeJSON(w, http.StatusOK, CompletionAnswer{Redirect: s.resultLink(res)})
}

// withRetryLink keeps the registration page's token for the result page when it is a genuine,
// unexpired registration link for the subscription the result is about.
func (s *Server) withRetryLink(res regResult, token string) regResult {
	if l, ok := s.registerLinkFor(token); ok && l.SubscriptionID == res.SubscriptionID && res.SubscriptionID != "" {
		res.Link = token
	}
	return res
}

// registerLinkFor verifies a registration token without answering the request.
func (s *Server) registerLinkFor(token string) (signedlink.Link, bool) {
	if s.keys == nil || token == "" {
		return signedlink.Link{}, false
	}
	l, err := s.keys.Verify(token, signedlink.Register, s.now())
	return l, err == nil
}

func (s *Server) resultLink(res regResult) string {
	return s.link("/registration/result") + "?" + res.query().Encode()
}

// registrationSubscription returns the subscription a claimed registration merchant_uid
// names, or "" when it is not one; it is used only for the "try again" link, never to signal.
func registrationSubscription(merchantUID string) string {
	parsed, err := billing.ParseMerchantUID(merchantUID)
	if err != nil || parsed.Kind != billing.KindRegistration {
		return ""
	}
	return parsed.SubscriptionID
}

// complete verifies a finished NaverPay window and tells the subscription. Nothing is
// signalled on the browser's word alone, except a failure report without an imp_uid, which
// only records the message in the workflow and changes nothing else.
func (s *Server) complete(ctx context.Context, c completion) regResult {
	log := s.log.With(zap.String("imp_uid", c.ImpUID), zap.String("merchant_uid", c.MerchantUID))
	if !c.claimedSuccess() {
		return s.completeFailure(ctx, log, c)
	}
	claimedSub := registrationSubscription(c.MerchantUID)
	if c.ImpUID == "" {
		return regResult{Outcome: OutcomeFailed, SubscriptionID: claimedSub, Reason: reasonInvalid}
	}
	p, err := s.lookup(ctx, c.ImpUID)
	switch {
	case err != nil && isUnknownPayment(err):
		log.Warn("registration not confirmed: PortOne does not know the imp_uid (forged?)", zap.Error(err))
		return regResult{Outcome: OutcomeFailed, SubscriptionID: claimedSub, Reason: reasonUnverified}
	case err != nil:
		log.Error("registration not confirmed: PortOne lookup failed", zap.Error(err))
		return regResult{Outcome: OutcomePending, SubscriptionID: claimedSub, Reason: reasonNotConfirmed}
	}
	if c.MerchantUID != "" && p.MerchantUID != c.MerchantUID {
		log.Warn("registration not confirmed: merchant_uid does not match PortOne's record (forged?)",
			zap.String("verified_merchant_uid", p.MerchantUID))
		return regResult{Outcome: OutcomeFailed, SubscriptionID: claimedSub, Reason: reasonUnverified}
	}
	return s.completeVerified(ctx, log, p)
}

// completeVerified relays what PortOne's record of the window says.
func (s *Server) completeVerified(ctx context.Context, log *zap.Logger, p *portone.Payment) regResult {
	subID := registrationSubscription(p.MerchantUID)
	if subID == "" {
		log.Warn("registration not confirmed: the imp_uid is not a registration this project opened",
			zap.String("verified_merchant_uid", p.MerchantUID))
		return regResult{Outcome: OutcomeFailed, Reason: reasonUnverified}
	}
	log = log.With(zap.String("subscription_id", subID))
	signal, arg, why, ok := registrationSignal(p)
	if !ok {
		log.Warn("registration not confirmed", zap.String("verified_status", string(p.Status)), zap.String("why", why))
		return regResult{Outcome: OutcomeFailed, SubscriptionID: subID, Reason: reasonNotFinished}
	}
	res := regResult{Outcome: OutcomeRegistered, SubscriptionID: subID}
	if signal == billing.SignalRegistrationFailed {
		res = regResult{Outcome: OutcomeFailed, SubscriptionID: subID, Reason: reasonNaverPay, ErrorMsg: arg.(billing.RegistrationFailedSignal).Error}
	}
	outcome, err := s.relay(ctx, subID, signal, dedupeKey(p), arg)
	switch outcome {
	case relayNoSubscription:
		log.Warn("registration verified but no open workflow for the subscription", zap.Error(err))
		return regResult{Outcome: OutcomeFailed, SubscriptionID: subID, Reason: reasonNoSub}
	case relayFailed:
		log.Error("registration verified but not relayed: Temporal failed", zap.Error(err))
		if res.Outcome == OutcomeRegistered {
			return regResult{Outcome: OutcomePending, SubscriptionID: subID, Reason: reasonNotConfirmed}
		}
	default:
		log.Info("registration verified and relayed", zap.String("signal", signal), zap.Bool("duplicate", outcome == relayDuplicate))
	}
	return res
}

// completeFailure handles a window that reported failure. With an imp_uid the report is
// checked at PortOne first: an unknown imp_uid or a mismatching merchant_uid is not signalled,
// and a record PortOne calls paid wins over the browser's word.
func (s *Server) completeFailure(ctx context.Context, log *zap.Logger, c completion) regResult {
	msg := textfmt.Truncate(c.ErrorMsg, maxErrorMsg)
	muid := c.MerchantUID
	subID := registrationSubscription(muid)
	failed := regResult{Outcome: OutcomeFailed, SubscriptionID: subID, Reason: reasonNaverPay, ErrorMsg: msg}
	if c.ImpUID != "" {
		p, err := s.lookup(ctx, c.ImpUID)
		switch {
		case err != nil && isUnknownPayment(err):
			log.Warn("registration failure report not relayed: PortOne does not know the imp_uid", zap.Error(err))
			return failed
		case err != nil:
			log.Warn("registration failure report not relayed: PortOne lookup failed", zap.Error(err))
			return failed
		case c.MerchantUID != "" && p.MerchantUID != c.MerchantUID:
			log.Warn("registration failure report not relayed: merchant_uid does not match PortOne's record",
				zap.String("verified_merchant_uid", p.MerchantUID))
			return failed
		case p.Status == portone.StatusPaid && p.CustomerUID != "":
			log.Warn("the window reported failure but PortOne's record is a registration; trusting PortOne")
			return s.completeVerified(ctx, log, p)
		}
		muid = p.MerchantUID
		subID = registrationSubscription(muid)
		failed.SubscriptionID = subID
	}
	if subID == "" {
		log.Info("registration failure for a merchant_uid this project did not issue; nothing relayed")
		return failed
	}
	if strings.TrimSpace(msg) == "" {
		msg = "NaverPay registration was not completed (no error_msg)"
	}
	arg := billing.RegistrationFailedSignal{MerchantUID: muid, Error: msg}
	outcome, err := s.relay(ctx, subID, billing.SignalRegistrationFailed, "failed|"+muid+"|"+c.ImpUID+"|"+msg, arg)
	switch outcome {
	case relayNoSubscription, relayFailed:
		log.Warn("registration failure not relayed", zap.String("subscription_id", subID), zap.Error(err))
	default:
		log.Info("registration failure relayed", zap.String("subscription_id", subID))
	}
	return failed
}
