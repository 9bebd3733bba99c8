package edge

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// The self-service page's choices. 일반해지 and 중도해지 are always offered together (the FTC
// fined Melon for offering only the first); the full refund only where the merchant enabled it.
const (
	optionEnd  = "end"  // 일반해지: cancel at period end, access until paid-through, no refund
	optionNow  = "now"  // 중도해지: cancel now, pro-rata refund of the unused days
	optionFull = "full" // cancel now with a full refund, within Config.FullRefundDays of the charge
)

// formTTL is how long a confirmation page can be submitted. The nonce in it is the cancel's
// idempotency key; after an hour a stale tab should be reopened (showing fresh amounts) rather
// than submitted.
const formTTL = time.Hour

// formMACDomain separates the confirmation form's MAC from every other MAC of the link secret.
const formMACDomain = "cancel-form"

// maxChargeRows bounds the payment history shown: a yearly subscriber of ten years is still one
// screen.
const maxChargeRows = 24

// cancelReason is one of the reasons offered; the customer may type one instead ("other").
type cancelReason struct {
	Code string
	Ko   string
	En   string
}

// cancelReasons are offered on the confirmation page. The Korean text is what the workflow
// records and PortOne (NaverPay's review) sees: the real reason, in the customer's words.
var cancelReasons = []cancelReason{
	{"not_using", "더 이상 이용하지 않아요", "I no longer use it"},
	{"too_expensive", "가격이 부담돼요", "It costs too much"},
	{"switching", "다른 서비스로 옮겨요", "I am moving to another service"},
	{"break", "잠시 쉬었다가 다시 이용할게요", "I am taking a break"},
	{"other", "기타 (직접 입력)", "Other (type it below)"},
}

// selfServiceView is what the page knows about a subscription, computed from its state by the
// workflow's own rules.
type selfServiceView struct {
	st billing.State
	// paid is the current period's paid charge, nil when it has none (past due, not started).
	paid *billing.ChargeRecord
	// refunded is what was already refunded of paid.
	refunded int64
	// prorata is the refund of a cancel now: exactly workflows.refundForCancel's amount.
	prorata int64
	// full is the refund of a full-refund cancel; fullOK says whether it is offered.
	full   int64
	fullOK bool
	// credit is the credit pending for the next charges, refunded on every ending (a cancel at
	// period end too); prorata and full include it.
	credit int64
}

// viewOf applies the workflow's refund rule (billing.State.EndRefund, which workflows/refund.go
// carries out): what the current period is worth (its paid charge plus its credit), refunded
// pro rata with calendar.UnusedRefund at now, less what was refunded already, and the credit
// still pending.
// The amount shown is therefore the amount the workflow refunds, unless the KST day (or, for
// second and minute demo plans, the second) turns between showing and confirming; the result
// page shows the workflow's own figure from the update's receipt either way.
func (s *Server) viewOf(st billing.State, now time.Time) selfServiceView {
	v := selfServiceView{st: st}
	if st.CurrentPeriod == nil {
		return v
	}
	period := *st.CurrentPeriod
	for i := len(st.Charges) - 1; i >= 0; i-- {
		if c := st.Charges[i]; c.Cycle == period.Cycle && c.Outcome == billing.OutcomePaid {
			v.paid = &c
			break
		}
	}
	if v.paid != nil {
		for _, f := range st.Refunds {
			if f.PaymentKey() == v.paid.PaymentKey() && f.Counts() {
				v.refunded += f.Amount
			}
		}
	}
	// The workflow's own rule (billing.State.EndRefund: CancelRefund, then the credit still
	// pending): a period paid partly or wholly by credit is refunded on what it is worth, and a
	// credit waiting for the next charges is paid back whenever the subscription ends.
	sum := func(shares []billing.RefundShare) int64 {
		var n int64
		for _, sh := range shares {
			n += sh.Amount
		}
		return n
	}
	v.prorata = sum(st.EndRefund(billing.RefundProrata, now))
	v.full = sum(st.EndRefund(billing.RefundFull, now))
	v.credit = sum(st.PendingCreditRefund())
	if v.paid == nil {
		return v
	}
	days := time.Duration(s.cfg.FullRefundDays) * 24 * time.Hour
	v.fullOK = s.cfg.FullRefundDays > 0 && v.refunded == 0 && v.full > 0 && now.Sub(v.paid.At) < days && now.Before(period.End)
	return v
}

