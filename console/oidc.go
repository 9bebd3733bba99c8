package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/paycycle/paycycle/internal/nofollow"
)

// callbackPath is where the identity provider sends the browser back (register
// PublicURL+callbackPath as the client's redirect URI).
const callbackPath = "/auth/callback"

// oidcCookie carries the login's state to the callback, binding it to the browser that
// started it (a callback URL sent to someone else logs nobody in).
const oidcCookie = "paycycle_console_oidc"

// pendingLoginTTL bounds how long a login may stay at the identity provider.
const pendingLoginTTL = 10 * time.Minute

// OIDCConfig is the identity provider's login (the authorization code flow with PKCE).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its /.well-known/openid-configuration is read at start.
	Issuer string
	// ClientID and ClientSecret are the console's client at the provider.
	ClientID     string
	ClientSecret string
	// RolesClaim names the ID token claim listing the staff member's roles (default "roles"); a
	// value is a role when it is RolesPrefix followed by viewer, operator or pii.
	RolesClaim  string
	RolesPrefix string
	// DefaultRoles are granted to everyone the provider authenticates for this client (empty:
	// only the roles of the claim). A session with no role at all is refused.
	DefaultRoles []Role
	// HTTPClient reaches the provider (default: 15-second requests that never follow a
	// redirect, the project's outbound policy, internal/nofollow).
	HTTPClient *http.Client
}

// oidcLogin is a configured provider.
type oidcLogin struct {
	cfg      OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (o *oidcLogin) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

// newOIDCLogin discovers the provider (issuer metadata and its keys' URL).
func newOIDCLogin(ctx context.Context, cfg OIDCConfig, redirectURL string) (*oidcLogin, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("console: OpenID Connect needs an issuer URL and a client ID")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = nofollow.Client(15 * time.Second)
	}
	for _, r := range cfg.DefaultRoles {
		if !slices.Contains(knownRoles, r) {
			return nil, fmt.Errorf("console: OpenID Connect default roles: unknown role %q", r)
		}
	}
	o := &oidcLogin{cfg: cfg}
	provider, err := oidc.NewProvider(o.ctx(ctx), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("console: OpenID Connect issuer %s: %w", cfg.Issuer, err)
	}
	o.verifier = provider.Verifier(&oidc.Config{ClientID: cfg.ClientID})
	o.oauth = oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: redirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
	return o, nil
}

// pendingLogin is a login sent to the provider and not yet back.
type pendingLogin struct {
	nonce    string
	verifier string
	next     string
	expires  time.Time
}

// pendingLogins holds them by state, each usable once.
type pendingLogins struct {
	mu  sync.Mutex
	m   map[string]pendingLogin
	now func() time.Time
}

func newPendingLogins(now func() time.Time) *pendingLogins {
	return &pendingLogins{m: map[string]pendingLogin{}, now: now}
}

func (p *pendingLogins) add(state string, l pendingLogin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for k, v := range p.m {
		if now.After(v.expires) {
			delete(p.m, k)
		}
	}
	l.expires = now.Add(pendingLoginTTL)
	p.m[state] = l
}

func (p *pendingLogins) take(state string) (pendingLogin, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.m[state]
	delete(p.m, state)
	if !ok || p.now().After(l.expires) {
		return pendingLogin{}, false
	}
	return l, true
}

