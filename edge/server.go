package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/internal/signedlink"
)

// Server is the HTTP edge. Create it with New; it is safe for concurrent use.
type Server struct {
	cfg      Config
	wf       Workflows
	pay      PaymentLookup
	payV2    V2Lookup
	log      *zap.Logger
	basePath string // PublicURL's path, without a trailing slash: the prefix of every link
	pages    *pages
	relayed  *dedupe
	// v2Seen remembers the webhook-id of V2 deliveries handled, so a redelivery (or a replay
	// within the timestamp tolerance) changes nothing.
	v2Seen  *dedupe
	handler http.Handler
	// onVerdict and metrics are Deps.WebhookVerdict and Deps.Metrics.
	onVerdict func(string)
	metrics   http.Handler
	// keys are cfg.LinkKeys, or the ephemeral demo secret; nil when links are not configured.
	keys *signedlink.Keys
	now  func() time.Time
	// cancels shares one cancel among the submits of one form (a double click) and remembers
	// its answer for a while, so the second submit shows the first one's result.
	cancels *cancelCalls
}

// New checks cfg, fills its defaults and returns a Server.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if deps.Workflows == nil {
		return nil, errors.New("edge: Deps.Workflows (a Temporal client) is required")
	}
	if deps.PortOne == nil {
		return nil, errors.New("edge: Deps.PortOne (a PortOne client) is required")
	}
	if cfg.V2 != nil && deps.PortOneV2 == nil {
		return nil, errors.New("edge: Deps.PortOneV2 (a PortOne V2 gateway) is required when V2 is configured")
	}
	logger := deps.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("edge: public URL: %w", err)
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		wf:        deps.Workflows,
		pay:       deps.PortOne,
		payV2:     deps.PortOneV2,
		log:       logger.Named("edge"),
		basePath:  u.EscapedPath(),
		pages:     pg,
		relayed:   newDedupe(4096, 30*time.Minute),
		v2Seen:    newDedupe(v2SeenEntries, v2SeenTTL),
		onVerdict: deps.WebhookVerdict,
		metrics:   deps.Metrics,
		keys:      cfg.LinkKeys,
		now:       deps.Now,
		cancels:   newCancelCalls(1024, 30*time.Minute),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.v2Seen.now = s.now
	if s.keys == nil && cfg.Demo {
		keys, err := signedlink.NewKeys(randomString(48))
		if err != nil {
			return nil, err
		}
		s.keys = keys
		s.log.Warn("demo mode without " + signedlink.EnvSecret + ": registration and self-service links are signed with an ephemeral secret and die with this process")
	} else if s.keys == nil {
		s.log.Warn(signedlink.EnvSecret + " is not set: registration and self-service links answer 503 until it is")
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the edge's HTTP handler with its middleware: body limit, per-request
// timeout, panic recovery and access logs.
func (s *Server) Handler() http.Handler { return s.handler }

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /portone/webhook", s.handleWebhook)
	mux.HandleFunc("POST "+V2WebhookRoute, s.handleV2Webhook)
	mux.HandleFunc("GET /registration/complete", s.handleCompleteRedirect)
	mux.HandleFunc("POST /registration/complete", s.handleCompletePopup)
	mux.HandleFunc("GET /registration/result", s.handleResult)
	mux.HandleFunc("GET "+V2CompleteRoute, s.handleCompleteV2Redirect)
	mux.HandleFunc("POST "+V2CompleteRoute, s.handleCompleteV2Popup)
	// The bare /register and /manage (a link cut short, or the old ?subscription_id= form) get
	// a page saying the link is incomplete; only a signed token opens anything.
	mux.HandleFunc("GET /register", s.handleBareLink)
	mux.HandleFunc("GET "+signedlink.Register.Route()+"{token}", s.handleRegisterPage)
	mux.HandleFunc("GET /manage", s.handleBareLink)
	mux.HandleFunc("GET "+signedlink.Manage.Route()+"{token}", s.handleManagePage)
	mux.HandleFunc("GET "+signedlink.Manage.Route()+"{token}/confirm", s.handleManageConfirm)
	mux.HandleFunc("POST "+signedlink.Manage.Route()+"{token}/cancel", s.handleManageCancel)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics)
	}
	if s.cfg.Demo {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, s.link("/register/new"), http.StatusSeeOther)
		})
		mux.HandleFunc("GET /register/new", s.handleNewPage)
		mux.HandleFunc("POST /register/start", s.handleStart)
	} else {
		// Without demo mode the start page does not exist, rather than being read as a
		// registration link "new" that does not verify.
		mux.HandleFunc("GET /register/new", http.NotFound)
		mux.HandleFunc("POST /register/start", http.NotFound)
	}
	return s.middleware(mux)
}

// link returns an absolute path (with the public URL's prefix) for a route.
func (s *Server) link(route string) string { return s.basePath + route }

// publicURL returns the full public URL of a route, for PortOne's and NaverPay's redirects.
func (s *Server) publicURL(route string) string { return s.cfg.PublicURL + route }

// recorder remembers the status and size of an answer for the access log and the panic
// handler.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware bounds, protects and logs every request. The access log names the route
// template, never the path's query string, the body, or anything a buyer typed, because
// those carry imp_uids, NaverPay messages and personal data.
func (s *Server) middleware(mux *http.ServeMux) http.Handler {
	access := s.log.Named("access")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
		rec.Header().Set("X-Content-Type-Options", "nosniff")
		rec.Header().Set("Referrer-Policy", "strict-origin-when-cross-origin")

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic while serving a request",
					zap.String("method", r.Method), zap.String("route", routeOf(r)),
					zap.Any("panic", v), zap.ByteString("stack", debug.Stack()))
				if rec.status == 0 {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			access.Info("request",
				zap.String("method", r.Method),
				zap.String("route", routeOf(r)),
				zap.Int("status", status),
				zap.Int64("bytes", rec.bytes),
				zap.Duration("duration", time.Since(start)),
				zap.String("remote_ip", remoteIP(r)),
			)
		}()
		mux.ServeHTTP(rec, r)
	})
}

// routeOf returns the matched route template ("POST /portone/webhook"), or "unmatched" for
// 404s and 405s, whose raw paths are not logged because anyone can put anything in them.
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// remoteIP is the peer's address. X-Forwarded-For is not trusted: any client can send it.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// NewHTTPServer returns an http.Server for the edge with every timeout set, so that a slow or
// stalled client cannot hold connections forever. WriteTimeout leaves room for the longest
// request (DefaultRequestTimeout).
func NewHTTPServer(addr string, handler http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      DefaultRequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// ShutdownTimeout is how long Serve lets requests in flight finish after its context ends.
const ShutdownTimeout = 10 * time.Second

// Serve serves handler on ln (with NewHTTPServer's settings) until ctx ends, then shuts down
// gracefully, letting requests in flight finish for up to ShutdownTimeout. It returns nil
// after a clean shutdown.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, logger *zap.Logger) error {
	if logger == nil {
		logger = zap.NewNop()
	}
	srv := NewHTTPServer(ln.Addr().String(), handler)
	srv.ErrorLog = zap.NewStdLog(logger.Named("edge.http"))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("edge: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("edge: graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("edge: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