// ended reports whether nothing is left to cancel: ended, or a cancel at period end pending.
func (v selfServiceView) ended() bool { return v.st.Status.Terminal() || v.st.PendingCancel != nil }

// canCancelAtEnd reports whether 일반해지 means what it says. A paused or not yet registered
// subscription has no running period: the workflow cancels it at once whatever "when" says.
func (v selfServiceView) canCancelAtEnd() bool {
	switch v.st.Status {
	case billing.StatusActive, billing.StatusPastDue, billing.StatusPaymentMethodRequired:
		return true
	}
	return false
}

// optionCard is one choice on the page, the same markup and style for each, so that none is
// more prominent than another.
type optionCard struct {
	Option     string
	TitleKo    string
	TitleEn    string
	TextKo     string
	TextEn     string
	RefundKo   string
	RefundEn   string
	Refund     int64
	ConfirmURL string
	ButtonKo   string
	ButtonEn   string
}

// chargeRow is one line of the payment history.
type chargeRow struct {
	Date     string
	Kind     string // "charge" or "refund"
	LabelKo  string
	LabelEn  string
	AmountKo string
	AmountEn string
}

// managePage is the data of GET /manage/{token} and of the pages after it.
type managePage struct {
	Title      string
	PlanName   string
	AmountKo   string
	AmountEn   string
	IntervalKo string
	IntervalEn string
	Status     string
	StatusKo   string
	StatusEn   string
	// PaidThrough and NextCharge are formatted KST times, "" when there is none.
	PaidThrough string
	NextCharge  string
	TotalPaidKo string
	TotalPaidEn string
	Rows        []chargeRow
	RowsOmitted int
	// Ended, with EndedKo/EndedEn, replaces the options when nothing is left to cancel.
	Ended    bool
	EndedKo  string
	EndedEn  string
	NoteKo   string
	NoteEn   string
	Options  []optionCard
	Outcome  string // the result page's data-outcome
	RefundKo string
	RefundEn string
	Refund   int64
	// RefundRequested: PortOne has the refund as asked for and has not confirmed it yet (a V2
	// cancel still REQUESTED); the page says so.
	RefundRequested bool
}

// confirmPage is the data of GET /manage/{token}/confirm: the one confirmation step.
type confirmPage struct {
	Title    string
	PlanName string
	Card     optionCard
	Reasons  []cancelReason
	Reason   string
	Other    string
	Error    string
	Action   string
	Back     string
	Nonce    string
	Issued   string
	MAC      string
}

// statusTexts name statuses for customers.
var statusTexts = map[billing.Status][2]string{
	billing.StatusAwaitingRegistration:  {"결제 수단 등록 전", "Waiting for a payment method"},
	billing.StatusActive:                {"이용 중", "Active"},
	billing.StatusPastDue:               {"결제 실패 (재시도 중)", "Payment failed (retrying)"},
	billing.StatusPaymentMethodRequired: {"결제 수단 변경 필요", "New payment method needed"},
	billing.StatusPaused:                {"일시 정지", "Paused"},
	billing.StatusCanceled:              {"해지됨", "Canceled"},
	billing.StatusExpired:               {"만료됨", "Expired"},
}

func kst(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.Seoul).Format("2006-01-02 15:04 KST")
}

func won(n int64) (ko, en string) { return textfmt.FormatKRW(n) + "원", "KRW " + textfmt.FormatKRW(n) }

