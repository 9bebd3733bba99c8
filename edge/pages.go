package edge

import (
	"bytes"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/calendar"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds the parsed HTML templates. html/template escapes every value for its context
// (HTML, attribute, URL, JavaScript), which matters here: NaverPay's error_msg and every
// query parameter end up in pages.
type pages struct {
	t *template.Template
}

func loadPages() (*pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("edge: parse page templates: %w", err)
	}
	return &pages{t: t}, nil
}

// render writes a page; it renders into a buffer first so that a template error becomes a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.t.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("page template failed", zap.String("template", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messagePage is a page that only says something, in Korean first and English second.
type messagePage struct {
	Title     string
	HeadingKo string
	HeadingEn string
	TextKo    string
	TextEn    string
	Link      string
	LinkText  string
}

func (s *Server) renderMessage(w http.ResponseWriter, status int, p messagePage) {
	if p.Title == "" {
		p.Title = p.HeadingKo
	}
	s.render(w, status, "message.html", p)
}

// intervalKo describes a billing interval in Korean: "매월", "3개월마다", "30초마다".
func intervalKo(iv calendar.Interval) string {
	every := map[calendar.Unit]string{calendar.Day: "매일", calendar.Week: "매주", calendar.Month: "매월", calendar.Year: "매년"}
	unit := map[calendar.Unit]string{
		calendar.Day: "일", calendar.Week: "주", calendar.Month: "개월", calendar.Year: "년",
		calendar.Minute: "분", calendar.Second: "초",
	}
	if iv.Count <= 1 {
		if e, ok := every[iv.Unit]; ok {
			return e
		}
	}
	n := iv.Count
	if n < 1 {
		n = 1
	}
	if u, ok := unit[iv.Unit]; ok {
		return strconv.Itoa(n) + u + "마다"
	}
	return iv.String()
}

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of [a-z0-9] from crypto/rand. It is used for registration
// nonces (a merchant_uid can never be reused at PortOne) and for pre-filled demo IDs.
func randomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
		for _, b := range buf {
			// 252 = 7*36: rejecting the rest keeps every character equally likely.
			if b < 252 && len(out) < n {
				out = append(out, lowerAlnum[int(b)%len(lowerAlnum)])
			}
		}
	}
	return string(out)
}
