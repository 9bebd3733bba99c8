package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// V2CompleteRoute is where a V2 registration ends: the redirectUrl of
// PortOne.requestIssueBillingKey (GET, REDIRECTION on mobile) and the page's own post of the
// SDK's answer (POST, POPUP on PC).
const V2CompleteRoute = "/registration/v2/complete"

// v2IssueRequest is PortOne.requestIssueBillingKey's parameters that the server decides
// (browser-sdk.yml, IssueBillingKeyRequest); the page adds the customer's fields.
type v2IssueRequest struct {
	StoreID          string        `json:"storeId"`
	ChannelKey       string        `json:"channelKey"`
	BillingKeyMethod string        `json:"billingKeyMethod"`
	IssueID          string        `json:"issueId"`
	IssueName        string        `json:"issueName"`
	RedirectURL      string        `json:"redirectUrl"`
	WindowType       v2WindowTypes `json:"windowType"`
}

// v2WindowTypes is WindowTypes: NaverPay's V2 guide allows POPUP on PC and REDIRECTION on
// mobile only.
type v2WindowTypes struct {
	PC     string `json:"pc"`
	Mobile string `json:"mobile"`
}

// v2PageConfig is what the V2 registration page's script reads from its JSON block.
type v2PageConfig struct {
	// Ready is false when no browser SDK is configured: the page then explains and stays off.
	Ready       bool           `json:"ready"`
	CompleteURL string         `json:"complete_url"`
	Request     v2IssueRequest `json:"request"`
}

// registerV2Page is the data of GET /register/{token} for a V2 subscription.
type registerV2Page struct {
	registerPage
	SDKScriptURL string
	V2           v2PageConfig
}

// renderRegisterV2 serves the registration page of a V2 subscription: the browser SDK's
// requestIssueBillingKey for NaverPay with the subscription's customer_uid as issueId (the
// workflow accepts only a key issued under it). Without V2 at the edge it says so (503); without
// a browser SDK configured the page is shown switched off with the reason, rather than
// pretending.
func (s *Server) renderRegisterV2(w http.ResponseWriter, st billing.State, token string, page registerPage) {
	if s.cfg.V2 == nil {
		s.renderMessage(w, http.StatusServiceUnavailable, messagePage{
			HeadingKo: "이 구독은 포트원 V2로 등록해야 하지만 지금은 등록할 수 없습니다.",
			HeadingEn: "This subscription registers through PortOne V2, which is not configured here.",
			TextKo:    "고객센터에 문의해 주세요.",
			TextEn:    "Please contact support (the edge needs the PORTONE_V2_ settings).",
		})
		return
	}
	complete := s.link(V2CompleteRoute) + "?" + url.Values{"link": {token}}.Encode()
	data := registerV2Page{
		registerPage: page,
		SDKScriptURL: s.cfg.V2.SDKScriptURL,
		V2: v2PageConfig{
			Ready:       s.cfg.V2.SDKScriptURL != "",
			CompleteURL: complete,
			Request: v2IssueRequest{
				StoreID:          s.cfg.V2.StoreID,
				ChannelKey:       s.cfg.V2.ChannelKey,
				BillingKeyMethod: "EASY_PAY",
				IssueID:          st.CustomerUID,
				IssueName:        st.Plan.Name,
				RedirectURL:      s.publicURL(V2CompleteRoute) + "?" + url.Values{"link": {token}}.Encode(),
				WindowType:       v2WindowTypes{PC: "POPUP", Mobile: "REDIRECTION"},
			},
		},
	}
	s.render(w, http.StatusOK, "register_v2.html", data)
}

// v2Completion is what the browser reports after requestIssueBillingKey: the SDK's answer
// (POST) or the redirect's query (GET). Only a claim.
type v2Completion struct {
	BillingKey string `json:"billingKey"`
	Code       string `json:"code"`
	Message    string `json:"message"`
}

// handleCompleteV2Redirect is GET /registration/v2/complete, requestIssueBillingKey's
// redirectUrl (REDIRECTION): PortOne adds billingKey, or code and message. It answers 303 to
// the result page.
func (s *Server) handleCompleteV2Redirect(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := v2Completion{BillingKey: strings.TrimSpace(q.Get("billingKey")), Code: strings.TrimSpace(q.Get("code")), Message: q.Get("message")}
	token := q.Get("link")
	res := s.withRetryLink(s.completeV2(r.Context(), token, c), token)
	http.Redirect(w, r, s.resultLink(res), http.StatusSeeOther)
}

// handleCompleteV2Popup is POST /registration/v2/complete: the page posts the SDK's answer as
// JSON and gets {"redirect": result page} whatever the outcome; 400 for a body that is not such
// an object.
func (s *Server) handleCompleteV2Popup(w http.ResponseWriter, r *http.Request) {
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
	var c v2Completion
	if err := json.Unmarshal(body, &c); err != nil {
		writeJSON(w, http.StatusBadRequest, CompletionAnswer{Error: "body must be requestIssueBillingKey's answer as a JSON object"})
		return
	}
	c.BillingKey, c.Code = strings.TrimSpace(c.BillingKey), strings.TrimSpace(c.Code)
	token := r.URL.Query().Get("link")
	res := s.withRetryLink(s.completeV2(r.Context(), token, c), token)
	writeJSON(w, http.StatusOK, CompletionAnswer{Redirect: s.resultLink(res)})
}

