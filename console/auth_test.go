package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/console"
)

// TestNoPageWithoutSession: every page redirects to the login, every form is refused, and
// nothing reaches Temporal.
func TestNoPageWithoutSession(t *testing.T) {
	e := newTestEnv(t, nil)
	e.wf.setState(activeState("sub-1"))
	b := e.browser()
	for _, path := range []string{"/", "/upcoming", "/queues/past_due", "/revenue", "/revenue.csv", "/subscriptions/sub-1",
		"/subscriptions/sub-1/confirm?action=cancel_now", "/subscriptions?id=sub-1", "/nowhere"} {
		status, loc, _ := b.get(path)
		require.Equal(t, http.StatusSeeOther, status, path)
		require.Equal(t, "/login?"+url.Values{"next": {path}}.Encode(), loc, path)
	}
	for _, path := range []string{"/subscriptions/sub-1/actions", "/logout"} {
		status, _, body := b.post(path, url.Values{"action": {"cancel_now"}, "nonce": {strings.Repeat("n", 30)}, "reason": {"x"}, "csrf": {"guess"}})
		require.Equal(t, http.StatusForbidden, status, path)
		contains(t, body, "Nothing was changed")
	}
	require.Empty(t, e.wf.sent())
	status, _, _ := b.get("/healthz")
	require.Equal(t, http.StatusOK, status, "health needs no session")
}

// TestLogin covers the password login's refusals and its redirect.
func TestLogin(t *testing.T) {
	e := newTestEnv(t, nil)
	tests := []struct {
		name       string
		login, pw  string
		token      func(page string) string
		next       string
		wantStatus int
		wantLoc    string
	}{
		{"right password", "kim", testPassword, nil, "/revenue", http.StatusSeeOther, "/revenue"},
		{"next elsewhere is ignored", "kim", testPassword, nil, "//evil.example/x", http.StatusSeeOther, "/"},
		{"wrong password", "kim", "nope nope nope", nil, "/", http.StatusUnauthorized, ""},
		{"unknown login", "park", testPassword, nil, "/", http.StatusUnauthorized, ""},
		{"no login-form token", "kim", testPassword, func(string) string { return "" }, "/", http.StatusForbidden, ""},
		{"forged login-form token", "kim", testPassword, func(string) string { return "AAAA" }, "/", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			_, _, page := b.get("/login")
			token := field(t, csrfField, page)
			if tt.token != nil {
				token = tt.token(page)
			}
			status, loc, body := b.post("/login", url.Values{"csrf": {token}, "login": {tt.login}, "password": {tt.pw}, "next": {tt.next}})
			require.Equal(t, tt.wantStatus, status, body)
			require.Equal(t, tt.wantLoc, loc)
			if tt.wantStatus != http.StatusSeeOther {
				status, _, _ = b.get("/upcoming")
				require.Equal(t, http.StatusSeeOther, status, "no session after a refused login")
			}
		})
	}
}

