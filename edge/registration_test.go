package edge_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/signedlink"
)

// followResult opens the result page a completion sent the buyer to.
func (e *testEnv) followResult(location string) (outcome, page string) {
	e.t.Helper()
	require.True(e.t, strings.HasPrefix(location, "/registration/result?"), location)
	status, body, _ := e.get(location)
	require.Equal(e.t, http.StatusOK, status, body)
	const marker = `data-outcome="`
	i := strings.Index(body, marker)
	require.GreaterOrEqual(e.t, i, 0, body)
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')], body
}

func TestRegistrationRedirectSuccess(t *testing.T) {
	tests := []struct {
		name  string
		query func(impUID, merchantUID string) url.Values
	}{
		{"imp_success=true", func(i, m string) url.Values {
			return url.Values{"imp_uid": {i}, "merchant_uid": {m}, "imp_success": {"true"}}
		}},
		{"older SDK: success=true", func(i, m string) url.Values {
			return url.Values{"imp_uid": {i}, "merchant_uid": {m}, "success": {"true"}}
		}},
		{"no flag, only the ids", func(i, m string) url.Values {
			return url.Values{"imp_uid": {i}, "merchant_uid": {m}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.subscription("sub1", "cust-1")
			reg := e.register("sub1", "a1b2c3d4", "cust-1")

			status, _, res := e.get("/registration/complete?" + tt.query(reg.RegistrationImpUID, reg.RegistrationMerchantUID).Encode())
			require.Equal(t, http.StatusSeeOther, status)
			require.Equal(t, []sentSignal{{
				WorkflowID: billing.WorkflowID("sub1"),
				Name:       billing.SignalRegistered,
				Arg:        billing.RegisteredSignal{ImpUID: reg.RegistrationImpUID, MerchantUID: reg.RegistrationMerchantUID},
			}}, e.wf.sent())

			outcome, page := e.followResult(res.Header.Get("Location"))
			require.Equal(t, edge.OutcomeRegistered, outcome)
			require.Contains(t, page, "등록이 완료되었습니다")
			require.Contains(t, page, "first charge will follow")
		})
	}
}

func TestRegistrationRedirectFailureShowsNaverPayMessageVerbatim(t *testing.T) {
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	msg := `[NAVERPAY] 사용자가 등록을 취소했습니다. <script>alert("x")</script> & 다시 시도`
	muid := billing.RegistrationMerchantUID("sub1", "a1b2c3d4")

	link := e.registerLink("sub1")
	status, _, res := e.get("/registration/complete?" + url.Values{
		"imp_success": {"false"}, "merchant_uid": {muid}, "error_msg": {msg}, "link": {strings.TrimPrefix(link, "/register/")},
	}.Encode())
	require.Equal(t, http.StatusSeeOther, status)
	require.NotContains(t, res.Header.Get("Location"), "subscription_id", "the result never names the subscription")
	require.Equal(t, []sentSignal{{
		WorkflowID: billing.WorkflowID("sub1"),
		Name:       billing.SignalRegistrationFailed,
		Arg:        billing.RegistrationFailedSignal{MerchantUID: muid, Error: msg},
	}}, e.wf.sent())

	outcome, page := e.followResult(res.Header.Get("Location"))
	require.Equal(t, edge.OutcomeFailed, outcome)
	require.Contains(t, page, "등록하지 못했습니다")
	require.NotContains(t, page, `<script>alert`)
	// Verbatim: the page text, once HTML-unescaped, is exactly NaverPay's message.
	i := strings.Index(page, `id="error-msg" class="error">`)
	require.GreaterOrEqual(t, i, 0, page)
	shown := page[i+len(`id="error-msg" class="error">`):]
	shown = shown[:strings.Index(shown, "</p>")]
	require.Equal(t, msg, html.UnescapeString(shown))
	require.Contains(t, page, `href="`+link+`"`, "a link back to try again: the customer's own signed link")

	// Without the link, or with another subscription's, there is nothing to offer: a retry link
	// is never minted from the merchant_uid, which anyone can type.
	for _, other := range []string{"", strings.TrimPrefix(e.registerLink("sub2"), "/register/")} {
		_, _, res = e.get("/registration/complete?" + url.Values{
			"imp_success": {"false"}, "merchant_uid": {muid}, "error_msg": {msg}, "link": {other},
		}.Encode())
		_, page = e.followResult(res.Header.Get("Location"))
		require.NotContains(t, page, `id="retry"`)
	}
}

func TestRegistrationNotTrustedWithoutPortOne(t *testing.T) {
	tests := []struct {
		name  string
		query func(e *testEnv) url.Values
	}{
		{"imp_uid unknown to PortOne", func(e *testEnv) url.Values {
			return url.Values{"imp_uid": {"imp_999999999999"}, "merchant_uid": {billing.RegistrationMerchantUID("sub1", "a1b2c3d4")}, "imp_success": {"true"}}
		}},
		{"imp_uid of a charge, not a registration", func(e *testEnv) url.Values {
			e.register("sub1", "zzzz0000", "cust-1")
			p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
			return url.Values{"imp_uid": {p.ImpUID}, "imp_success": {"true"}}
		}},
		{"merchant_uid does not match PortOne's record", func(e *testEnv) url.Values {
			reg := e.register("sub2", "a1b2c3d4", "cust-2")
			return url.Values{"imp_uid": {reg.RegistrationImpUID}, "merchant_uid": {billing.RegistrationMerchantUID("sub1", "a1b2c3d4")}, "imp_success": {"true"}}
		}},
		{"registration of another system", func(e *testEnv) url.Values {
			reg, err := e.emu.RegisterCustomer("", portonetestSeed("cust-x", "issue_1234567890"))
			require.NoError(e.t, err)
			return url.Values{"imp_uid": {reg.RegistrationImpUID}, "merchant_uid": {reg.RegistrationMerchantUID}, "imp_success": {"true"}}
		}},
		{"failure claimed with an imp_uid PortOne does not know", func(e *testEnv) url.Values {
			return url.Values{"imp_uid": {"imp_999999999999"}, "merchant_uid": {billing.RegistrationMerchantUID("sub1", "a1b2c3d4")}, "imp_success": {"false"}, "error_msg": {"취소"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.subscription("sub1", "cust-1")
			e.subscription("sub2", "cust-2")
			status, _, res := e.get("/registration/complete?" + tt.query(e).Encode())
			require.Equal(t, http.StatusSeeOther, status)
			require.Empty(t, e.wf.sent(), "nothing may be signalled on the browser's word")
			outcome, page := e.followResult(res.Header.Get("Location"))
			require.Equal(t, edge.OutcomeFailed, outcome)
			require.Contains(t, page, "등록하지 못했습니다")
		})
	}
}

func TestRegistrationFailureReportedButPortOneSaysRegistered(t *testing.T) {
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	reg := e.register("sub1", "a1b2c3d4", "cust-1")
	status, _, res := e.get("/registration/complete?" + url.Values{
		"imp_uid": {reg.RegistrationImpUID}, "merchant_uid": {reg.RegistrationMerchantUID}, "imp_success": {"false"}, "error_msg": {"timeout"},
	}.Encode())
	require.Equal(t, http.StatusSeeOther, status)
	sent := e.wf.sent()
	require.Len(t, sent, 1)
	require.Equal(t, billing.SignalRegistered, sent[0].Name)
	outcome, _ := e.followResult(res.Header.Get("Location"))
	require.Equal(t, edge.OutcomeRegistered, outcome)
}

func TestRegistrationPopup(t *testing.T) {
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	reg := e.register("sub1", "a1b2c3d4", "cust-1")

	// The SDK's rsp, as the page posts it (success as a boolean, extra fields, nulls).
	status, body, _ := e.postJSON("/registration/complete", map[string]any{
		"success": true, "imp_uid": reg.RegistrationImpUID, "merchant_uid": reg.RegistrationMerchantUID,
		"pay_method": "naverpay", "error_msg": nil, "paid_amount": 0,
	})
	require.Equal(t, http.StatusOK, status, body)
	var answer edge.CompletionAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &answer))
	outcome, _ := e.followResult(answer.Redirect)
	require.Equal(t, edge.OutcomeRegistered, outcome)
	require.Equal(t, []sentSignal{{
		WorkflowID: billing.WorkflowID("sub1"),
		Name:       billing.SignalRegistered,
		Arg:        billing.RegisteredSignal{ImpUID: reg.RegistrationImpUID, MerchantUID: reg.RegistrationMerchantUID},
	}}, e.wf.sent())

	// A popup reporting failure without an imp_uid.
	muid := billing.RegistrationMerchantUID("sub1", "e5f6g7h8")
	status, body, _ = e.postJSON("/registration/complete", map[string]any{
		"success": false, "imp_uid": nil, "merchant_uid": muid, "error_code": "F1001", "error_msg": "사용자가 결제를 취소하셨습니다",
	})
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &answer))
	outcome, page := e.followResult(answer.Redirect)
	require.Equal(t, edge.OutcomeFailed, outcome)
	require.Contains(t, page, "사용자가 결제를 취소하셨습니다")
	sent := e.wf.sent()
	require.Len(t, sent, 2)
	require.Equal(t, sentSignal{
		WorkflowID: billing.WorkflowID("sub1"),
		Name:       billing.SignalRegistrationFailed,
		Arg:        billing.RegistrationFailedSignal{MerchantUID: muid, Error: "사용자가 결제를 취소하셨습니다"},
	}, sent[1])
}

