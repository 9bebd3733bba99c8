package edge_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/signedlink"
)

func TestRegisterPageOpensTheNaverPayWindow(t *testing.T) {
	e := newEnv(t, func(c *edge.Config) {
		c.IMPScriptURL = "http://127.0.0.1:7780/__emulator/iamport.js"
	})
	e.subscription("sub1", "cust-1")

	link := e.registerLink("sub1")
	token := strings.TrimPrefix(link, "/register/")
	status, page, res := e.get(link)
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	cfg := parseIMPConfig(t, page)
	require.Equal(t, "imp12345678", cfg.IMPCode)
	require.Equal(t, "/registration/complete?link="+token, cfg.CompleteURL, "the link rides along for the result page's retry")
	p := cfg.Params
	require.Equal(t, "naverpay", p["pg"])
	require.Equal(t, "naverpay", p["pay_method"])
	require.Equal(t, "cust-1", p["customer_uid"])
	require.Equal(t, basicPlan.Name, p["name"])
	require.EqualValues(t, 9900, p["amount"])
	require.Equal(t, "basic-monthly", p["naverProductCode"], "the plan's code, never random")
	require.Equal(t, e.url+"/registration/complete?link="+token, p["m_redirect_url"])
	require.NotContains(t, p, "naverChainId")
	muid, _ := p["merchant_uid"].(string)
	require.Regexp(t, `^sub1-reg-[a-z0-9]{8}$`, muid)
	parsed, err := billing.ParseMerchantUID(muid)
	require.NoError(t, err)
	require.Equal(t, billing.KindRegistration, parsed.Kind)
	require.Equal(t, "sub1", parsed.SubscriptionID)

	// The page loads the SDK and uses only its documented API.
	require.Contains(t, page, `<script src="http://127.0.0.1:7780/__emulator/iamport.js"></script>`)
	require.Contains(t, page, "IMP.init(cfg.imp_code)")
	require.Contains(t, page, "IMP.request_pay(params, finish)")
	require.Contains(t, page, "params.naverPopupMode")
	require.Regexp(t, `<input type="tel" id="buyer_tel"[^>]* required`, page, "buyer_tel is required by NaverPay")
	for _, id := range []string{`id="buyer_name"`, `id="buyer_email"`, `id="mode-redirect"`, `id="mode-popup"`, `id="register"`} {
		require.Contains(t, page, id)
	}
	require.Contains(t, page, "9,900원")
	require.Contains(t, page, "매월")

	// Every view gets a fresh merchant_uid: PortOne never accepts one twice.
	_, page2, _ := e.get(link)
	require.NotEqual(t, muid, parseIMPConfig(t, page2).Params["merchant_uid"])
}

func TestRegisterPageOptionalParameters(t *testing.T) {
	e := newEnv(t, func(c *edge.Config) {
		c.NaverChainID = "chain-7"
		c.PublicURL = "https://pay.example.com/billing/"
		c.Demo = true
	})
	e.wf.setState(billing.State{
		SubscriptionID: "sub1", CustomerUID: "cust-1", Status: billing.StatusAwaitingRegistration,
		Plan:  billing.Plan{Name: "no code plan", Amount: 1000, Interval: calendar.Interval{Unit: calendar.Second, Count: 30}},
		Buyer: billing.Buyer{Name: "홍길동", Tel: "010-1111-2222", Email: "hong@example.com"},
	})
	link := e.registerLink("sub1")
	token := strings.TrimPrefix(link, "/register/")
	status, page, _ := e.get(link)
	require.Equal(t, http.StatusOK, status)
	cfg := parseIMPConfig(t, page)
	require.Equal(t, "chain-7", cfg.Params["naverChainId"])
	require.Equal(t, "no code plan", cfg.Params["naverProductCode"], "a plan without a code falls back to its name")
	require.Equal(t, "https://pay.example.com/billing/registration/complete?link="+token, cfg.Params["m_redirect_url"])
	require.Equal(t, "/billing/registration/complete?link="+token, cfg.CompleteURL, "links keep the public URL's path prefix")
	require.Contains(t, page, `value="010-1111-2222"`, "demo mode pre-fills the buyer")
	require.Contains(t, page, "30초마다")

	e2 := newEnv(t, nil)
	e2.wf.setState(billing.State{
		SubscriptionID: "sub1", CustomerUID: "cust-1", Status: billing.StatusAwaitingRegistration, Plan: basicPlan,
		Buyer: billing.Buyer{Tel: "010-1111-2222"},
	})
	_, page, _ = e2.get(e2.registerLink("sub1"))
	require.NotContains(t, page, "010-1111-2222", "outside demo mode the page shows no personal data")
}

