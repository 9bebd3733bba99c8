package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// queryState reads a subscription's state from its workflow.
func (s *Server) queryState(ctx context.Context, subscriptionID string) (billing.State, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	var st billing.State
	workflowID := billing.WorkflowID(subscriptionID)
	v, err := s.wf.QueryWorkflow(ctx, workflowID, "", billing.QueryState)
	if err != nil {
		return st, fmt.Errorf("query %q of workflow %s: %w", billing.QueryState, workflowID, err)
	}
	if v == nil || !v.HasValue() {
		return st, fmt.Errorf("query %q of workflow %s: empty answer", billing.QueryState, workflowID)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode %q of workflow %s: %w", billing.QueryState, workflowID, err)
	}
	return st, nil
}

// impParams are IMP.request_pay's parameters that the server decides. The page adds the
// buyer's fields and naverPopupMode.
type impParams struct {
	PG               string `json:"pg"`
	PayMethod        string `json:"pay_method"`
	CustomerUID      string `json:"customer_uid"`
	MerchantUID      string `json:"merchant_uid"`
	Name             string `json:"name"`
	Amount           int64  `json:"amount"`
	MRedirectURL     string `json:"m_redirect_url"`
	NaverProductCode string `json:"naverProductCode"`
	NaverChainID     string `json:"naverChainId,omitempty"`
}

// pageConfig is what the registration page's script reads from its JSON block.
type pageConfig struct {
	IMPCode     string    `json:"imp_code"`
	CompleteURL string    `json:"complete_url"`
	Params      impParams `json:"params"`
}

// registerPage is the data of GET /register.
type registerPage struct {
	Title        string
	PlanName     string
	AmountKo     string
	AmountEn     string
	IntervalKo   string
	IntervalEn   string
	BuyerName    string
	BuyerTel     string
	BuyerEmail   string
	IMPScriptURL string
	Config       pageConfig
}

// handleRegisterPage is GET /register/{token}: the minimal NaverPay registration page, opened by
// a signed registration link (see verifyLink for the answers to a bad one). It answers 404 for
// an unknown subscription, 503 when Temporal cannot answer, a plain 200 message when the
// subscription is not awaiting registration, and otherwise the page.
func (s *Server) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	l, ok := s.verifyLink(w, r, signedlink.Register)
	if !ok {
		return
	}
	id, token := l.SubscriptionID, r.PathValue("token")
	st, err := s.queryState(r.Context(), id)
	if err != nil {
		s.renderQueryFailure(w, id, err)
		return
	}
	if st.Status != billing.StatusAwaitingRegistration {
		s.renderNotAwaiting(w, st.Status)
		return
	}
	plan := st.Plan
	code := plan.Code
	if code == "" {
		code = plan.Name
	}
	page := registerPage{
		Title:        "네이버페이 정기결제 등록 · Register NaverPay",
		PlanName:     plan.Name,
		AmountKo:     textfmt.FormatKRW(plan.Amount) + "원",
		AmountEn:     "KRW " + textfmt.FormatKRW(plan.Amount),
		IntervalKo:   intervalKo(plan.Interval),
		IntervalEn:   plan.Interval.String(),
		IMPScriptURL: s.cfg.IMPScriptURL,
		Config: pageConfig{
			IMPCode: s.cfg.IMPCode,
			// The token rides along so that the result page can offer "try again" with the
			// customer's own link, never one minted from a subscription ID in a query.
			CompleteURL: s.link("/registration/complete") + "?" + url.Values{"link": {token}}.Encode(),
			Params: impParams{
				PG:               s.cfg.PG,
				PayMethod:        "naverpay",
				CustomerUID:      st.CustomerUID,
				MerchantUID:      billing.RegistrationMerchantUID(id, randomString(8)),
				Name:             plan.Name,
				Amount:           plan.Amount,
				MRedirectURL:     s.publicURL("/registration/complete") + "?" + url.Values{"link": {token}}.Encode(),
				NaverProductCode: code,
				NaverChainID:     s.cfg.NaverChainID,
			},
		},
	}
	if s.cfg.Demo {
		// Outside demo mode the page never shows personal data: a registration link is often
		// forwarded (a family member pays), and whoever holds it can open the page.
		page.BuyerName, page.BuyerTel, page.BuyerEmail = st.Buyer.Name, st.Buyer.Tel, st.Buyer.Email
	}
	if st.Gateway.IsV2() {
		s.renderRegisterV2(w, st, token, page)
		return
	}
	s.render(w, http.StatusOK, "register.html", page)
}

