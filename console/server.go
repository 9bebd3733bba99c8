package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
)

// Workflows is the part of the Temporal client the console uses: the state and deliveries
// queries, and the very updates the backend and the self-service page send.
type Workflows interface {
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	GetWorkflow(ctx context.Context, workflowID, runID string) client.WorkflowRun
}

// Config configures a console.
type Config struct {
	// PublicURL is the URL browsers reach the console at (OIDC's redirect URL is built from
	// it); an https URL makes every cookie Secure.
	PublicURL string
	// Staff are the configured logins (may be empty when OIDC is configured).
	Staff []Staff
	// OIDC, when set, offers the identity provider's login.
	OIDC *OIDCConfig
	// Proxy, when set, trusts a company SSO proxy's identity header (see ProxyConfig).
	Proxy *ProxyConfig
	// SessionIdle ends a session unused this long (default 30 minutes); SessionMax ends any
	// session this long after its login (default 12 hours).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// ActionTimeout bounds one action's update (default 30 s: a cancel now waits for its refund).
	ActionTimeout time.Duration
	// QueryTimeout bounds each read from Temporal (default 10 s), so that a page answers, saying
	// what is missing, while Temporal is down.
	QueryTimeout time.Duration
	// PageSize is the rows per queue page (default 50).
	PageSize int
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Deps are what the console talks to.
type Deps struct {
	// Store is the read model (required).
	Store Store
	// Workflows is the Temporal client (required).
	Workflows Workflows
	// Logger receives the console's log (nil: none). Buyer details never reach it.
	Logger *zap.Logger
	// Events, when set, is served at /events without a session: the read model's receiver of
	// the merchant event stream, which checks every delivery's signature itself.
	Events http.Handler
}

// Server is the console's HTTP handler.
type Server struct {
	cfg      Config
	store    Store
	wf       Workflows
	log      *zap.Logger
	pages    *pages
	sessions *sessions
	logins   *pendingLogins
	oidc     *oidcLogin
	actions  *actionResults
	secure   bool
	origin   string
	handler  http.Handler
}

// New builds a console. An OIDC provider is discovered here, so ctx bounds that request.
func New(ctx context.Context, cfg Config, deps Deps) (*Server, error) {
	if deps.Store == nil || deps.Workflows == nil {
		return nil, errors.New("console: the read model and the Temporal client are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 30 * time.Second
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 10 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, errors.New("console: public URL: want http(s)://host[:port], got " + cfg.PublicURL)
	}
	if cfg.Proxy != nil {
		if err := cfg.Proxy.check(); err != nil {
			return nil, err
		}
	}
	if len(cfg.Staff) == 0 && cfg.OIDC == nil && cfg.Proxy == nil {
		return nil, errors.New("console: no way to log in: configure staff logins (" + EnvStaff + ") or an OpenID Connect provider")
	}
	log := deps.Logger
	if log == nil {
		log = zap.NewNop()
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, store: deps.Store, wf: deps.Workflows, log: log, pages: p,
		sessions: newSessions(cfg.SessionIdle, cfg.SessionMax, cfg.Now),
		logins:   newPendingLogins(cfg.Now),
		actions:  newActionResults(),
		secure:   pub.Scheme == "https",
		origin:   pub.Scheme + "://" + pub.Host,
	}
	if cfg.OIDC != nil {
		o, err := newOIDCLogin(ctx, *cfg.OIDC, strings.TrimSuffix(cfg.PublicURL, "/")+callbackPath)
		if err != nil {
			return nil, err
		}
		s.oidc = o
	}
	s.handler = s.routes(deps.Events)
	return s, nil
}

// Handler returns the console's routes.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes(events http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if events != nil {
		mux.Handle("/events", events)
	}
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("GET /auth/oidc", s.handleOIDCStart)
	mux.HandleFunc("GET "+callbackPath, s.handleOIDCCallback)
	mux.Handle("POST /logout", s.staff(RoleViewer, s.handleLogout))

	mux.Handle("GET /{$}", s.staff(RoleViewer, s.handleOverview))
	mux.Handle("GET /upcoming", s.staff(RoleViewer, s.handleUpcoming))
	mux.Handle("GET /queues/{queue}", s.staff(RoleViewer, s.handleQueue))
	mux.Handle("GET /revenue", s.staff(RoleViewer, s.handleRevenue))
	mux.Handle("GET /revenue.csv", s.staff(RoleViewer, s.handleRevenueCSV))
	mux.Handle("GET /subscriptions", s.staff(RoleViewer, s.handleFind))
	mux.Handle("GET /subscriptions/{id}", s.staff(RoleViewer, s.handleSubscription))
	mux.Handle("GET /subscriptions/{id}/confirm", s.staff(RoleOperator, s.handleConfirm))
	mux.Handle("POST /subscriptions/{id}/actions", s.staff(RoleOperator, s.handleAction))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.currentSession(r); !ok {
			s.toLogin(w, r)
			return
		}
		s.renderMessage(w, r, nil, http.StatusNotFound, messagePage{HeadingKo: "페이지를 찾을 수 없습니다.", HeadingEn: "Page not found."})
	})
	return securityHeaders(mux)
}

// securityHeaders keeps every answer out of frames and caches and forbids scripts: the
// console needs none, so an injected one could not run.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// sessionCookie names the session cookie; loginCookie the login form's CSRF cookie.
const (
	sessionCookie = "paycycle_console"
	loginCookie   = "paycycle_console_login"
)

// currentSession returns the request's live session.
func (s *Server) currentSession(r *http.Request) (*session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	return s.sessions.get(c.Value)
}