// managePageOf builds the overview: plan, payments, next charge, and the choices.
func (s *Server) managePageOf(v selfServiceView, token string) managePage {
	st := v.st
	p := managePage{
		Title:      "구독 관리 · Manage your subscription",
		PlanName:   st.Plan.Name,
		IntervalKo: intervalKo(st.Plan.Interval),
		IntervalEn: st.Plan.Interval.String(),
		Status:     string(st.Status),
	}
	p.AmountKo, p.AmountEn = won(st.Plan.Amount)
	texts, ok := statusTexts[st.Status]
	if !ok {
		texts = [2]string{string(st.Status), string(st.Status)}
	}
	p.StatusKo, p.StatusEn = texts[0], texts[1]
	// Both from the one source the workflow's answers, events and search attributes use: no
	// next charge after a cancel at period end or while paused, no "paid through" past a
	// 중도해지 or a full refund.
	p.PaidThrough = kst(st.PaidUntil())
	p.NextCharge = kst(st.NextCharge())
	var total int64
	var rows []chargeRow
	for _, c := range st.Charges {
		if c.Outcome != billing.OutcomePaid {
			continue
		}
		total += c.Amount
		r := chargeRow{Date: kst(c.At), Kind: "charge", LabelKo: fmt.Sprintf("%d회차 결제", c.Cycle), LabelEn: fmt.Sprintf("Charge, cycle %d", c.Cycle)}
		r.AmountKo, r.AmountEn = won(c.Amount)
		rows = append(rows, r)
	}
	for _, f := range st.Refunds {
		r := chargeRow{Date: kst(f.At), Kind: "refund", LabelKo: fmt.Sprintf("%d회차 환불", f.Cycle), LabelEn: fmt.Sprintf("Refund, cycle %d", f.Cycle)}
		switch f.Outcome {
		case billing.RefundRequested:
			// Asked for, not given back yet: shown, not taken off the total until PortOne
			// confirms it.
			r.Kind = "refund requested"
			r.LabelKo += " (요청됨, 아직 확인되지 않음)"
			r.LabelEn += " (requested, not yet confirmed)"
		case billing.RefundFailed:
			r.Kind = "refund failed"
			r.LabelKo += " (실패, 환불되지 않음)"
			r.LabelEn += " (failed, not refunded)"
		default:
			total -= f.Amount
		}
		r.AmountKo, r.AmountEn = won(-f.Amount)
		rows = append(rows, r)
	}
	// Refunds come after the charges they refund; sort by time, bounded by the state's own
	// limits (MaxChargeRecords), newest last.
	sortRows(rows)
	if len(rows) > maxChargeRows {
		p.RowsOmitted = len(rows) - maxChargeRows
		rows = rows[len(rows)-maxChargeRows:]
	}
	p.Rows = rows
	p.TotalPaidKo, p.TotalPaidEn = won(total)

	switch {
	case st.Status.Terminal():
		p.Ended = true
		p.EndedKo = "이미 해지된 구독입니다. 더 이상 결제되지 않습니다."
		p.EndedEn = "This subscription has already ended. Nothing more will be charged."
		if st.Status == billing.StatusExpired {
			p.EndedKo = "종료된 구독입니다. 결제된 적이 없으며 더 이상 결제되지 않습니다."
			p.EndedEn = "This subscription ended before it started. Nothing will be charged."
		}
	case st.PendingCancel != nil:
		p.Ended = true
		p.EndedKo = "해지가 예약되어 있습니다. " + p.PaidThrough + "까지 이용할 수 있고, 이후 결제되지 않습니다."
		p.EndedEn = "A cancellation is already scheduled: you keep access until " + p.PaidThrough + " and nothing more will be charged."
	default:
		p.Options = s.optionCards(v, token)
		if !v.canCancelAtEnd() {
			p.NoteKo = "현재 이용 기간이 진행 중이 아니므로 해지는 바로 적용됩니다."
			p.NoteEn = "No billing period is running, so a cancellation takes effect at once."
		}
	}
	return p
}