// handleOIDCStart is GET /auth/oidc: off to the provider with state, nonce and a PKCE challenge.
func (s *Server) handleOIDCStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.renderMessage(w, r, nil, http.StatusNotFound, messagePage{HeadingKo: "SSO 로그인이 설정되어 있지 않습니다.", HeadingEn: "Single sign-on is not configured.", Link: "/login", LinkText: "로그인 · Log in"})
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	s.logins.add(state, pendingLogin{nonce: nonce, verifier: verifier, next: localPath(r.URL.Query().Get("next"))})
	s.setCookie(w, oidcCookie, state, pendingLoginTTL)
	http.Redirect(w, r, s.oidc.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// handleOIDCCallback is GET /auth/callback: the code is exchanged, the ID token verified
// (signature, issuer, audience, expiry, nonce) and its roles read.
func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, en string, err error) {
		s.log.Warn("console: single sign-on refused", zap.String("why", en), zap.Error(err))
		s.renderMessage(w, r, nil, status, messagePage{
			HeadingKo: "SSO 로그인에 실패했습니다.", HeadingEn: "Single sign-on failed.", TextEn: en,
			Link: "/login", LinkText: "로그인 · Log in",
		})
	}
	if s.oidc == nil {
		refuse(http.StatusNotFound, "single sign-on is not configured", nil)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		refuse(http.StatusUnauthorized, "the identity provider answered "+e, nil)
		return
	}
	state := q.Get("state")
	c, err := r.Cookie(oidcCookie)
	if err != nil || state == "" || subtleEq(c.Value, state) != 1 {
		refuse(http.StatusForbidden, "the login did not start in this browser", err)
		return
	}
	pl, ok := s.logins.take(state)
	if !ok {
		refuse(http.StatusForbidden, "the login expired or was already used; please log in again", nil)
		return
	}
	s.setCookie(w, oidcCookie, "", -1)
	ctx, cancel := context.WithTimeout(s.oidc.ctx(r.Context()), 15*time.Second)
	defer cancel()
	tok, err := s.oidc.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pl.verifier))
	if err != nil {
		refuse(http.StatusUnauthorized, "the identity provider did not accept the code", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse(http.StatusUnauthorized, "the identity provider sent no ID token", nil)
		return
	}
	idt, err := s.oidc.verifier.Verify(ctx, raw)
	if err != nil {
		refuse(http.StatusUnauthorized, "the ID token did not verify", err)
		return
	}
	if subtleEq(idt.Nonce, pl.nonce) != 1 {
		refuse(http.StatusUnauthorized, "the ID token's nonce is not this login's", nil)
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		refuse(http.StatusUnauthorized, "the ID token's claims do not parse", err)
		return
	}
	login, err := oidcLoginName(claims, idt.Subject)
	if err != nil {
		refuse(http.StatusForbidden, err.Error(), nil)
		return
	}
	roles := s.oidc.rolesOf(claims)
	if len(roles) == 0 {
		refuse(http.StatusForbidden, "no console role for "+login+" (claim "+s.oidc.cfg.RolesClaim+")", nil)
		return
	}
	s.startSession(w, r, login, roles, "oidc", pl.next)
}

// oidcLoginName is the name audit trails get: the verified email, else the subject.
func oidcLoginName(claims map[string]any, subject string) (string, error) {
	email, _ := claims["email"].(string)
	if verified, ok := claims["email_verified"].(bool); email != "" && (!ok || verified) {
		if err := checkLogin(email); err == nil {
			return email, nil
		}
	}
	if err := checkLogin(subject); err != nil {
		return "", fmt.Errorf("the ID token's subject is not usable as a login: %w", err)
	}
	return subject, nil
}

// rolesOf reads the roles claim (a list or a space-separated string) and adds DefaultRoles.
// RoleViewer comes with any other role.
func (o *oidcLogin) rolesOf(claims map[string]any) []Role {
	var values []string
	switch v := claims[o.cfg.RolesClaim].(type) {
	case string:
		values = strings.Fields(v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				values = append(values, s)
			}
		}
	}
	var roles []Role
	add := func(r Role) {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	for _, v := range values {
		name, ok := strings.CutPrefix(v, o.cfg.RolesPrefix)
		if r := Role(name); ok && slices.Contains(knownRoles, r) {
			add(r)
		}
	}
	for _, r := range o.cfg.DefaultRoles {
		add(r)
	}
	if len(roles) > 0 {
		add(RoleViewer)
	}
	return roles
}

func subtleEq(a, b string) int { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) }