// staff wraps a handler so that it runs only with a session holding role. Without a session a
// page redirects to the login (a POST is refused: it would be lost there); without the role
// the answer is 403. Every POST must also carry the session's CSRF token.
func (s *Server) staff(role Role, h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, refused, viaProxy := s.proxySession(w, r)
		if refused != "" {
			s.renderMessage(w, r, nil, http.StatusForbidden, messagePage{HeadingKo: "권한이 없습니다.", HeadingEn: "Not allowed.", TextEn: refused})
			return
		}
		ok := viaProxy
		if !viaProxy {
			ss, ok = s.currentSession(r)
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				s.toLogin(w, r)
				return
			}
			s.renderMessage(w, r, nil, http.StatusForbidden, messagePage{
				HeadingKo: "로그인이 필요합니다.", HeadingEn: "You are not logged in.",
				TextKo: "아무것도 변경되지 않았습니다.", TextEn: "Nothing was changed.",
				Link: "/login", LinkText: "로그인 · Log in",
			})
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil || !csrfOK(ss, r.PostForm.Get("csrf")) || !s.sameOrigin(r) {
				s.log.Warn("console: a form without this session's CSRF token was refused", zap.String("path", r.URL.Path), zap.String("login", ss.Login))
				s.renderMessage(w, r, ss, http.StatusForbidden, messagePage{
					HeadingKo: "확인할 수 없는 요청입니다.", HeadingEn: "This request could not be verified.",
					TextKo: "이 콘솔이 보낸 양식이 아닙니다. 아무것도 변경되지 않았습니다.", TextEn: "The form did not come from this console. Nothing was changed.",
					Link: "/", LinkText: "개요 · Overview",
				})
				return
			}
		}
		if !ss.has(role) {
			s.renderMessage(w, r, ss, http.StatusForbidden, messagePage{
				HeadingKo: "권한이 없습니다.", HeadingEn: "Your role does not allow this.",
				TextKo: "필요한 역할: " + string(role), TextEn: "Role needed: " + string(role),
				Link: "/", LinkText: "개요 · Overview",
			})
			return
		}
		h(w, r, ss)
	})
}

// sameOrigin refuses a POST whose browser says it came from another site; the CSRF token is
// the check that matters, this one only adds to it.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == s.origin
}

// toLogin redirects to the login page, remembering where the staff member was going.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
}

// localPath returns next when it is a path on this console, "/" otherwise: the login must not
// redirect anywhere else (an open redirect).
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(maxAge / time.Second),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// startSession logs a staff member in and sends them on.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, login string, roles []Role, method, next string) {
	ss := s.sessions.create(login, roles, method)
	s.setCookie(w, sessionCookie, ss.ID, s.cfg.SessionMax)
	s.setCookie(w, loginCookie, "", -1)
	s.log.Info("console: staff logged in", zap.String("login", login), zap.String("method", method), zap.Strings("roles", roleStrings(roles)))
	http.Redirect(w, r, localPath(next), http.StatusSeeOther)
}

func roleStrings(roles []Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// loginPage is the data of the login page.
type loginPage struct {
	Title    string
	Next     string
	CSRF     string
	Login    string
	Error    string
	Password bool
	OIDC     bool
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.currentSession(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginPage{Next: localPath(r.URL.Query().Get("next"))})
}

// renderLogin shows the login page with a fresh login-form token (cookie and hidden field:
// a login form posted from elsewhere does not log anyone in).
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	p.Title = "로그인 · Log in"
	// One token per browser, not per page view: a browser loads other things beside the page
	// (its favicon, a second tab) that may render the login again, and a fresh token each time
	// would make the first tab's form stale.
	p.CSRF = randomToken()
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == len(p.CSRF) {
		p.CSRF = c.Value
	}
	p.Password = len(s.cfg.Staff) > 0
	p.OIDC = s.oidc != nil
	s.setCookie(w, loginCookie, p.CSRF, time.Hour)
	s.render(w, r, nil, status, "login.html", p)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, http.StatusBadRequest, loginPage{Error: "양식을 읽을 수 없습니다. / The form could not be read."})
		return
	}
	form := r.PostForm
	next := localPath(form.Get("next"))
	c, err := r.Cookie(loginCookie)
	if err != nil || !s.sameOrigin(r) || form.Get("csrf") == "" || subtleEq(c.Value, form.Get("csrf")) != 1 {
		s.renderLogin(w, r, http.StatusForbidden, loginPage{Next: next, Error: "로그인 양식을 확인할 수 없습니다. 다시 시도해 주세요. / The login form could not be verified; please try again."})
		return
	}
	if len(s.cfg.Staff) == 0 {
		s.renderLogin(w, r, http.StatusForbidden, loginPage{Next: next, Error: "비밀번호 로그인이 설정되어 있지 않습니다. / Password login is not configured."})
		return
	}
	login := strings.TrimSpace(form.Get("login"))
	st, ok := checkPassword(s.cfg.Staff, login, form.Get("password"))
	if !ok {
		s.log.Warn("console: login refused", zap.String("login", safeLogin(login)))
		s.renderLogin(w, r, http.StatusUnauthorized, loginPage{Next: next, Login: login, Error: "아이디 또는 비밀번호가 올바르지 않습니다. / Wrong login or password."})
		return
	}
	s.startSession(w, r, st.Login, st.Roles, "password", next)
}

// safeLogin is a typed login fit for the log: a mistyped password pasted into the login field
// must not be logged, so anything that is not a well-formed login is replaced.
func safeLogin(login string) string {
	if checkLogin(login) != nil {
		return "(not a login)"
	}
	return login
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, ss *session) {
	s.sessions.delete(ss.ID)
	s.setCookie(w, sessionCookie, "", -1)
	s.log.Info("console: staff logged out", zap.String("login", ss.Login))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
