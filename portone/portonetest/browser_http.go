package portonetest

import (
	"cmp"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The browser stand-in's HTTP side: its routes, the iamport.js asset, the session endpoint,
// the window page and its buttons, and page rendering. The rules a request must pass and the
// registration itself are in browser.go.

//go:embed browser_assets/iamport.js
var iamportJS []byte

//go:embed browser_assets/*.html
var browserTemplateFS embed.FS

// browserTemplates renders every page with html/template, so everything a merchant page sent
// (product names, buyer fields) is escaped for its context.
var browserTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"won": formatWon,
}).ParseFS(browserTemplateFS, "browser_assets/*.html"))

// browserRoutes lists the stand-in's endpoints (the table at the top of this file).
func (e *Emulator) browserRoutes() []plainRoute {
	return append([]plainRoute{
		{"GET " + browserScriptPath, e.serveIamportJS},
		{"HEAD " + browserScriptPath, e.serveIamportJS},
		{"POST " + naverSessionPath, e.createNaverSession},
		{"OPTIONS " + naverSessionPath, corsPreflight},
		{"GET " + naverRegisterPath, e.naverWindow},
		{"POST " + naverRegisterPath, e.naverDecide},
	}, e.v2BrowserRoutes()...)
}

func (e *Emulator) serveIamportJS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(iamportJS)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(iamportJS)
	}
}

// setCORS lets a merchant page on any origin call the session endpoint. It carries no
// credentials and the emulator listens on loopback only, so a wildcard is enough.
func setCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func corsPreflight(w http.ResponseWriter, _ *http.Request) {
	setCORS(w)
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// sessionCreated is the answer of POST /__emulator/naverpay/session.
type sessionCreated struct {
	Success   bool   `json:"success"`
	SessionID string `json:"session_id"`
	WindowURL string `json:"window_url"`
	ExpiresAt int64  `json:"expires_at"`
}

// createNaverSession serves POST /__emulator/naverpay/session: iamport.js sends the
// request_pay parameters (plus imp_code and origin); the answer is the window's URL or the
// failure the callback should receive.
func (e *Emulator) createNaverSession(w http.ResponseWriter, r *http.Request) {
	setCORS(w)
	body, err := decodeBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, failedPay("", errCodeInvalidParameter, "요청 본문을 해석할 수 없습니다: "+err.Error()))
		return
	}
	p := newParams(body)
	s, fail := e.readNaverRequest(p, r.Header.Get("Origin"))
	if fail != nil {
		e.log.Info("naverpay window refused", slog.String("error_code", fail.errorCode()), slog.String("merchant_uid", fail.MerchantUID))
		writeJSON(w, http.StatusBadRequest, fail)
		return
	}
	e.mu.Lock()
	now := e.clock.Now()
	s.created = now
	if m := e.merchants[s.merchantKey]; m != nil && m.paidPaymentLocked(s.merchantUID) != nil {
		e.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, failedPay(s.merchantUID, errCodeMerchantUIDUsed, msgMerchantUIDUsed))
		return
	}
	e.storeSessionLocked(s, now)
	e.mu.Unlock()
	e.log.Info("naverpay window opened",
		slog.String("merchant", maskKey(s.merchantKey)), slog.String("customer_uid", s.customerUID),
		slog.String("merchant_uid", s.merchantUID), slog.Bool("popup", s.popup),
		slog.String("buyer_tel", maskTel(s.buyer.tel)), slog.String("buyer_email", maskEmail(s.buyer.email)))
	writeJSON(w, http.StatusCreated, sessionCreated{
		Success: true, SessionID: s.id,
		WindowURL: naverRegisterPath + "?session=" + url.QueryEscape(s.id),
		ExpiresAt: s.created.Add(naverSessionTTL).Unix(),
	})
}

// windowView is what window.html shows.
type windowView struct {
	SessionID   string
	Action      string
	IMPCode     string
	PGID        string
	Name        string
	Amount      int64
	TelMasked   string
	ProductCode string
	ChainID     string
	CustomerUID string
	Popup       bool
	ExpiresAt   string
}

// resultView is what result.html shows: the outcome of a popup window, posted to its opener,
// or an error page when there is nothing to report to.
type resultView struct {
	Title        string
	Detail       string
	Success      bool
	PostMessage  bool
	OpenerOrigin string
	Message      map[string]any
}