func (s *Server) renderNoSubscription(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusNotFound, messagePage{
		HeadingKo: "구독을 찾을 수 없습니다.", HeadingEn: "Subscription not found.",
		TextKo: "링크가 올바른지 확인해 주세요.", TextEn: "Please check the link.",
	})
}

// renderQueryFailure explains why the subscription could not be read.
func (s *Server) renderQueryFailure(w http.ResponseWriter, id string, err error) {
	var notReady *serviceerror.WorkflowNotReady
	switch {
	case isWorkflowNotFound(err):
		s.renderNoSubscription(w)
	case errors.As(err, &notReady):
		// The workflow was just started and no worker has run it yet.
		w.Header().Set("Refresh", "2")
		s.renderMessage(w, http.StatusServiceUnavailable, messagePage{
			HeadingKo: "구독을 준비하고 있습니다.", HeadingEn: "The subscription is being set up.",
			TextKo: "잠시 후 이 페이지가 자동으로 새로고침됩니다.", TextEn: "This page reloads by itself in a moment.",
		})
	default:
		s.log.Error("customer page: subscription state unavailable", zap.String("subscription_id", id), zap.Error(err))
		s.renderMessage(w, http.StatusServiceUnavailable, messagePage{
			HeadingKo: "지금은 구독 정보를 불러올 수 없습니다.", HeadingEn: "The subscription cannot be loaded right now.",
			TextKo: "잠시 후 다시 시도해 주세요.", TextEn: "Please try again in a moment.",
		})
	}
}

// renderNotAwaiting says plainly why there is nothing to register.
func (s *Server) renderNotAwaiting(w http.ResponseWriter, status billing.Status) {
	p := messagePage{
		HeadingKo: "등록을 기다리는 구독이 아닙니다.",
		HeadingEn: "This subscription is not waiting for a registration.",
		TextKo:    fmt.Sprintf("현재 상태: %s", status),
		TextEn:    fmt.Sprintf("Current status: %s.", status),
	}
	switch status {
	case billing.StatusActive, billing.StatusPastDue, billing.StatusPaused:
		p.HeadingKo = "이미 네이버페이 정기결제가 등록된 구독입니다."
		p.HeadingEn = "NaverPay recurring payment is already registered for this subscription."
		p.TextKo = fmt.Sprintf("다시 등록할 필요가 없습니다. (현재 상태: %s)", status)
		p.TextEn = fmt.Sprintf("There is nothing to do here (status: %s).", status)
	case billing.StatusCanceled, billing.StatusExpired:
		p.HeadingKo = "종료된 구독입니다."
		p.HeadingEn = "This subscription has ended."
		p.TextKo = fmt.Sprintf("더 이상 등록할 수 없습니다. (현재 상태: %s)", status)
		p.TextEn = fmt.Sprintf("It can no longer be registered (status: %s).", status)
	case billing.StatusPaymentMethodRequired:
		p.TextKo = "결제 수단 교체가 필요한 구독입니다. 고객센터에 문의해 주세요. (현재 상태: payment_method_required)"
		p.TextEn = "This subscription needs a new payment method; please contact support (status: payment_method_required)."
	}
	s.renderMessage(w, http.StatusOK, p)
}

// planChoice is one catalog entry as the demo start page shows it.
type planChoice struct {
	Code       string
	Name       string
	AmountKo   string
	IntervalKo string
	IntervalEn string
	Selected   bool
}

// newPage is the data of GET /register/new.
type newPage struct {
	Title          string
	Error          string
	StartURL       string
	Plans          []planChoice
	SubscriptionID string
	CustomerUID    string
	BuyerName      string
	BuyerTel       string
	BuyerEmail     string
	// OfferV2 shows the gateway choice: only an edge with PortOne V2 can register a V2 key.
	OfferV2 bool
	// V2 is whether PortOne V2 is the chosen gateway.
	V2 bool
}

func (s *Server) newPageData(selected string) newPage {
	p := newPage{
		Title:          "구독 시작하기 (데모) · Start a subscription",
		StartURL:       s.link("/register/start"),
		SubscriptionID: "demo-" + randomString(8),
		CustomerUID:    "cust-" + randomString(12),
		OfferV2:        s.cfg.V2 != nil,
	}
	for i, opt := range s.cfg.Plans {
		p.Plans = append(p.Plans, planChoice{
			Code:       opt.Code,
			Name:       opt.Name,
			AmountKo:   textfmt.FormatKRW(opt.Amount) + "원",
			IntervalKo: intervalKo(opt.Interval),
			IntervalEn: opt.Interval.String(),
			Selected:   opt.Code == selected || (selected == "" && i == 0),
		})
	}
	return p
}

