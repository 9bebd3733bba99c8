package console_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/console"
)

// proxied is a request as the SSO proxy forwards it: its identity and group headers set.
func (b *browser) proxied(method, path, who, groups string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.env.url+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if who != "" {
		req.Header.Set("X-Forwarded-Email", who)
	}
	if groups != "" {
		req.Header.Set("X-Forwarded-Groups", groups)
	}
	resp, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(page)
}

// TestProxyIdentityHeader: the header names the staff member only on connections from the
// configured proxies; roles come from its groups header; forms still need the session's token.
func TestProxyIdentityHeader(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted string
		want    int
	}{
		{"from the proxy", "127.0.0.1", http.StatusOK},
		{"from elsewhere", "10.0.0.0/8", http.StatusSeeOther},
	} {
		t.Run(tt.name, func(t *testing.T) {
			trusted, err := console.ParseTrusted(tt.trusted)
			require.NoError(t, err)
			e := newTestEnv(t, func(c *console.Config) {
				c.Proxy = &console.ProxyConfig{Header: "X-Forwarded-Email", RolesHeader: "X-Forwarded-Groups", RolesPrefix: "console-", Trusted: trusted}
			})
			e.mixedBook()
			b := e.browser()
			status, body := b.proxied(http.MethodGet, "/subscriptions/sub-a", "park@example.com", "console-operator,staff", nil)
			require.Equal(t, tt.want, status)
			if tt.want != http.StatusOK {
				return
			}
			contains(t, body, `<span class="who" id="who">park@example.com</span>`, `id="action-cancel_now"`)

			// A form posted through the proxy still needs the token of the session it made.
			form := url.Values{"action": {"pause_now"}, "nonce": {"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"}, "reason": {"x"}}
			status, _ = b.proxied(http.MethodPost, "/subscriptions/sub-a/actions", "park@example.com", "console-operator", form)
			require.Equal(t, http.StatusForbidden, status)
			require.Empty(t, e.wf.sent())
			form.Set("csrf", field(t, csrfField, body))
			status, body = b.proxied(http.MethodPost, "/subscriptions/sub-a/actions", "park@example.com", "console-operator", form)
			require.Equal(t, http.StatusOK, status, body)
			require.Len(t, e.wf.sent(), 1)

			// Another person behind the same browser is another session, with their own roles.
			status, body = b.proxied(http.MethodGet, "/subscriptions/sub-a", "choi@example.com", "console-viewer", nil)
			require.Equal(t, http.StatusOK, status)
			contains(t, body, `id="who">choi@example.com<`)
			require.NotContains(t, body, `id="actions"`)
			status, _ = b.proxied(http.MethodGet, "/", "choi@example.com", "staff", nil)
			require.Equal(t, http.StatusForbidden, status, "no console role")
			status, _ = b.proxied(http.MethodGet, "/", "not a login!", "console-viewer", nil)
			require.Equal(t, http.StatusForbidden, status)
		})
	}
	_, err := console.ParseTrusted("10.0.0.0/8, proxy.internal")
	require.ErrorContains(t, err, `"proxy.internal" is neither an address nor a CIDR prefix`)
}