func sortRows(rows []chargeRow) {
	// Insertion sort: at most MaxChargeRecords plus the refunds, and already nearly sorted.
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].Date < rows[j-1].Date; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// optionCards are the choices a subscription that can still be canceled gets.
func (s *Server) optionCards(v selfServiceView, token string) []optionCard {
	confirm := func(option string) string {
		return s.link(signedlink.Manage.Route()+token+"/confirm") + "?" + url.Values{"option": {option}}.Encode()
	}
	var cards []optionCard
	end := optionCard{
		Option:     optionEnd,
		TitleKo:    "일반해지",
		TitleEn:    "Cancel at the end of the period",
		ConfirmURL: confirm(optionEnd),
		ButtonKo:   "일반해지 선택",
		ButtonEn:   "Choose",
	}
	refundKo, refundEn := " 환불은 없습니다.", " No refund."
	if v.credit > 0 {
		ko, en := won(v.credit)
		refundKo = " 아직 쓰지 않은 크레딧 " + ko + "은 해지 시 환불됩니다."
		refundEn = " The credit not yet used (" + en + ") is refunded when it ends."
	}
	if v.canCancelAtEnd() && !v.st.PaidUntil().IsZero() && (v.paid != nil || (v.st.CurrentPeriod != nil && v.st.CurrentPeriod.Credit > 0)) {
		paidThrough := kst(v.st.PaidUntil())
		end.TextKo = paidThrough + "까지 지금처럼 이용하고, 다음 결제부터 청구되지 않습니다." + refundKo
		end.TextEn = "Keep using it until " + paidThrough + "; nothing more is charged." + refundEn
	} else {
		end.TextKo = "더 이상 결제되지 않습니다." + refundKo
		end.TextEn = "Nothing more is charged." + refundEn
	}
	end.Refund = v.credit
	end.RefundKo, end.RefundEn = won(v.credit)
	cards = append(cards, end)

	now := optionCard{
		Option:     optionNow,
		TitleKo:    "중도해지",
		TitleEn:    "Cancel now with a pro-rata refund",
		TextKo:     "지금 바로 해지되고 이용이 끝납니다. 남은 기간만큼 일할 계산하여 환불합니다.",
		TextEn:     "Ends now, and access ends now. The unused days are refunded pro rata.",
		Refund:     v.prorata,
		ConfirmURL: confirm(optionNow),
		ButtonKo:   "중도해지 선택",
		ButtonEn:   "Choose",
	}
	now.RefundKo, now.RefundEn = won(v.prorata)
	cards = append(cards, now)

	if v.fullOK {
		full := optionCard{
			Option:  optionFull,
			TitleKo: "전액 환불 해지",
			TitleEn: "Cancel now with a full refund",
			TextKo: fmt.Sprintf("최근 결제일로부터 %d일 이내이므로, 지금 해지하면 이번 결제 금액 전액을 환불합니다. 이용은 지금 끝납니다.",
				s.cfg.FullRefundDays),
			TextEn: fmt.Sprintf("Within %d days of the last charge: cancel now and get that charge back in full. Access ends now.",
				s.cfg.FullRefundDays),
			Refund:     v.full,
			ConfirmURL: confirm(optionFull),
			ButtonKo:   "전액 환불 해지 선택",
			ButtonEn:   "Choose",
		}
		full.RefundKo, full.RefundEn = won(v.full)
		cards = append(cards, full)
	}
	return cards
}

// loadSubscription verifies a manage link and reads the subscription's state, answering the
// request itself when either fails. ok is false when the answer was written.
func (s *Server) loadSubscription(w http.ResponseWriter, r *http.Request) (signedlink.Link, billing.State, bool) {
	l, ok := s.verifyLink(w, r, signedlink.Manage)
	if !ok {
		return l, billing.State{}, false
	}
	st, err := s.queryState(r.Context(), l.SubscriptionID)
	if err != nil {
		s.renderQueryFailure(w, l.SubscriptionID, err)
		return l, st, false
	}
	return l, st, true
}