// handleNewPage is GET /register/new (demo mode only): a plan, a buyer, a button.
func (s *Server) handleNewPage(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "new.html", s.newPageData(""))
}

// handleStart is POST /register/start (demo mode only): it starts a subscription workflow and
// sends the browser (303) to its registration page. A bad form gets the form back with 400, a
// subscription ID already running with 409, and a Temporal failure a 503 page.
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		status := http.StatusBadRequest
		if errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.renderMessage(w, status, messagePage{HeadingKo: "잘못된 요청입니다.", HeadingEn: "Bad request.", TextEn: "The form could not be read."})
		return
	}
	form := r.PostForm
	planCode := form.Get("plan")
	page := s.newPageData(planCode)
	page.SubscriptionID = strings.TrimSpace(form.Get("subscription_id"))
	page.CustomerUID = strings.TrimSpace(form.Get("customer_uid"))
	page.BuyerName = strings.TrimSpace(form.Get("buyer_name"))
	page.BuyerTel = strings.TrimSpace(form.Get("buyer_tel"))
	page.BuyerEmail = strings.TrimSpace(form.Get("buyer_email"))
	gw := billing.GatewayName(strings.TrimSpace(form.Get("gateway")))
	page.V2 = gw.IsV2()
	refuse := func(status int, msg string) {
		page.Error = msg
		s.render(w, status, "new.html", page)
	}
	if gw.IsV2() && s.cfg.V2 == nil {
		refuse(http.StatusBadRequest, "이 서버는 포트원 V2가 설정되지 않았습니다. / PortOne V2 is not configured on this edge.")
		return
	}

	var plan *PlanOption
	for i := range s.cfg.Plans {
		if s.cfg.Plans[i].Code == planCode {
			plan = &s.cfg.Plans[i]
		}
	}
	if plan == nil {
		refuse(http.StatusBadRequest, "요금제를 선택해 주세요. / Please choose a plan from the list.")
		return
	}
	in := billing.SubscriptionInput{
		SubscriptionID: page.SubscriptionID,
		CustomerUID:    page.CustomerUID,
		Plan:           plan.Plan(),
		Buyer:          billing.Buyer{Name: page.BuyerName, Tel: page.BuyerTel, Email: page.BuyerEmail},
		Gateway:        gw,
	}
	in.Normalize()
	if err := in.Validate(); err != nil {
		refuse(http.StatusBadRequest, "입력값을 확인해 주세요. / Please check the form: "+err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.UpstreamTimeout)
	defer cancel()
	workflowID := billing.WorkflowID(in.SubscriptionID)
	run, err := s.wf.ExecuteWorkflow(ctx, billing.StartOptions(in, s.cfg.TaskQueue), billing.WorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		refuse(http.StatusConflict, fmt.Sprintf("구독 ID %q는 이미 사용 중입니다. 다른 ID를 입력해 주세요. / Subscription ID %q is already taken; please choose another.", in.SubscriptionID, in.SubscriptionID))
		return
	case err != nil:
		s.log.Error("demo start: workflow not started", zap.String("workflow_id", workflowID), zap.Error(err))
		s.renderMessage(w, http.StatusServiceUnavailable, messagePage{
			HeadingKo: "지금은 구독을 시작할 수 없습니다.", HeadingEn: "The subscription cannot be started right now.",
			TextKo: "잠시 후 다시 시도해 주세요.", TextEn: "Temporal did not answer; please try again in a moment.",
			Link: s.link("/register/new"), LinkText: "돌아가기 · Back",
		})
		return
	}
	runID := ""
	if run != nil {
		runID = run.GetRunID()
	}
	s.log.Info("demo start: subscription started", zap.String("workflow_id", workflowID), zap.String("run_id", runID),
		zap.String("plan", plan.Code), zap.String("gateway", string(in.Gateway)))
	target, err := s.signedLink(signedlink.Register, in.SubscriptionID, s.cfg.RegisterLinkTTL)
	if err != nil {
		s.log.Error("demo start: registration link not signed", zap.String("workflow_id", workflowID), zap.Error(err))
		s.renderMessage(w, http.StatusServiceUnavailable, messagePage{
			HeadingKo: "구독은 시작되었지만 등록 링크를 만들 수 없습니다.", HeadingEn: "The subscription started, but no registration link could be made.",
			TextEn: "Mint one with: starter link -subscription " + in.SubscriptionID + " -purpose register",
		})
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
