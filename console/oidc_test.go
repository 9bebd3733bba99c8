package console_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/console"
)

// provider is a local OpenID Connect provider stand-in: discovery, JWKS, an authorization
// endpoint that logs in a configured user at once, and a token endpoint that checks the client,
// the code, the redirect URI and the PKCE verifier and answers an RS256-signed ID token.
type provider struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	signer jose.Signer
	// clientID and secret are the console's client.
	clientID, secret string

	mu sync.Mutex
	// claims are the next login's claims (beyond iss, aud, exp, iat, nonce).
	claims map[string]any
	// tamper changes the next ID token's payload before signing, or re-signs it with another key.
	tamper func(claims map[string]any)
	badKey bool
	codes  map[string]authCode
}

type authCode struct {
	nonce, challenge, redirect string
	claims                     map[string]any
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p := &provider{t: t, key: key, clientID: "paycycle-console", secret: "s3cret-client", codes: map[string]authCode{}}
	p.signer = mustSigner(t, key)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func mustSigner(t *testing.T, key *rsa.PrivateKey) jose.Signer {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	require.NoError(t, err)
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (p *provider) setUser(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = claims
}

func (p *provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := strings.Repeat("c", 10) + q.Get("state")[:8]
	p.mu.Lock()
	p.codes[code] = authCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), claims: p.claims}
	p.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.clientID || secret != p.secret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	c, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	tamper, badKey := p.tamper, p.badKey
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != c.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.srv.URL, "aud": p.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": c.nonce}
	for k, v := range c.claims {
		claims[k] = v
	}
	if tamper != nil {
		tamper(claims)
	}
	payload, err := json.Marshal(claims)
	require.NoError(p.t, err)
	signer := p.signer
	if badKey {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(p.t, err)
		signer = mustSigner(p.t, other)
	}
	jws, err := signer.Sign(payload)
	require.NoError(p.t, err)
	idToken, err := jws.CompactSerialize()
	require.NoError(p.t, err)
	writeJSON(w, map[string]any{"access_token": "at-" + c.nonce[:6], "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// TestOIDCLogin logs in through the provider stand-in, and refuses every token that is not
// this login's: another key, another audience, another nonce, expired, no role.
func TestOIDCLogin(t *testing.T) {
	p := newProvider(t)
	e := newTestEnv(t, func(c *console.Config) {
		c.Staff = nil
		c.OIDC = &console.OIDCConfig{Issuer: p.srv.URL, ClientID: p.clientID, ClientSecret: p.secret, RolesClaim: "groups", RolesPrefix: "console-"}
	})
	tests := []struct {
		name       string
		claims     map[string]any
		tamper     func(map[string]any)
		badKey     bool
		wantStatus int
		wantWho    string
	}{
		{"operator by group", map[string]any{"sub": "u1", "email": "kim@example.com", "email_verified": true, "groups": []string{"console-operator", "staff"}}, nil, false, http.StatusOK, "kim@example.com"},
		{"unverified email: the subject names them", map[string]any{"sub": "u2", "email": "lee@example.com", "email_verified": false, "groups": "console-viewer"}, nil, false, http.StatusOK, "u2"},
		{"no console role", map[string]any{"sub": "u3", "groups": []string{"staff", "operator"}}, nil, false, http.StatusForbidden, ""},
		{"signed by another key", map[string]any{"sub": "u1", "groups": []string{"console-viewer"}}, nil, true, http.StatusUnauthorized, ""},
		{"another audience", map[string]any{"sub": "u1", "groups": []string{"console-viewer"}}, func(c map[string]any) { c["aud"] = "someone-else" }, false, http.StatusUnauthorized, ""},
		{"another nonce", map[string]any{"sub": "u1", "groups": []string{"console-viewer"}}, func(c map[string]any) { c["nonce"] = "replayed" }, false, http.StatusUnauthorized, ""},
		{"expired", map[string]any{"sub": "u1", "groups": []string{"console-viewer"}}, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, false, http.StatusUnauthorized, ""},
		{"another issuer", map[string]any{"sub": "u1", "groups": []string{"console-viewer"}}, func(c map[string]any) { c["iss"] = "https://evil.example" }, false, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.setUser(tt.claims)
			p.mu.Lock()
			p.tamper, p.badKey = tt.tamper, tt.badKey
			p.mu.Unlock()
			b := e.browser()
			status, _, body := b.get("/login?next=/upcoming")
			require.Equal(t, http.StatusOK, status)
			require.NotContains(t, body, `id="login-form"`, "no password form without staff logins")
			contains(t, body, `id="sso"`)
			// Follow the redirects as a browser does: console, provider, console.
			status, loc, _ := b.get("/auth/oidc?next=/upcoming")
			require.Equal(t, http.StatusFound, status)
			require.True(t, strings.HasPrefix(loc, p.srv.URL+"/authorize?"), loc)
			resp, err := b.http.Get(loc)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusFound, resp.StatusCode)
			callback := resp.Header.Get("Location")
			require.True(t, strings.HasPrefix(callback, e.url+"/auth/callback?"), callback)
			status, loc, body = b.get(strings.TrimPrefix(callback, e.url))
			if tt.wantStatus != http.StatusOK {
				require.Equal(t, tt.wantStatus, status, body)
				status, _, _ = b.get("/upcoming")
				require.Equal(t, http.StatusSeeOther, status, "no session")
				return
			}
			require.Equal(t, http.StatusSeeOther, status, body)
			require.Equal(t, "/upcoming", loc)
			_, _, body = b.get("/upcoming")
			contains(t, body, `<span class="who" id="who">`+tt.wantWho+`</span>`)

			// The callback is single-use, and a callback carried to another browser logs nobody in.
			status, _, _ = b.get(strings.TrimPrefix(callback, e.url))
			require.Equal(t, http.StatusForbidden, status)
			other := e.browser()
			status, _, _ = other.get(strings.TrimPrefix(callback, e.url))
			require.Equal(t, http.StatusForbidden, status)
		})
	}
}