// handleManagePage is GET /manage/{token}: what the customer has, what they paid, what comes
// next, and the ways out side by side.
func (s *Server) handleManagePage(w http.ResponseWriter, r *http.Request) {
	_, st, ok := s.loadSubscription(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "manage.html", s.managePageOf(s.viewOf(st, s.now()), r.PathValue("token")))
}

// cardFor returns the card of option for v, false when the option is not on offer.
func (s *Server) cardFor(v selfServiceView, token, option string) (optionCard, bool) {
	for _, c := range s.optionCards(v, token) {
		if c.Option == option {
			return c, true
		}
	}
	return optionCard{}, false
}

// formMessage is what the confirmation form's MAC covers: the link, the choice, the nonce and
// when it was issued. The choice is inside so that a form for 일반해지 cannot be posted as a full
// refund.
func formMessage(token, option, nonce, issued string) string {
	return token + "\n" + option + "\n" + nonce + "\n" + issued
}

// handleManageConfirm is GET /manage/{token}/confirm?option=…: the one confirmation step. It
// restates the choice and the refund, asks for the reason, and carries a fresh nonce whose
// MAC ties it to this link and this choice.
func (s *Server) handleManageConfirm(w http.ResponseWriter, r *http.Request) {
	_, st, ok := s.loadSubscription(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	v := s.viewOf(st, s.now())
	if v.ended() {
		s.render(w, http.StatusOK, "manage.html", s.managePageOf(v, token))
		return
	}
	card, ok := s.cardFor(v, token, r.URL.Query().Get("option"))
	if !ok {
		s.renderMessage(w, http.StatusBadRequest, messagePage{
			HeadingKo: "선택할 수 없는 해지 방법입니다.", HeadingEn: "That cancellation option is not available.",
			Link: s.link(signedlink.Manage.Route() + token), LinkText: "구독 관리로 돌아가기 · Back",
		})
		return
	}
	nonce := randomString(20)
	s.render(w, http.StatusOK, "manage-confirm.html", s.confirmPageOf(st, token, card, nonce, strconv.FormatInt(s.now().Unix(), 10)))
}

func (s *Server) confirmPageOf(st billing.State, token string, card optionCard, nonce, issued string) confirmPage {
	return confirmPage{
		Title:    card.TitleKo + " 확인 · Confirm",
		PlanName: st.Plan.Name,
		Card:     card,
		Reasons:  cancelReasons,
		Action:   s.link(signedlink.Manage.Route() + token + "/cancel"),
		Back:     s.link(signedlink.Manage.Route() + token),
		Nonce:    nonce,
		Issued:   issued,
		MAC:      base64.RawURLEncoding.EncodeToString(s.keys.MAC(formMACDomain, formMessage(token, card.Option, nonce, issued))),
	}
}

// requestIDFor derives the cancel's request_id from the link and the form's nonce: every
// submit of one confirmation page (a double click, a reload that re-posts, a retry after a
// timeout) is the same request, which the workflow applies once.
func requestIDFor(token, nonce string) string {
	h := sha256.Sum256([]byte("self-service-cancel\n" + token + "\n" + nonce))
	return "self-" + hex.EncodeToString(h[:12])
}

// sameOrigin is the CSRF check's second half (the first is the form MAC): a browser that says
// where the form came from must say the edge. Browsers send Origin on every cross-site POST.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // older browsers and non-browser clients; the MAC still binds the form
	}
	pub, err := url.Parse(s.cfg.PublicURL)
	if err != nil {
		return false
	}
	return origin == pub.Scheme+"://"+pub.Host
}

