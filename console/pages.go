package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

//go:embed templates/*.html
var templateFS embed.FS

// staticFS serves /static/...: the stylesheet, embedded in the binary.
//
//go:embed static
var staticFS embed.FS

// pages holds the parsed templates. html/template escapes every value for its context: buyer
// names, decline reasons and audit details are data from outside.
type pages struct {
	t *template.Template
}

func loadPages() (*pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"won":      func(n int64) string { return textfmt.FormatKRW(n) + "원" },
		"kst":      kst,
		"kstDay":   kstDay,
		"statusKo": statusKo,
		"pct":      func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		"signed": func(n int64) string {
			if n > 0 {
				return "+" + textfmt.FormatKRW(n) + "원"
			}
			return textfmt.FormatKRW(n) + "원"
		},
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse page templates: %w", err)
	}
	return &pages{t: t}, nil
}

// frame is what every page's layout needs besides its own data.
type frame struct {
	Title    string
	Login    string
	CSRF     string
	Operator bool
	PII      bool
	Nav      string
	P        any
}

// titled is implemented by page data that names its page.
type titled interface{ title() string }

// render writes a page into a buffer first, so that a template error is a clean 500 rather
// than half a page.
func (s *Server) render(w http.ResponseWriter, _ *http.Request, ss *session, status int, name string, data any) {
	f := frame{P: data}
	if t, ok := data.(titled); ok {
		f.Title = t.title()
	}
	if nav, ok := data.(interface{ nav() string }); ok {
		f.Nav = nav.nav()
	}
	if ss != nil {
		f.Login, f.CSRF, f.Operator, f.PII = ss.Login, ss.CSRF, ss.has(RoleOperator), ss.has(RolePII)
	}
	var buf bytes.Buffer
	if err := s.pages.t.ExecuteTemplate(&buf, name, f); err != nil {
		s.log.Error("console: page template failed", zap.String("template", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messagePage is a page that only says something, Korean first and English second.
type messagePage struct {
	HeadingKo string
	HeadingEn string
	TextKo    string
	TextEn    string
	Link      string
	LinkText  string
}

func (p messagePage) title() string { return p.HeadingKo + " · " + p.HeadingEn }

func (s *Server) renderMessage(w http.ResponseWriter, r *http.Request, ss *session, status int, p messagePage) {
	s.render(w, r, ss, status, "message.html", p)
}

func (p loginPage) title() string { return p.Title }

// kst formats an instant in Seoul time; "" for none.
func kst(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.Seoul).Format("2006-01-02 15:04 KST")
}

func kstDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.Seoul).Format("2006-01-02")
}

// statusNames name statuses for staff, Korean and English.
var statusNames = map[billing.Status][2]string{
	billing.StatusAwaitingRegistration:  {"결제 수단 등록 대기", "Awaiting registration"},
	billing.StatusActive:                {"이용 중", "Active"},
	billing.StatusPastDue:               {"연체 (재시도 중)", "Past due"},
	billing.StatusPaymentMethodRequired: {"결제 수단 변경 필요", "Payment method required"},
	billing.StatusPaused:                {"일시 정지", "Paused"},
	billing.StatusCanceled:              {"해지됨", "Canceled"},
	billing.StatusExpired:               {"만료됨", "Expired"},
}

func statusKo(st billing.Status) string {
	if n, ok := statusNames[st]; ok {
		return n[0]
	}
	return string(st)
}

func statusEn(st billing.Status) string {
	if n, ok := statusNames[st]; ok {
		return n[1]
	}
	return string(st)
}