func TestRegisterPageForOtherSubscriptions(t *testing.T) {
	tests := []struct {
		name       string
		path       func(e *testEnv) string
		state      *billing.State
		queryErr   error
		wantStatus int
		wantText   string
	}{
		{"bare /register", func(*testEnv) string { return "/register" }, nil, nil, http.StatusBadRequest, "링크가 올바르지 않습니다"},
		{"the old guessable link", func(*testEnv) string { return "/register?subscription_id=sub1" }, &billing.State{SubscriptionID: "sub1", Status: billing.StatusAwaitingRegistration, Plan: basicPlan}, nil, http.StatusBadRequest, "링크가 올바르지 않습니다"},
		{"a bare subscription ID as the token", func(*testEnv) string { return "/register/sub1" }, &billing.State{SubscriptionID: "sub1", Status: billing.StatusAwaitingRegistration, Plan: basicPlan}, nil, http.StatusBadRequest, "This link is incomplete"},
		{"a genuine link to an impossible ID", func(e *testEnv) string { return e.registerLink("../etc") }, nil, nil, http.StatusBadRequest, "링크가 올바르지 않습니다"},
		{"a manage link", func(e *testEnv) string {
			return "/register/" + strings.TrimPrefix(e.link(signedlink.Manage, "sub1", time.Hour), "/manage/")
		}, &billing.State{SubscriptionID: "sub1", Status: billing.StatusAwaitingRegistration, Plan: basicPlan}, nil, http.StatusForbidden, "확인할 수 없는 링크입니다"},
		{"unknown subscription", func(e *testEnv) string { return e.registerLink("ghost") }, nil, nil, http.StatusNotFound, "구독을 찾을 수 없습니다"},
		{"already active", func(e *testEnv) string { return e.registerLink("sub1") }, &billing.State{SubscriptionID: "sub1", Status: billing.StatusActive, Plan: basicPlan}, nil, http.StatusOK, "이미 네이버페이 정기결제가 등록된 구독입니다"},
		{"canceled", func(e *testEnv) string { return e.registerLink("sub1") }, &billing.State{SubscriptionID: "sub1", Status: billing.StatusCanceled, Plan: basicPlan}, nil, http.StatusOK, "종료된 구독입니다"},
		{"payment method required", func(e *testEnv) string { return e.registerLink("sub1") }, &billing.State{SubscriptionID: "sub1", Status: billing.StatusPaymentMethodRequired, Plan: basicPlan}, nil, http.StatusOK, "payment_method_required"},
		{"workflow not ready yet", func(e *testEnv) string { return e.registerLink("sub1") }, nil, serviceerror.NewWorkflowNotReady("not ready"), http.StatusServiceUnavailable, "준비하고 있습니다"},
		{"Temporal unavailable", func(e *testEnv) string { return e.registerLink("sub1") }, nil, serviceerror.NewUnavailable("down"), http.StatusServiceUnavailable, "불러올 수 없습니다"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.state != nil {
				e.wf.setState(*tt.state)
			}
			e.wf.set(func(f *fakeWorkflows) { f.queryErr = tt.queryErr })
			status, page, _ := e.get(tt.path(e))
			require.Equal(t, tt.wantStatus, status, page)
			require.Contains(t, page, tt.wantText)
			require.NotContains(t, page, "imp-config", "no registration window outside awaiting_registration")
		})
	}
}

func TestDemoStartIsOffByDefault(t *testing.T) {
	e := newEnv(t, nil)
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/register/new"},
		{http.MethodPost, "/register/start"},
		{http.MethodGet, "/"},
	} {
		status, _, _ := e.do(req.method, req.path, "application/x-www-form-urlencoded", strings.NewReader("plan=basic-monthly"))
		require.Equal(t, http.StatusNotFound, status, req.path)
	}
	require.Empty(t, e.wf.started())
}

func TestDemoStartPage(t *testing.T) {
	e := newEnv(t, func(c *edge.Config) { c.Demo = true })
	status, page, _ := e.get("/register/new")
	require.Equal(t, http.StatusOK, status)
	for _, p := range edge.DefaultPlans() {
		require.Contains(t, page, `value="`+p.Code+`"`)
	}
	require.Regexp(t, `id="subscription_id"[^>]*value="demo-[a-z0-9]{8}"`, page)
	require.Regexp(t, `id="customer_uid"[^>]*value="cust-[a-z0-9]{12}"`, page)

	status, _, res := e.get("/")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/register/new", res.Header.Get("Location"))
}