// handleManageCancel is POST /manage/{token}/cancel: it checks the form, sends the cancel
// update (requester customer) with the form's request_id, and shows what happened. A second
// submit of the same form shows the same result and cancels nothing more.
func (s *Server) handleManageCancel(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	l, ok := s.verifyLink(w, r, signedlink.Manage)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderMessage(w, http.StatusBadRequest, messagePage{HeadingKo: "잘못된 요청입니다.", HeadingEn: "Bad request.", TextEn: "The form could not be read."})
		return
	}
	form := r.PostForm
	option, nonce, issued := form.Get("option"), form.Get("nonce"), form.Get("issued")
	mac, _ := base64.RawURLEncoding.DecodeString(form.Get("mac"))
	back := s.link(signedlink.Manage.Route() + token)
	if !s.sameOrigin(r) || !s.keys.CheckMAC(formMACDomain, formMessage(token, option, nonce, issued), mac) {
		s.log.Warn("self-service cancel refused: the form is not one this edge issued", zap.String("route", routeOf(r)))
		s.renderMessage(w, http.StatusForbidden, messagePage{
			HeadingKo: "확인할 수 없는 요청입니다.", HeadingEn: "This request could not be verified.",
			TextKo: "구독 관리 페이지에서 다시 시도해 주세요.", TextEn: "Please start again from the subscription page.",
			Link: back, LinkText: "구독 관리로 돌아가기 · Back",
		})
		return
	}
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil || s.now().Sub(time.Unix(at, 0)) > formTTL {
		s.renderMessage(w, http.StatusGone, messagePage{
			HeadingKo: "확인 페이지가 오래되었습니다.", HeadingEn: "This confirmation page is out of date.",
			TextKo: "최신 금액을 보여 드리기 위해 구독 관리 페이지를 다시 열어 주세요. 아무것도 변경되지 않았습니다.",
			TextEn: "Please reopen the subscription page so that it shows current amounts. Nothing was changed.",
			Link:   back, LinkText: "구독 관리로 돌아가기 · Back",
		})
		return
	}
	reqID := requestIDFor(token, nonce)
	// A form already answered (the second click of a double click, a re-post) gets the same
	// page, before anything else is asked of Temporal.
	if p, ok := s.cancels.result(reqID); ok {
		s.render(w, http.StatusOK, "manage-done.html", p)
		return
	}
	st, err := s.queryState(r.Context(), l.SubscriptionID)
	if err != nil {
		s.renderQueryFailure(w, l.SubscriptionID, err)
		return
	}
	v := s.viewOf(st, s.now())
	if v.ended() {
		s.render(w, http.StatusOK, "manage-done.html", s.donePageFromState(v, token))
		return
	}
	card, ok := s.cardFor(v, token, option)
	if !ok {
		// The choice was on offer when the page was shown and is not now (the full-refund
		// window closed): say so rather than cancel differently from what was confirmed.
		s.renderMessage(w, http.StatusConflict, messagePage{
			HeadingKo: "이 해지 방법은 더 이상 선택할 수 없습니다.", HeadingEn: "This option is no longer available.",
			TextKo: "아무것도 변경되지 않았습니다. 구독 관리 페이지에서 다시 선택해 주세요.",
			TextEn: "Nothing was changed. Please choose again on the subscription page.",
			Link:   back, LinkText: "구독 관리로 돌아가기 · Back",
		})
		return
	}
	req := billing.CancelRequest{RequestID: reqID, Requester: billing.RequesterCustomer, Reason: reasonFrom(form)}
	switch option {
	case optionEnd:
		req.When, req.Refund = billing.AtPeriodEnd, billing.RefundNone
	case optionNow:
		req.When, req.Refund = billing.Now, billing.RefundProrata
	case optionFull:
		req.When, req.Refund = billing.Now, billing.RefundFull
	}
	req.Normalize()
	if err := req.Validate(); err != nil {
		// The same rules the workflow applies, so the customer hears about a bad reason here,
		// with the form as they filled it and the same nonce (still the same request).
		page := s.confirmPageOf(st, token, card, nonce, issued)
		page.Reason, page.Other = form.Get("reason"), form.Get("reason_other")
		page.Error = reasonError(err)
		s.render(w, http.StatusBadRequest, "manage-confirm.html", page)
		return
	}
	p, status := s.cancels.do(reqID, func() (managePage, int) { return s.sendCancel(r.Context(), l.SubscriptionID, token, req, card) })
	s.render(w, status, "manage-done.html", p)
}

