package portonev2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults.
const (
	// DefaultBaseURL is PortOne's V2 API origin (the spec's only server).
	DefaultBaseURL = "https://api.portone.io"
	// DefaultTimeout bounds one HTTP exchange, reading the answer included.
	DefaultTimeout = 15 * time.Second
	// maxBody bounds how much of an answer is read.
	maxBody   = 4 << 20
	userAgent = "paycycle-portone-v2/1"
)

// Config is what a V2 client needs. Secret is required; the rest has defaults.
type Config struct {
	// BaseURL is the API origin; every path is resolved at its root ("/payments/..."), as
	// PortOne's server SDKs do. A path prefix in it is kept, so that a proxy or the emulator
	// may serve V2 below one; it may carry no query, fragment or user info.
	BaseURL string
	// Secret is the V2 API secret, sent as "Authorization: PortOne <secret>" on every call.
	// It never appears in an error or in String.
	Secret string
	// StoreID is sent as storeId where the API takes it; "" means the secret's own store.
	StoreID string
	// ChannelKey picks the channel of a charge or schedule (a key issued for several channels
	// needs it); "" lets PortOne choose the key's channel.
	ChannelKey string
	// Timeout bounds one exchange (default DefaultTimeout).
	Timeout time.Duration
	// HTTPClient is used when set; its redirect policy is replaced by "never follow" (PortOne
	// does not redirect, and following one would re-send a charge, or the secret, elsewhere).
	HTTPClient *http.Client
	// Observer, when set, is called once per HTTP exchange, after the answer was read, from
	// the calling goroutine (metrics). It must be fast and safe for concurrent use.
	Observer func(Exchange)
}

// Exchange describes one HTTP exchange with PortOne V2, as reported to Config.Observer. It
// carries the route template and the typed error's type, never a URL, an ID, the secret or a
// body, so that it can feed metrics without leaking anything.
type Exchange struct {
	// Op is the route template, e.g. "POST /payments/{paymentId}/billing-key".
	Op string
	// HTTPStatus is the answer's status, 0 when no answer arrived (Err is then set).
	HTTPStatus int
	// ErrorType is a typed error answer's type ("PG_PROVIDER", "ALREADY_PAID", ...), "" on
	// success or when the body was not a typed error.
	ErrorType string
	// Err is the transport failure when no (complete, readable) answer arrived.
	Err error
	// Duration is from sending the request to reading the whole answer.
	Duration time.Duration
}

// client is the HTTP half: it sends one request and sorts the answer into a decoded body, an
// *apiError (PortOne answered with a typed error) or a *wireError (no trustworthy answer).
type client struct {
	base       string
	secret     func() string
	storeID    string
	channelKey string
	timeout    time.Duration
	hc         *http.Client
	traceable  bool
	observer   func(Exchange)
}

func newClient(cfg Config) (*client, error) {
	if cfg.Secret == "" {
		return nil, errors.New("portonev2: the API secret is required")
	}
	if strings.ContainsAny(cfg.Secret, "\r\n") {
		return nil, errors.New("portonev2: the API secret must not contain line breaks")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return nil, errors.New("portonev2: the base URL is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("portonev2: the base URL must be http or https")
	case u.Host == "":
		return nil, errors.New("portonev2: the base URL has no host")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("portonev2: the base URL must not have user info, a query or a fragment")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, errors.New("portonev2: the timeout must be positive")
	}
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc := &http.Client{CheckRedirect: noFollow}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
		hc.CheckRedirect = noFollow
	}
	_, std := hc.Transport.(*http.Transport)
	secret := cfg.Secret
	return &client{base: strings.TrimRight(base, "/"), secret: func() string { return secret }, storeID: cfg.StoreID,
		channelKey: cfg.ChannelKey, timeout: timeout, hc: hc, traceable: hc.Transport == nil || std, observer: cfg.Observer}, nil
}

// call is one API request.
type call struct {
	// op names the operation by its route template ("POST /payments/{paymentId}/billing-key").
	op     string
	method string
	// path is below the base URL, its segments already escaped (use seg).
	path  string
	query url.Values
	// body is sent as JSON when non-nil.
	body any
	// write: a failure after the request may have reached PortOne is an unknown outcome.
	write bool
}

