package edge

import (
	"net/http"
	"strings"

	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// resultPage is the data of GET /registration/result.
type resultPage struct {
	Title     string
	Outcome   string
	HeadingKo string
	HeadingEn string
	TextKo    string
	TextEn    string
	ErrorMsg  string
	RetryLink string
}

// failureTexts are the edge's own explanations of a failed registration, by reason.
var failureTexts = map[string][2]string{
	reasonNaverPay: {
		"네이버페이 정기결제 등록이 완료되지 않았습니다. 아래 안내를 확인한 뒤 다시 시도해 주세요.",
		"NaverPay recurring payment was not registered. Please read NaverPay's message below and try again.",
	},
	reasonUnverified: {
		"포트원(PortOne)에서 등록 내역을 확인할 수 없어 등록을 완료하지 못했습니다.",
		"PortOne has no record of this registration, so it was not completed.",
	},
	reasonNotFinished: {
		"등록 절차가 끝나지 않았습니다. 다시 시도해 주세요.",
		"The registration did not finish. Please try again.",
	},
	reasonNoSub: {
		"구독을 찾을 수 없거나 이미 종료된 구독입니다.",
		"The subscription does not exist or has already ended.",
	},
	reasonInvalid: {
		"등록 결과를 알 수 없습니다. 다시 시도해 주세요.",
		"The registration result could not be read. Please try again.",
	},
}

// handleResult is GET /registration/result: it tells the buyer, in plain words, what happened.
// It only displays; nothing here changes a subscription. NaverPay's error_msg is shown
// verbatim (NaverPay's rule), escaped like everything else.
func (s *Server) handleResult(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res := regResult{
		Outcome:  q.Get("outcome"),
		Reason:   q.Get("reason"),
		ErrorMsg: textfmt.Truncate(q.Get("error_msg"), maxErrorMsg),
	}
	// Anyone can type this page's query, so "try again" only ever leads to a registration link
	// the edge signed: what the customer came with, verified again here.
	retry := ""
	if token := strings.TrimSpace(q.Get("link")); token != "" {
		if _, ok := s.registerLinkFor(token); ok {
			retry = s.link(signedlink.Register.Route() + token)
		}
	}
	page := resultPage{Outcome: res.Outcome}
	switch res.Outcome {
	case OutcomeRegistered:
		page.Title = "등록 완료 · Registered"
		page.HeadingKo = "네이버페이 정기결제 등록이 완료되었습니다."
		page.HeadingEn = "NaverPay recurring payment is registered."
		page.TextKo = "첫 결제가 곧 이어서 진행됩니다. 결제 결과는 네이버페이에서 확인할 수 있습니다. 이 창은 닫으셔도 됩니다."
		page.TextEn = "The first charge will follow shortly; NaverPay shows its result. You may close this window."
	case OutcomePending:
		page.Title = "확인 중 · Confirming"
		page.HeadingKo = "등록 요청을 받았습니다. 확인을 마치는 중입니다."
		page.HeadingEn = "We received your registration and are still confirming it."
		page.TextKo = "지금은 등록 여부를 바로 확인하지 못했습니다. 등록이 되었다면 구독이 자동으로 확인한 뒤 첫 결제를 진행합니다. 잠시 후에도 구독이 시작되지 않으면 다시 시도해 주세요."
		page.TextEn = "The registration could not be confirmed right now. If it went through, the subscription confirms it by itself and the first charge follows; if nothing happens in a while, please try again."
		page.RetryLink = retry
	case OutcomeFailed:
		texts, ok := failureTexts[res.Reason]
		if !ok {
			texts = failureTexts[reasonInvalid]
		}
		page.Title = "등록 실패 · Not registered"
		page.HeadingKo = "등록하지 못했습니다."
		page.HeadingEn = "The registration did not go through."
		page.TextKo, page.TextEn = texts[0], texts[1]
		page.ErrorMsg = res.ErrorMsg
		if res.Reason != reasonNoSub {
			page.RetryLink = retry
		}
	default:
		s.renderMessage(w, http.StatusBadRequest, messagePage{
			HeadingKo: "잘못된 요청입니다.", HeadingEn: "Bad request.",
			TextKo: "등록 결과를 알 수 없습니다.", TextEn: "There is no registration result to show.",
		})
		return
	}
	s.renderResultPage(w, http.StatusOK, page)
}

func (s *Server) renderResultPage(w http.ResponseWriter, status int, page resultPage) {
	s.render(w, status, "result.html", page)
}

// renderResult shows a result directly (without a redirect), for requests too broken to
// redirect.
func (s *Server) renderResult(w http.ResponseWriter, status int, res regResult) {
	texts := failureTexts[res.Reason]
	if texts[0] == "" {
		texts = failureTexts[reasonInvalid]
	}
	s.renderResultPage(w, status, resultPage{
		Title:     "등록 실패 · Not registered",
		Outcome:   res.Outcome,
		HeadingKo: "등록하지 못했습니다.",
		HeadingEn: "The registration did not go through.",
		TextKo:    texts[0],
		TextEn:    texts[1],
		ErrorMsg:  res.ErrorMsg,
	})
}