// reasonFrom is the reason the customer picked, or typed under "other".
func reasonFrom(form url.Values) string {
	code := form.Get("reason")
	if code == "other" {
		return form.Get("reason_other")
	}
	for _, r := range cancelReasons {
		if r.Code == code && code != "other" {
			return r.Ko
		}
	}
	return ""
}

// reasonError explains a refused reason in both languages; only the reason is the customer's
// input, everything else on the form is the edge's own.
func reasonError(err error) string {
	var ie *billing.InputError
	if errors.As(err, &ie) && ie.Field == "reason" {
		if strings.Contains(ie.Reason, "required") {
			return "해지 사유를 선택하거나 입력해 주세요. / Please pick or type a reason."
		}
		return fmt.Sprintf("해지 사유를 %d자 이내의 일반 문자로 입력해 주세요. / Please keep the reason to %d plain characters. (%s)",
			billing.MaxReasonRunes, billing.MaxReasonRunes, ie.Reason)
	}
	return "요청을 처리할 수 없습니다. / The request could not be processed: " + err.Error()
}

// sendCancel sends the cancel update and turns its answer into the result page.
func (s *Server) sendCancel(ctx context.Context, subscriptionID, token string, req billing.CancelRequest, card optionCard) (managePage, int) {
	// The browser may give up (a double click cancels the first navigation); the cancel it
	// asked for must still finish and be remembered for the second submit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CancelTimeout)
	defer cancel()
	workflowID := billing.WorkflowID(subscriptionID)
	log := s.log.With(zap.String("workflow_id", workflowID), zap.String("request_id", req.RequestID), zap.String("option", card.Option))
	var receipt billing.Receipt
	h, err := s.wf.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: req.RequestID, UpdateName: billing.MsgCancel, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &receipt)
	}
	// A cancel now answered without the subscription ending was not this request's doing: a
	// cancel from another tab or a backend is already in flight ("a cancel is already in
	// progress"). Like a duplicate, the state then says what happened.
	inFlightElsewhere := err == nil && req.When == billing.Now && receipt.Status != billing.StatusCanceled
	if err == nil && !receipt.Duplicate && !inFlightElsewhere {
		log.Info("self-service cancel applied", zap.String("status", string(receipt.Status)), zap.Bool("refund", receipt.Refund != nil))
		return s.donePageFromReceipt(subscriptionID, receipt), http.StatusOK
	}
	// A duplicate (another replica took the first submit), a refusal (the subscription ended
	// or was canceled meanwhile) or a closed workflow: the state says what happened.
	var appErr *temporal.ApplicationError
	refused := errors.As(err, &appErr) && appErr.Type() == billing.ErrorTypeInvalidInput
	if err == nil || refused || isWorkflowNotFound(err) {
		if p, ok := s.settledPage(ctx, subscriptionID, token); ok {
			log.Info("self-service cancel: already settled", zap.Bool("duplicate", err == nil), zap.Bool("refused", refused))
			return p, http.StatusOK
		}
	}
	if refused {
		log.Warn("self-service cancel refused by the workflow", zap.Error(err))
		return managePage{
			Title: "해지하지 못했습니다 · Not canceled", Outcome: "refused",
			EndedKo: "해지를 처리하지 못했습니다. 구독 관리 페이지에서 다시 확인해 주세요.",
			EndedEn: "The cancellation was not accepted: " + appErr.Message(),
		}, http.StatusConflict
	}
	log.Error("self-service cancel: Temporal did not answer", zap.Error(err))
	return managePage{
		Title: "잠시 후 다시 시도해 주세요 · Try again", Outcome: "unavailable",
		EndedKo: "지금은 해지 요청을 확인할 수 없습니다. 같은 확인 페이지에서 다시 시도해도 두 번 해지되거나 두 번 환불되지 않습니다.",
		EndedEn: "The cancellation could not be confirmed right now. Submitting the same confirmation page again is safe: it never cancels or refunds twice.",
	}, http.StatusServiceUnavailable
}