// seg escapes one path segment (a paymentId or billingKey may hold any character).
func seg(s string) string { return url.PathEscape(s) }

// queryBody is the "?requestBody=<JSON>" form PortOne's GET and DELETE list operations take
// (the server SDKs send it so; a body on GET is dropped by many proxies).
func queryBody(v any) (url.Values, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return url.Values{"requestBody": {string(b)}}, nil
}

// apiError is PortOne's typed error answer: {"type": "...", "message": "...", ...}.
type apiError struct {
	Op     string
	Status int
	// Type is the error's type ("PG_PROVIDER", "ALREADY_PAID", ...); "" when the body was not
	// a typed error (a proxy's page, an empty body).
	Type    string
	Message string
	// PgCode and PgMessage are PG_PROVIDER's.
	PgCode    string
	PgMessage string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.PgCode != "" || e.PgMessage != "" {
		s += fmt.Sprintf(" (PG %s: %s)", e.PgCode, e.PgMessage)
	}
	return s
}

// wireError is a failure without a trustworthy answer: a transport failure, a timeout, an
// answer that cannot be read. Sent says whether the request may have reached PortOne.
type wireError struct {
	Op   string
	Sent bool
	Err  error
}

func (e *wireError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *wireError) Unwrap() error { return e.Err }

// do sends c and decodes a 2xx answer into out (when non-nil). Decoding is tolerant, as
// PortOne's compatibility rule asks: unknown fields are ignored, enums and oneOf tags are read
// as strings and interpreted by the caller.
func (cl *client) do(ctx context.Context, c call, out any) error {
	if cl.observer == nil {
		return cl.exchange(ctx, c, out, nil)
	}
	e := Exchange{Op: c.op}
	start := time.Now()
	err := cl.exchange(ctx, c, out, &e)
	e.Duration = time.Since(start)
	var we *wireError
	if errors.As(err, &we) {
		e.Err = we.Err
	}
	cl.observer(e)
	return err
}

// exchange is do's work; it fills e's status and error type (when e is not nil).
func (cl *client) exchange(ctx context.Context, c call, out any, e *Exchange) error {
	var body []byte
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return &wireError{Op: c.op, Err: fmt.Errorf("encoding the body: %w", err)}
		}
		body = b
	}
	ctx, cancel := context.WithTimeout(ctx, cl.timeout)
	defer cancel()
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }})
	target := cl.base + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, rd)
	if err != nil {
		return &wireError{Op: c.op, Err: errors.New("cannot build the request")}
	}
	req.Header.Set("Authorization", "PortOne "+cl.secret())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		sent := !(isDialError(err) || (cl.traceable && !gotConn.Load()))
		return &wireError{Op: c.op, Sent: sent, Err: cleanURLError(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	if e != nil {
		e.HTTPStatus = resp.StatusCode
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return &wireError{Op: c.op, Sent: true, Err: fmt.Errorf("reading the HTTP %d answer: %w", resp.StatusCode, cleanURLError(err))}
	}
	if len(data) > maxBody {
		return &wireError{Op: c.op, Sent: true, Err: fmt.Errorf("the HTTP %d answer is larger than %d bytes", resp.StatusCode, maxBody)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &apiError{Op: c.op, Status: resp.StatusCode}
		var typed struct {
			Type      string `json:"type"`
			Message   string `json:"message"`
			PgCode    string `json:"pgCode"`
			PgMessage string `json:"pgMessage"`
		}
		if json.Unmarshal(data, &typed) == nil {
			ae.Type, ae.Message, ae.PgCode, ae.PgMessage = typed.Type, typed.Message, typed.PgCode, typed.PgMessage
		}
		if e != nil {
			e.ErrorType = ae.Type
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &wireError{Op: c.op, Sent: true, Err: fmt.Errorf("decoding the HTTP %d answer: %w", resp.StatusCode, err)}
	}
	return nil
}

// cleanURLError drops *url.Error's wrapper, whose text is the full URL (with a requestBody
// query that may name a billing key).
func cleanURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// isDialError reports a failure that happened before any connection was made: nothing was sent.
func isDialError(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