func TestRegistrationPopupRejectsMalformedBodies(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name        string
		contentType string
		body        string
		want        int
	}{
		{"form instead of JSON", "application/x-www-form-urlencoded", "imp_uid=imp_1", http.StatusBadRequest},
		{"not JSON", "application/json", "{", http.StatusBadRequest},
		{"JSON array", "application/json", "[]", http.StatusBadRequest},
		{"empty object", "application/json", "{}", http.StatusBadRequest},
		{"oversize", "application/json", `{"imp_uid":"` + strings.Repeat("1", edge.MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := e.do(http.MethodPost, "/registration/complete", tt.contentType, strings.NewReader(tt.body))
			require.Equal(t, tt.want, status, body)
			var answer edge.CompletionAnswer
			require.NoError(t, json.Unmarshal([]byte(body), &answer))
			require.NotEmpty(t, answer.Error)
		})
	}
	status, _, _ := e.get("/registration/complete")
	require.Equal(t, http.StatusBadRequest, status)
	require.Empty(t, e.wf.sent())
}

func TestRegistrationWhenTheSubscriptionCannotBeTold(t *testing.T) {
	tests := []struct {
		name        string
		signalErr   error
		knownSub    bool
		wantOutcome string
		wantText    string
	}{
		{"no open workflow", nil, false, edge.OutcomeFailed, "구독을 찾을 수 없거나"},
		{"Temporal unavailable", serviceerror.NewUnavailable("down"), true, edge.OutcomePending, "확인을 마치는 중"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.knownSub {
				e.subscription("sub1", "cust-1")
			}
			e.wf.set(func(f *fakeWorkflows) { f.signalErr = tt.signalErr })
			reg := e.register("sub1", "a1b2c3d4", "cust-1")
			status, _, res := e.get("/registration/complete?" + url.Values{
				"imp_uid": {reg.RegistrationImpUID}, "merchant_uid": {reg.RegistrationMerchantUID}, "imp_success": {"true"},
			}.Encode())
			require.Equal(t, http.StatusSeeOther, status)
			outcome, page := e.followResult(res.Header.Get("Location"))
			require.Equal(t, tt.wantOutcome, outcome)
			require.Contains(t, page, tt.wantText)
		})
	}
}

func TestResultPageRejectsUnknownOutcomes(t *testing.T) {
	e := newEnv(t, nil)
	status, body, _ := e.get("/registration/result?outcome=hacked&link=x")
	require.Equal(t, http.StatusBadRequest, status)
	require.NotContains(t, body, "hacked")
	// A link that does not verify (or the old subscription_id) gets no retry link.
	for _, q := range []string{"link=" + url.QueryEscape(`"><script>`), "subscription_id=sub1", "link=" + strings.TrimPrefix(e.link(signedlink.Manage, "sub1", time.Hour), "/manage/")} {
		status, body, _ = e.get("/registration/result?outcome=failed&reason=naverpay&" + q)
		require.Equal(t, http.StatusOK, status)
		require.NotContains(t, body, `id="retry"`, q)
		require.NotContains(t, body, "<script>")
	}
	status, body, _ = e.get("/registration/result?outcome=failed&reason=naverpay&link=" + strings.TrimPrefix(e.registerLink("sub1"), "/register/"))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `id="retry"`)
}