// TestSessionCookie: the cookie's attributes, a tampered value, idle and absolute expiry, and
// logout.
func TestSessionCookie(t *testing.T) {
	e := newTestEnv(t, func(c *console.Config) { c.SessionIdle = 10 * time.Minute; c.SessionMax = 30 * time.Minute })
	b := e.browser()
	_, _, page := b.get("/login")
	resp, err := b.http.PostForm(e.url+"/login", url.Values{"csrf": {field(t, csrfField, page)}, "login": {"kim"}, "password": {testPassword}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "paycycle_console" {
			sc = c
		}
	}
	require.NotNil(t, sc)
	require.True(t, sc.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, sc.SameSite)
	require.False(t, sc.Secure, "plain http on loopback")
	require.GreaterOrEqual(t, len(sc.Value), 40, "a random 256-bit ID")

	u, _ := url.Parse(e.url)
	cookies := b.http.Jar.Cookies(u)
	tampered := e.browser()
	for _, c := range cookies {
		if c.Name == "paycycle_console" {
			v := []byte(c.Value)
			v[5] ^= 1
			tampered.http.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: string(v)}})
		}
	}
	status, loc, _ := tampered.get("/")
	require.Equal(t, http.StatusSeeOther, status, "a tampered session ID is no session")
	require.True(t, strings.HasPrefix(loc, "/login"))

	status, _, _ = b.get("/upcoming")
	require.NotEqual(t, http.StatusSeeOther, status)
	e.clock.Add(9 * time.Minute)
	status, _, _ = b.get("/upcoming")
	require.NotEqual(t, http.StatusSeeOther, status, "used within the idle time")
	e.clock.Add(11 * time.Minute)
	status, _, _ = b.get("/upcoming")
	require.Equal(t, http.StatusSeeOther, status, "idle too long")

	b.login("kim")
	for i := 0; i < 4; i++ {
		e.clock.Add(8 * time.Minute)
		status, _, _ = b.get("/upcoming")
		if i < 3 {
			require.NotEqual(t, http.StatusSeeOther, status, "step %d", i)
		}
	}
	require.Equal(t, http.StatusSeeOther, status, "past the absolute lifetime")

	b.login("kim")
	status, _, _ = b.post("/logout", url.Values{"csrf": {"forged"}})
	require.Equal(t, http.StatusForbidden, status, "logout needs the token too")
	status, loc, _ = b.post("/logout", url.Values{"csrf": {b.csrf()}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/login", loc)
	status, _, _ = b.get("/upcoming")
	require.Equal(t, http.StatusSeeOther, status, "logged out")
}

// TestParseStaff: the configuration's errors name the entry and the field, never the hash.
func TestParseStaff(t *testing.T) {
	hash := "$2a$04$abcdefghijklmnopqrstuu5bXcIb2J5ek0h8v5v6x4qIuN0Wv6dIa"
	tests := []struct {
		in      string
		wantErr string
		logins  []string
	}{
		{"", "", nil},
		{"kim:operator+pii:" + hash + ", viewer::" + hash, "", []string{"kim", "viewer"}},
		{"kim:" + hash, "entry 1: want login:roles:bcrypt-hash", nil},
		{"kim:admin:" + hash, `entry 1 (login "kim"): roles: unknown role "admin"`, nil},
		{"kim::plaintext", `entry 1 (login "kim"): hash: not a bcrypt hash`, nil},
		{"kim::" + hash + " kim::" + hash, `entry 2: login "kim" is configured twice`, nil},
		{"k/m::" + hash, "entry 1: login:", nil},
	}
	for _, tt := range tests {
		staff, err := console.ParseStaff(tt.in)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), "$2a$", "a hash never prints")
			continue
		}
		require.NoError(t, err)
		var logins []string
		for _, s := range staff {
			logins = append(logins, s.Login)
			require.Contains(t, s.Roles, console.RoleViewer)
		}
		require.Equal(t, tt.logins, logins)
	}
}

// TestLoginFormSurvivesAnotherLoginPage: a browser renders the login page more than once (its
// favicon request was redirected there, a second tab); the first page's form must still log in.
// Found by the browser test: each render set a fresh login-form cookie, so the form shown was
// refused as "could not be verified".
func TestLoginFormSurvivesAnotherLoginPage(t *testing.T) {
	e := newTestEnv(t, nil)
	b := e.browser()
	_, _, first := b.get("/login?next=/upcoming")
	status, _, _ := b.get("/login?next=/favicon.ico")
	require.Equal(t, http.StatusOK, status)
	status, loc, body := b.post("/login", url.Values{"csrf": {field(t, csrfField, first)}, "login": {"kim"}, "password": {testPassword}, "next": {"/upcoming"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	require.Equal(t, "/upcoming", loc)
}

// TestSecureCookiesBehindTLS: with an https public URL (TLS at the console or at its proxy)
// every cookie is Secure.
func TestSecureCookiesBehindTLS(t *testing.T) {
	e := newTestEnv(t, func(c *console.Config) { c.PublicURL = "https://console.example.com" })
	resp, err := e.browser().http.Get(e.url + "/login")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.NotEmpty(t, resp.Cookies())
	for _, c := range resp.Cookies() {
		require.True(t, c.Secure, c.Name)
		require.True(t, c.HttpOnly, c.Name)
	}
}
