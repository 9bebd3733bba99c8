// Package nofollow is the project's redirect policy for outbound HTTP: a 3xx answer is the
// answer, never followed. Following a redirect turns a POST into a GET without its body (301,
// 302, 303), re-sends signed or authorised headers to a URL the server chose, and reports the
// target's status as if the configured URL had given it: an event "delivered" that never arrived,
// a probe "healthy" because a login page answered. Every http.Client the project builds sets its
// CheckRedirect on purpose (internal/archtest enforces it); this package is the shared way to say
// "never". (portone and portone/portonetest depend on the standard library only and spell the
// same policy out themselves.)
package nofollow

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CheckRedirect is an http.Client.CheckRedirect that never follows: the client returns the 3xx
// response itself, with its Location header, as the answer.
func CheckRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Client returns a client with the given overall timeout (0: none) that never follows redirects.
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: CheckRedirect}
}

// Strict returns a shallow copy of hc (nil: http.Client's defaults) whose redirect policy is
// CheckRedirect, whatever hc's was: for code that accepts a caller's client but must count only
// the configured URL's own answer.
func Strict(hc *http.Client) *http.Client {
	c := &http.Client{CheckRedirect: CheckRedirect}
	if hc != nil {
		*c = *hc
		c.CheckRedirect = CheckRedirect
	}
	return c
}

// Describe says how res answered, naming a redirect's target: "302 Found, a redirect not
// followed (Location: /elsewhere)". The Location loses its query, fragment and user info, which may
// carry a token.
func Describe(res *http.Response) string {
	s := res.Status
	if s == "" {
		s = fmt.Sprintf("%d %s", res.StatusCode, http.StatusText(res.StatusCode))
	}
	if res.StatusCode < 300 || res.StatusCode > 399 {
		return s
	}
	loc := res.Header.Get("Location")
	if loc == "" {
		return s + ", a redirect not followed (no Location)"
	}
	return s + ", a redirect not followed (Location: " + Redact(loc) + ")"
}

// Redact drops a URL's query, fragment and user info, which may carry a token, and bounds its
// length (the text is a receiver's choice).
func Redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "//"); j >= 0 && j < i {
			u = u[:j+2] + u[i+1:]
		}
	}
	const maxLen = 200
	if len(u) > maxLen {
		u = u[:maxLen] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, u)
}