// completeV2 checks a finished V2 window and tells the subscription. The subscription is the
// one the signed registration link names (the redirectUrl carries it); the key is re-fetched
// from PortOne and must carry that subscription's customer_uid as issueId before `registered`
// is signalled, and the workflow verifies it again. A failure report only records NaverPay's
// message. When PortOne or Temporal cannot answer the buyer is told "pending": the
// BillingKey.Issued webhook wakes the subscription later.
func (s *Server) completeV2(ctx context.Context, token string, c v2Completion) regResult {
	if s.cfg.V2 == nil || s.payV2 == nil {
		return regResult{Outcome: OutcomeFailed, Reason: reasonInvalid}
	}
	link, ok := s.registerLinkFor(token)
	if !ok {
		if c.BillingKey != "" && c.Code == "" {
			// The key may be real; the webhook will bring it to its subscription.
			return regResult{Outcome: OutcomePending, Reason: reasonNotConfirmed}
		}
		return regResult{Outcome: OutcomeFailed, Reason: reasonInvalid}
	}
	sub := link.SubscriptionID
	log := s.log.With(zap.String("subscription_id", sub))
	if len(c.BillingKey) > maxV2IDLen {
		return regResult{Outcome: OutcomeFailed, SubscriptionID: sub, Reason: reasonInvalid}
	}
	if c.Code != "" || c.BillingKey == "" || c.BillingKey == "NEEDS_CONFIRMATION" {
		msg := textfmt.Truncate(c.Message, maxErrorMsg)
		if strings.TrimSpace(msg) == "" {
			msg = "NaverPay registration was not completed (no message)"
			if c.BillingKey == "NEEDS_CONFIRMATION" {
				msg = "the channel asks for manual confirmation of issued keys, which paycycle does not do"
			}
		}
		arg := billing.RegistrationFailedSignal{Error: msg}
		outcome, err := s.relay(ctx, sub, billing.SignalRegistrationFailed, "v2failed|"+sub+"|"+c.Code+"|"+msg, arg)
		if outcome == relayNoSubscription || outcome == relayFailed {
			log.Warn("V2 registration failure not relayed", zap.Error(err))
		}
		return regResult{Outcome: OutcomeFailed, SubscriptionID: sub, Reason: reasonNaverPay, ErrorMsg: msg}
	}
	k, err := s.v2Key(ctx, c.BillingKey)
	switch {
	case err != nil && (errors.Is(err, gateway.ErrKeyNotFound) || errors.Is(err, gateway.ErrInvalidRequest)):
		log.Warn("V2 registration not confirmed: PortOne holds no issued billing key by that name (forged?)", zap.Error(err))
		return regResult{Outcome: OutcomeFailed, SubscriptionID: sub, Reason: reasonUnverified}
	case err != nil:
		log.Error("V2 registration not confirmed: PortOne V2 lookup failed", zap.Error(err))
		return regResult{Outcome: OutcomePending, SubscriptionID: sub, Reason: reasonNotConfirmed}
	}
	st, err := s.queryState(ctx, sub)
	switch {
	case err != nil && isWorkflowNotFound(err):
		return regResult{Outcome: OutcomeFailed, SubscriptionID: sub, Reason: reasonNoSub}
	case err != nil:
		log.Error("V2 registration not confirmed: the subscription could not be read", zap.Error(err))
		return regResult{Outcome: OutcomePending, SubscriptionID: sub, Reason: reasonNotConfirmed}
	case k.IssueID != st.CustomerUID || !st.Gateway.IsV2():
		log.Warn("V2 registration not confirmed: the billing key was issued for another registration (its issueId is not this subscription's)")
		return regResult{Outcome: OutcomeFailed, SubscriptionID: sub, Reason: reasonUnverified}
	}
	// The same dedupe key as the webhook's, so the browser and BillingKey.Issued make one signal.
	outcome, err := s.relay(ctx, sub, billing.SignalRegistered, "v2key|"+sub+"|"+k.Key, billing.RegisteredSignal{BillingKey: k.Key})
	switch outcome {
	case relayNoSubscription:
		log.Warn("V2 registration verified but no open workflow for the subscription", zap.Error(err))
		return regResult{Outcome: OutcomeFailed, SubscriptionID: sub, Reason: reasonNoSub}
	case relayFailed:
		log.Error("V2 registration verified but not relayed: Temporal failed", zap.Error(err))
		return regResult{Outcome: OutcomePending, SubscriptionID: sub, Reason: reasonNotConfirmed}
	}
	log.Info("V2 registration verified and relayed", zap.Bool("duplicate", outcome == relayDuplicate))
	return regResult{Outcome: OutcomeRegistered, SubscriptionID: sub}
}