// settledPage waits, bounded, for the state to show a cancel that took effect (a duplicate
// submit may arrive while the first one's refund is still at PortOne) and shows it.
func (s *Server) settledPage(ctx context.Context, subscriptionID, token string) (managePage, bool) {
	for i := 0; i < 20; i++ {
		st, err := s.queryState(ctx, subscriptionID)
		if err == nil {
			if v := s.viewOf(st, s.now()); v.ended() {
				return s.donePageFromState(v, token), true
			}
		}
		select {
		case <-ctx.Done():
			return managePage{}, false
		case <-time.After(250 * time.Millisecond):
		}
	}
	return managePage{}, false
}

// donePageFromReceipt is the result page of a cancel just applied; the refund is the
// workflow's own figure.
func (s *Server) donePageFromReceipt(_ string, receipt billing.Receipt) managePage {
	p := managePage{Title: "해지 완료 · Canceled"}
	var refund int64
	if receipt.Refund != nil {
		refund = receipt.Refund.Amount
		p.RefundRequested = receipt.Refund.Outcome == billing.RefundRequested
	}
	p.Refund = refund
	p.RefundKo, p.RefundEn = won(refund)
	if receipt.Status == billing.StatusCanceled {
		p.Outcome = "canceled"
		p.EndedKo = "구독이 해지되었습니다. 이용이 종료되었고 더 이상 결제되지 않습니다."
		p.EndedEn = "Your subscription is canceled. Access has ended and nothing more will be charged."
	} else {
		p.Outcome = "pending_cancel"
		p.Title = "해지 예약 완료 · Cancellation scheduled"
		p.EndedKo = "해지가 예약되었습니다. 이번 이용 기간이 끝날 때까지 이용할 수 있고, 이후 결제되지 않습니다."
		p.EndedEn = "Your cancellation is scheduled: you keep access until the end of the current period and nothing more will be charged."
		until := receipt.PaidThrough
		if until.IsZero() {
			// A worker before versionMoneyScreens answers the period's end as its next charge.
			until = receipt.NextChargeAt
		}
		if !until.IsZero() {
			p.PaidThrough = kst(until)
			p.EndedKo = "해지가 예약되었습니다. " + p.PaidThrough + "까지 이용할 수 있고, 이후 결제되지 않습니다."
			p.EndedEn = "Your cancellation is scheduled: you keep access until " + p.PaidThrough + " and nothing more will be charged."
		}
	}
	return p
}

// donePageFromState is the result page when the state, not a receipt, says what happened: a
// second submit answered elsewhere, or a subscription that had ended already. The refund shown
// is the last one the customer asked for on the current period.
func (s *Server) donePageFromState(v selfServiceView, token string) managePage {
	st := v.st
	p := s.managePageOf(v, token)
	p.Options = nil
	var refund int64
	for i := len(st.Refunds) - 1; i >= 0; i-- {
		if f := st.Refunds[i]; f.Requester == billing.RequesterCustomer {
			refund = f.Amount
			p.RefundRequested = f.Outcome == billing.RefundRequested
			break
		}
	}
	p.Refund = refund
	p.RefundKo, p.RefundEn = won(refund)
	if st.Status.Terminal() {
		p.Outcome = "canceled"
		p.Title = "이미 해지된 구독 · Already canceled"
	} else {
		p.Outcome = "pending_cancel"
		p.Title = "해지 예약됨 · Cancellation scheduled"
	}
	return p
}