func TestDemoStartStartsTheWorkflow(t *testing.T) {
	e := newEnv(t, func(c *edge.Config) { c.Demo = true })
	form := url.Values{
		"plan": {"demo-30s"}, "subscription_id": {"demo-abc12345"}, "customer_uid": {"cust-xyz"},
		"buyer_name": {"홍길동"}, "buyer_tel": {"010-1234-5678"}, "buyer_email": {"buyer@example.com"},
	}
	status, body, res := e.postForm("/register/start", form)
	require.Equal(t, http.StatusSeeOther, status, body)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/register/"), loc)
	require.NotContains(t, loc, "demo-abc12345", "a signed link, never the subscription ID")
	l, err := e.keys.Verify(strings.TrimPrefix(loc, "/register/"), signedlink.Register, e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "demo-abc12345", l.SubscriptionID)
	require.WithinDuration(t, e.clock.Now().Add(edge.DefaultRegisterLinkTTL), l.Expires, 2*time.Second)

	starts := e.wf.started()
	require.Len(t, starts, 1)
	require.Equal(t, billing.WorkflowType, starts[0].Workflow)
	require.Len(t, starts[0].Args, 1)
	in, ok := starts[0].Args[0].(billing.SubscriptionInput)
	require.True(t, ok)
	// The one start-options helper: refused when running, search attributes set at start.
	require.Equal(t, billing.StartOptions(in, billing.TaskQueue), starts[0].Options)
	customer, _ := starts[0].Options.TypedSearchAttributes.GetKeyword(billing.SACustomerUID)
	require.Equal(t, "cust-xyz", customer)
	require.Equal(t, "demo-abc12345", in.SubscriptionID)
	require.Equal(t, "cust-xyz", in.CustomerUID)
	require.Equal(t, "demo-30s", in.Plan.Code)
	require.EqualValues(t, 1000, in.Plan.Amount)
	require.Equal(t, calendar.Interval{Unit: calendar.Second, Count: 30}, in.Plan.Interval)
	require.Equal(t, billing.Buyer{Name: "홍길동", Tel: "010-1234-5678", Email: "buyer@example.com"}, in.Buyer)
	require.NoError(t, in.Validate(), "the input is already normalized and valid")

	// The registration page it redirects to opens NaverPay for that subscription.
	status, page, _ := e.get(res.Header.Get("Location"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "demo-30s", parseIMPConfig(t, page).Params["naverProductCode"])

	// The same ID again is refused.
	status, page, _ = e.postForm("/register/start", form)
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, page, "already taken")
	require.Len(t, e.wf.started(), 1)
}

func TestDemoStartRefusesBadInput(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		startErr   error
		wantStatus int
		wantText   string
	}{
		{"unknown plan", url.Values{"plan": {"gold"}, "subscription_id": {"demo-1"}, "customer_uid": {"c1"}}, nil, http.StatusBadRequest, "choose a plan"},
		{"invalid subscription ID", url.Values{"plan": {"basic-monthly"}, "subscription_id": {"bad id!"}, "customer_uid": {"c1"}}, nil, http.StatusBadRequest, "subscription_id"},
		{"subscription ID too long", url.Values{"plan": {"basic-monthly"}, "subscription_id": {strings.Repeat("a", 25)}, "customer_uid": {"c1"}}, nil, http.StatusBadRequest, "subscription_id"},
		{"missing customer_uid", url.Values{"plan": {"basic-monthly"}, "subscription_id": {"demo-1"}}, nil, http.StatusBadRequest, "customer_uid"},
		{"bad e-mail", url.Values{"plan": {"basic-monthly"}, "subscription_id": {"demo-1"}, "customer_uid": {"c1"}, "buyer_email": {"nope"}}, nil, http.StatusBadRequest, "buyer.email"},
		{"Temporal unavailable", url.Values{"plan": {"basic-monthly"}, "subscription_id": {"demo-1"}, "customer_uid": {"c1"}}, serviceerror.NewUnavailable("down"), http.StatusServiceUnavailable, "cannot be started right now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *edge.Config) { c.Demo = true })
			e.wf.set(func(f *fakeWorkflows) { f.startErr = tt.startErr })
			status, page, _ := e.postForm("/register/start", tt.form)
			require.Equal(t, tt.wantStatus, status, page)
			require.Contains(t, page, tt.wantText)
			require.Empty(t, e.wf.started())
		})
	}
}

func TestDefaultPlansAreValid(t *testing.T) {
	seen := map[string]bool{}
	short := 0
	for _, p := range edge.DefaultPlans() {
		plan := p.Plan()
		require.NoError(t, plan.Validate("plan"), p.Code)
		require.False(t, seen[p.Code], "duplicate code %s", p.Code)
		seen[p.Code] = true
		require.Regexp(t, regexp.MustCompile(`^[a-z0-9-]+$`), p.Code)
		if p.Interval.Unit == calendar.Second {
			short++
		}
	}
	require.GreaterOrEqual(t, short, 2, "the demo catalog has second-interval plans")
}
