package portonetest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// PortOne's token rules (v1-api.md §1, from the OpenAPI description of getToken):
//   - a token lives 30 minutes from issue;
//   - getToken before expiry returns the same token with the same expired_at, except that a
//     call within the last minute extends that expiry by 5 minutes;
//   - getToken after expiry issues a new token.
const (
	tokenLifetime  = 30 * time.Minute
	tokenExtendIn  = time.Minute
	tokenExtension = 5 * time.Minute
)

// token is one merchant's current access token.
type token struct {
	value     string
	merchant  *merchant
	expiresAt time.Time
	// v2 marks a V2 access token (POST /login/api-secret); V1 routes refuse it.
	v2 bool
}

// authResponse is AuthAnnotation.
type authResponse struct {
	AccessToken string `json:"access_token"`
	ExpiredAt   int64  `json:"expired_at"`
	Now         int64  `json:"now"`
}

func (e *Emulator) handleGetToken(c *call) result {
	key, _, err1 := c.p.str("imp_key")
	secret, _, err2 := c.p.str("imp_secret")
	if err1 != nil || err2 != nil || key == "" || secret == "" {
		// Guess: the message is observed, the HTTP status and code are not (v1-api.md §1).
		return refuse(http.StatusBadRequest, -1, "imp_key, imp_secret 파라메터가 누락되었습니다.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, found := e.merchants[key]
	if !found || m.secret != secret {
		return refuse(http.StatusUnauthorized, -1, "Unauthorized")
	}
	now := e.clock.Now()
	t := m.token
	switch {
	case t != nil && now.Before(t.expiresAt):
		if t.expiresAt.Sub(now) <= tokenExtendIn {
			t.expiresAt = t.expiresAt.Add(tokenExtension)
		}
	default:
		if t != nil {
			delete(e.tokens, t.value)
		}
		t = &token{value: newTokenValue(), merchant: m, expiresAt: now.Add(tokenLifetime)}
		m.token = t
		e.tokens[t.value] = t
	}
	return ok(authResponse{AccessToken: t.value, ExpiredAt: t.expiresAt.Unix(), Now: now.Unix()})
}

// newTokenValue returns 40 hex characters, the shape of PortOne's V1 tokens.
func newTokenValue() string {
	var b [20]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// authenticate resolves the request's token to its merchant. PortOne accepts three forms,
// and real clients use all of them: "Authorization: Bearer T", a bare "Authorization: T" and
// "X-ImpTokenHeader: T".
func (e *Emulator) authenticate(r *http.Request) (*merchant, bool) {
	value := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(value) > 7 && strings.EqualFold(value[:7], "bearer ") {
		value = strings.TrimSpace(value[7:])
	}
	if value == "" {
		value = strings.TrimSpace(r.Header.Get("X-ImpTokenHeader"))
	}
	if value == "" {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, found := e.tokens[value]
	if !found || t.v2 || !e.clock.Now().Before(t.expiresAt) {
		return nil, false
	}
	return t.merchant, true
}

// RevokeTokens invalidates the access tokens of the merchant with merchantKey, or of every
// merchant when merchantKey is empty, so tests can exercise a client's refresh-on-401 path.
// The next getToken issues a new token.
func (e *Emulator) RevokeTokens(merchantKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for v, t := range e.tokens {
		if merchantKey == "" || t.merchant.key == merchantKey {
			delete(e.tokens, v)
			t.merchant.token = nil
		}
	}
}