// naverWindow serves GET /__emulator/naverpay/register?session=ID: the stand-in for NaverPay's
// registration window.
func (e *Emulator) naverWindow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("session")
	e.mu.Lock()
	s := e.browser.sessions[id]
	if s == nil {
		e.mu.Unlock()
		e.renderNotFound(w)
		return
	}
	now := e.clock.Now()
	if now.Sub(s.created) > naverSessionTTL {
		delete(e.browser.sessions, id)
		e.mu.Unlock()
		e.finishWindow(w, r, s, failedPay(s.merchantUID, errCodeSessionExpired, msgSessionExpired))
		return
	}
	if q.Get("mode") == "redirect" && s.redirectURL != "" {
		// iamport.js could not open a popup and continues in the page's own window: the
		// result can only travel through m_redirect_url now.
		s.popup = false
	}
	view := windowView{
		SessionID: s.id, Action: naverRegisterPath, IMPCode: s.impCode, PGID: cmp.Or(s.pgID, defaultNaverPayMID),
		Name: s.name, Amount: s.amount, TelMasked: maskTel(s.buyer.tel), ProductCode: s.productCode,
		ChainID: s.chainID, CustomerUID: s.customerUID, Popup: s.popup,
		ExpiresAt: s.created.Add(naverSessionTTL).In(kst).Format("2006-01-02 15:04:05 KST"),
	}
	e.mu.Unlock()
	renderPage(w, http.StatusOK, "window.html", view)
}

// naverDecide serves POST /__emulator/naverpay/register: the window's two buttons.
func (e *Emulator) naverDecide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		e.renderResult(w, http.StatusBadRequest, resultView{Title: "요청을 해석할 수 없습니다 / Bad request", Detail: err.Error()})
		return
	}
	id, action := r.PostForm.Get("session"), r.PostForm.Get("action")
	if action != "agree" && action != "cancel" {
		e.renderResult(w, http.StatusBadRequest, resultView{Title: "알 수 없는 요청입니다 / Unknown action", Detail: "action must be agree or cancel"})
		return
	}
	b := &e.browser
	b.regMu.Lock()
	defer b.regMu.Unlock()

	e.mu.Lock()
	s := b.sessions[id]
	if s == nil {
		e.mu.Unlock()
		e.renderNotFound(w)
		return
	}
	// One decision per window: a second click or a replayed form finds nothing.
	delete(b.sessions, id)
	expired := e.clock.Now().Sub(s.created) > naverSessionTTL
	e.mu.Unlock()

	var rsp payResponse
	switch {
	case expired:
		rsp = failedPay(s.merchantUID, errCodeSessionExpired, msgSessionExpired)
	case action == "cancel":
		rsp = failedPay(s.merchantUID, errCodeUserCancel, msgUserCancelled)
	default:
		rsp = e.registerFromWindow(s)
	}
	if !rsp.ImpSuccess {
		e.log.Info("naverpay window failed", slog.String("customer_uid", s.customerUID),
			slog.String("merchant_uid", s.merchantUID), slog.String("error_code", rsp.errorCode()))
	}
	e.finishWindow(w, r, s, rsp)
}

// finishWindow reports the window's outcome: to the opener by postMessage in popup mode,
// otherwise by a 303 to m_redirect_url with imp_uid, merchant_uid and imp_success (plus
// error_code and error_msg on failure).
func (e *Emulator) finishWindow(w http.ResponseWriter, r *http.Request, s *naverSession, rsp payResponse) {
	if !s.popup && s.redirectURL != "" {
		target, err := redirectWithResult(s.redirectURL, rsp)
		if err == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
	}
	view := resultView{Success: rsp.ImpSuccess, PostMessage: s.popup && s.openerOrigin != "", OpenerOrigin: s.openerOrigin,
		Message: map[string]any{"type": naverMessageType, "session_id": s.id, "rsp": rsp}}
	if rsp.ImpSuccess {
		view.Title = "정기결제 등록이 완료되었습니다 / Registered"
		view.Detail = "이 창은 자동으로 닫힙니다. / This window closes by itself."
	} else {
		view.Title = rsp.errorMsg()
		view.Detail = rsp.errorCode()
	}
	e.renderResult(w, http.StatusOK, view)
}

// redirectWithResult adds PortOne's m_redirect_url parameters to base, keeping its own query
// and fragment.
func redirectWithResult(base string, rsp payResponse) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	impUID := ""
	if rsp.ImpUID != nil {
		impUID = *rsp.ImpUID
	}
	q.Set("imp_uid", impUID)
	q.Set("merchant_uid", rsp.MerchantUID)
	q.Set("imp_success", strconv.FormatBool(rsp.ImpSuccess))
	if !rsp.ImpSuccess {
		q.Set("error_code", rsp.errorCode())
		q.Set("error_msg", rsp.errorMsg())
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (e *Emulator) renderNotFound(w http.ResponseWriter) {
	e.renderResult(w, http.StatusNotFound, resultView{
		Title:  "결제 요청 정보를 찾을 수 없습니다 / Unknown or finished request",
		Detail: "이미 처리되었거나 존재하지 않는 요청입니다. 결제를 처음부터 다시 시도해주세요. (The session was already used, or never existed.)",
	})
}

func (e *Emulator) renderResult(w http.ResponseWriter, status int, v resultView) {
	renderPage(w, status, "result.html", v)
}

// renderPage writes an HTML page that may not be framed (the agree button must not be
// clickjacked) or cached, and leaks no URL (the session id) through Referer.
func renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf strings.Builder
	if err := browserTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "template error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self' http: https:")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// formatWon writes an amount with thousands separators, as Korean payment windows show it.
func formatWon(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
