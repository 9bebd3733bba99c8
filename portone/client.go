// Package portone is a client for the PortOne (iamport) V1 REST API, limited
// to what recurring NaverPay billing needs: billing keys ("customers"),
// charges on a billing key, PortOne-side schedules, payment lookups and
// refunds.
//
// The client keeps three outcomes apart, because mixing them up charges
// people twice or not at all:
//
//   - A decline is an answer: Again returns the *Payment with Status ==
//     StatusFailed and a nil error.
//   - A refusal is an *APIError: PortOne answered and did nothing.
//   - No trustworthy answer to a write is an *UnknownOutcomeError: the write
//     may have happened, so look it up before anything else.
//
// Reads that fail in transport return *TransportError, and input refused
// before sending returns *ValidationError. The client never retries except
// for one token refresh after an HTTP 401; retries belong to the caller (the
// workflow engine). It never logs, and its errors never contain the API key,
// secret, access token, a full URL or a full customer_uid.
//
// PortOne API docs: https://developers.portone.io/api/rest-v1
package portone

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
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// DefaultBaseURL is PortOne's V1 API origin.
	DefaultBaseURL = "https://api.iamport.kr"
	// DefaultTimeout bounds each HTTP exchange (including reading the body).
	DefaultTimeout = 10 * time.Second
	// DefaultMinimumAmount is NaverPay's minimum charge since 2024-01-24.
	DefaultMinimumAmount KRW = 10

	// maxBody bounds how much of an answer is read; PortOne's largest
	// answers (1000-item pages) are far below it.
	maxBody = 4 << 20
	// refreshMargin is how long before expired_at a token is replaced.
	// PortOne extends a token asked for in its last minute, so refreshing
	// then is cheap and avoids racing the expiry.
	refreshMargin = 60 * time.Second
	userAgent     = "paycycle-portone/1"
	opGetToken    = "POST /users/getToken"
)

// Credentials are the merchant's REST API key pair (imp_key, imp_secret).
// Their String, GoString and Format methods never print the secret, so a
// Credentials value can be formatted with any verb safely.
type Credentials struct {
	// Key is imp_key.
	Key string
	// Secret is imp_secret.
	Secret string
}

// String shows the last 4 characters of the key and hides the secret.
func (c Credentials) String() string {
	key := ""
	if c.Key != "" {
		key = maskUID(c.Key)
	}
	secret := ""
	if c.Secret != "" {
		secret = "[REDACTED]"
	}
	return fmt.Sprintf("portone.Credentials{Key:%s Secret:%s}", key, secret)
}

// GoString is String, so that %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// Format writes String for every verb, so that %v, %+v, %#v, %s and %q
// (directly or in an exported field of another struct) never print the
// secret. Like any struct of strings, Credentials stored in an unexported
// field of another struct is printed field by field by fmt; keep it in a
// Client instead.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	_, _ = io.WriteString(f, c.String())
}

var (
	_ fmt.Formatter  = Credentials{}
	_ fmt.GoStringer = Credentials{}
	_ fmt.Formatter  = (*Client)(nil)
)

// Option configures a Client.
type Option func(*settings) error

type settings struct {
	baseURL        string
	httpClient     *http.Client
	timeout        time.Duration
	includeSandbox bool
	tier           string
	clock          func() time.Time
	minAmount      KRW
	observer       func(Exchange)
}

// WithBaseURL sets the API origin (default DefaultBaseURL). It may carry a
// path prefix such as "http://127.0.0.1:8080/portone"; it may not carry a
// query, a fragment or user info.
func WithBaseURL(base string) Option {
	return func(s *settings) error {
		u, err := url.Parse(base)
		if err != nil {
			return &ValidationError{Op: "NewClient", Field: "base URL", Reason: "is not a URL"}
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			return &ValidationError{Op: "NewClient", Field: "base URL", Reason: "must be http or https"}
		case u.Host == "":
			return &ValidationError{Op: "NewClient", Field: "base URL", Reason: "has no host"}
		case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			return &ValidationError{Op: "NewClient", Field: "base URL", Reason: "must not have user info, a query or a fragment"}
		}
		s.baseURL = strings.TrimRight(base, "/")
		return nil
	}
}

// WithHTTPClient sets the HTTP client. Its Timeout, if any, applies on top of
// WithTimeout. Its redirect policy is not used: the client works on a copy
// that never follows a redirect (PortOne does not redirect; following one
// would send a charge, or the API key, to a URL the answer chose and read that
// URL's answer as PortOne's). A 3xx is an unknown outcome after a write and a
// *TransportError after a read.
//
// With a Transport other than *http.Transport (for example an
// instrumenting wrapper) the client cannot observe whether a connection was
// made, so a failed write counts as "not sent" only for dial errors such as
// connection refused; every other failure of a write is an unknown outcome.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return &ValidationError{Op: "NewClient", Field: "HTTP client", Reason: "is nil"}
		}
		s.httpClient = hc
		return nil
	}
}

// WithTimeout bounds every HTTP exchange, including reading the answer
// (default DefaultTimeout). A write that times out returns
// *UnknownOutcomeError.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return &ValidationError{Op: "NewClient", Field: "timeout", Reason: "must be positive"}
		}
		s.timeout = d
		return nil
	}
}

// WithIncludeSandbox adds include_sandbox=true to payment lookups (GetPayment,
// FindPayment, FindAllPayments). PortOne hides payments made on a test channel
// by default, so test environments need it.
func WithIncludeSandbox(include bool) Option {
	return func(s *settings) error {
		s.includeSandbox = include
		return nil
	}
}

// WithTier sends the header "Tier: <code>" on every API call, for an agency
// acting for a sub-merchant. The token is still fetched with the agency's
// own keys and without the header. An empty code sends no header.
func WithTier(code string) Option {
	return func(s *settings) error {
		if strings.ContainsAny(code, "\r\n") {
			return &ValidationError{Op: "NewClient", Field: "tier", Reason: "must not contain line breaks"}
		}
		s.tier = code
		return nil
	}
}

// WithClock replaces time.Now for token-expiry decisions; tests use it to
// move time forward without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return &ValidationError{Op: "NewClient", Field: "clock", Reason: "is nil"}
		}
		s.clock = now
		return nil
	}
}

// WithMinimumAmount sets the smallest amount Again and Schedule accept
// (default DefaultMinimumAmount, NaverPay's minimum). Amounts must be
// positive whatever the minimum.
func WithMinimumAmount(minimum KRW) Option {
	return func(s *settings) error {
		if minimum < 0 {
			return &ValidationError{Op: "NewClient", Field: "minimum amount", Reason: "must not be negative"}
		}
		s.minAmount = minimum
		return nil
	}
}

// sealed holds a secret behind a closure. fmt prints a func as an address
// whatever the verb and however deeply it is nested (a string behind a
// pointer, by contrast, is printed when a bad verb such as %s meets the
// pointer), so a sealed value cannot leak through formatting.
type sealed func() string

func seal(s string) sealed { return func() string { return s } }

// get returns the secret, "" for a nil sealed.
func (s sealed) get() string {
	if s == nil {
		return ""
	}
	return s()
}

// Client is a PortOne V1 client. It is safe for concurrent use; concurrent
// callers share one access token. No fmt verb prints its credentials or
// token, even when a Client is nested in another struct.
type Client struct {
	key            sealed
	secret         sealed
	tok            *tokenCache
	base           string
	httpClient     *http.Client
	traceable      bool
	timeout        time.Duration
	includeSandbox bool
	tier           string
	clock          func() time.Time
	minAmount      KRW
	observer       func(Exchange)
}

// NewClient returns a client for the given credentials. It does not contact
// PortOne; the first call fetches the access token.
func NewClient(creds Credentials, opts ...Option) (*Client, error) {
	if creds.Key == "" {
		return nil, &ValidationError{Op: "NewClient", Field: "imp_key", Reason: "is required"}
	}
	if creds.Secret == "" {
		return nil, &ValidationError{Op: "NewClient", Field: "imp_secret", Reason: "is required"}
	}
	s := settings{
		baseURL:   DefaultBaseURL,
		timeout:   DefaultTimeout,
		clock:     time.Now,
		minAmount: DefaultMinimumAmount,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&s); err != nil {
			return nil, err
		}
	}
	// PortOne does not redirect; following one would turn a POST into a GET
	// somewhere else (or re-send it there), so a redirect is the answer, and
	// interpret reports it. A caller's client is copied to the same policy.
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc := &http.Client{CheckRedirect: noFollow}
	if s.httpClient != nil {
		*hc = *s.httpClient
		hc.CheckRedirect = noFollow
	}
	_, stdTransport := hc.Transport.(*http.Transport)
	c := &Client{
		key:            seal(creds.Key),
		secret:         seal(creds.Secret),
		tok:            &tokenCache{},
		base:           s.baseURL,
		httpClient:     hc,
		traceable:      hc.Transport == nil || stdTransport,
		timeout:        s.timeout,
		includeSandbox: s.includeSandbox,
		tier:           s.tier,
		clock:          s.clock,
		minAmount:      s.minAmount,
		observer:       s.observer,
	}
	return c, nil
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("portone.Client{BaseURL:%s Key:%s}", c.base, maskUID(c.key.get()))
}

// Format writes String for every verb. (A Client value printed by
// reflection instead, for example nested in an unexported field, shows only
// addresses where the credentials and token are: they are sealed.)
func (c *Client) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, c.String())
}

// request describes one API call.
type request struct {
	op     string // route template, used as Op in errors
	method string
	path   string // path below the base URL, segments already escaped
	query  url.Values
	body   any  // JSON-encoded when non-nil
	auth   bool // send the access token
	write  bool // a failure after sending is an unknown outcome
	// merchantUID and next feed UnknownOutcomeError.
	merchantUID string
	next        string
	// customerUIDs are masked wherever they appear in an error.
	customerUIDs []string
}

// response is a raw HTTP answer.
type response struct {
	status int
	body   []byte
}

// envelope is PortOne's {code, message, response} wrapper.
type envelope struct {
	Code     *flexInt        `json:"code"`
	Message  *string         `json:"message"`
	Response json.RawMessage `json:"response"`
}

// flexInt accepts a JSON integer or a numeric string (an old PortOne doc
// showed code as a string).
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var k KRW
	if err := k.UnmarshalJSON(b); err != nil {
		return err
	}
	*n = flexInt(k)
	return nil
}

// do sends r (refreshing the token once on HTTP 401) and returns the
// envelope's response when PortOne accepted the request.
func (c *Client) do(ctx context.Context, r *request) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, &TransportError{Op: r.op, Err: err}
	}
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, &ValidationError{Op: r.op, Field: "body", Reason: "cannot be encoded as JSON"}
		}
		body = b
	}
	var res *response
	for attempt := 0; attempt < 2; attempt++ {
		token := ""
		if r.auth {
			t, err := c.accessToken(ctx, r.op)
			if err != nil {
				return nil, err
			}
			token = t
		}
		var err error
		start := time.Now()
		res, err = c.send(ctx, r, token, body)
		c.observe(r, start, res, err)
		if err != nil {
			return nil, err
		}
		if res.status != http.StatusUnauthorized || !r.auth {
			break
		}
		// The token was refused: a 401 means nothing was done, so one
		// retry with a fresh token is safe even for a write. Dropping the
		// token again after the second 401 keeps the next call from
		// reusing a token PortOne has just refused.
		c.tok.invalidate(token)
	}
	return c.interpret(r, res)
}

// send performs one HTTP exchange and reads the (bounded) body whatever the
// status. Failures come back classified.
func (c *Client) send(ctx context.Context, r *request, token string, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// gotConn records whether a connection was ever obtained: without one,
	// no byte of the request can have reached PortOne.
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})

	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, &TransportError{Op: r.op, Err: c.clean(r, err)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth {
		req.Header.Set("Authorization", "Bearer "+token)
		if c.tier != "" {
			req.Header.Set("Tier", c.tier)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, &TransportError{Op: r.op, Err: err}
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		notSent := isDialError(err) || (c.traceable && !gotConn.Load())
		return nil, c.failure(r, !notSent, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, c.failure(r, true, fmt.Errorf("reading the HTTP %d answer: %w", resp.StatusCode, err))
	}
	if len(data) > maxBody {
		return nil, c.failure(r, true, fmt.Errorf("the HTTP %d answer is larger than %d bytes", resp.StatusCode, maxBody))
	}
	return &response{status: resp.StatusCode, body: data}, nil
}

// interpret turns an HTTP answer into the envelope's response or a classified error.
func (c *Client) interpret(r *request, res *response) (json.RawMessage, error) {
	var env envelope
	envErr := json.Unmarshal(res.body, &env)
	if envErr == nil && env.Code == nil {
		envErr = errors.New("the answer has no code")
	}
	code, msg := 0, ""
	if envErr == nil {
		code = int(*env.Code)
		if env.Message != nil {
			msg = c.redact(r, *env.Message)
		}
	}
	switch {
	case res.status >= 300 && res.status <= 399:
		// Not PortOne's answer (PortOne does not redirect) and not followed: no
		// trustworthy answer, so never a refusal (which would read as a decline).
		// A write may have reached PortOne before a proxy redirected it.
		// Its Location is left out as every URL is left out of errors.
		return nil, c.undecodable(r, fmt.Errorf("HTTP %d, a redirect (not followed: PortOne does not redirect)", res.status))
	case res.status >= 500 && r.write:
		return nil, c.unknown(r, &statusError{status: res.status, code: code, message: msg})
	case res.status >= 300:
		return nil, &APIError{Op: r.op, HTTPStatus: res.status, Code: code, Message: msg}
	case res.status < 200:
		return nil, c.undecodable(r, fmt.Errorf("unexpected HTTP %d", res.status))
	case envErr != nil:
		return nil, c.undecodable(r, fmt.Errorf("HTTP %d answer is not a PortOne envelope: %w", res.status, envErr))
	case code != 0:
		return nil, &APIError{Op: r.op, HTTPStatus: res.status, Code: code, Message: msg}
	}
	return env.Response, nil
}

// decode unmarshals an accepted response into out. A null or undecodable
// response is no trustworthy answer: unknown for writes, a TransportError
// (safe to retry) for reads.
func (c *Client) decode(r *request, raw json.RawMessage, out any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return c.undecodable(r, errors.New("the answer has code 0 but no response"))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return c.undecodable(r, fmt.Errorf("decoding the response: %w", err))
	}
	return nil
}

// undecodable classifies an answer that arrived but cannot be trusted.
func (c *Client) undecodable(r *request, err error) error {
	if r.write {
		return c.unknown(r, err)
	}
	return &TransportError{Op: r.op, Err: err}
}

// failure classifies a transport failure; sent says whether the request may
// have reached PortOne.
func (c *Client) failure(r *request, sent bool, err error) error {
	err = c.clean(r, err)
	if r.write && sent {
		return c.unknown(r, err)
	}
	return &TransportError{Op: r.op, Err: err}
}

func (c *Client) unknown(r *request, err error) error {
	return &UnknownOutcomeError{Op: r.op, MerchantUID: r.merchantUID, Err: err, next: r.next}
}

// isDialError reports failures that happen before a connection exists, so
// that the request was certainly not sent.
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

// clean strips the *url.Error wrapper (whose text is the full URL with its
// query) and redacts anything sensitive left in the message.
func (c *Client) clean(r *request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	msg := err.Error()
	if red := c.redact(r, msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

var customerUIDInText = regexp.MustCompile(`customer_uid\(([^)]*)\)`)

// redact removes the credentials, the access token, URLs and customer_uids
// from text that will become part of an error.
func (c *Client) redact(r *request, s string) string {
	type pair struct{ old, repl string }
	var pairs []pair
	add := func(old, repl string) {
		// Very short values are skipped: replacing them would garble the
		// message, and real keys, secrets and tokens are long.
		if len(old) >= 6 {
			pairs = append(pairs, pair{old, repl})
		}
	}
	if r != nil {
		// The request's URL, whole or in part, is replaced by its route
		// template: paths hold customer_uids, queries hold reasons.
		full := c.base + r.path
		if len(r.query) > 0 {
			q := r.query.Encode()
			add(full+"?"+q, r.op)
			add(r.path+"?"+q, r.op)
			add(q, "[query]")
		}
		add(full, r.op)
		add(r.path, r.op)
		for _, uid := range r.customerUIDs {
			if uid == "" {
				continue
			}
			m := maskUID(uid)
			add(uid, m)
			add(url.PathEscape(uid), m)
			add(url.QueryEscape(uid), m)
		}
	}
	add(c.secret.get(), "[REDACTED]")
	add(c.key.get(), "[REDACTED]")
	for _, t := range c.tok.known() {
		add(t, "[REDACTED]")
	}
	// Longest first, so that a full URL goes before the uid inside it.
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].old) > len(pairs[j].old) })
	for _, p := range pairs {
		s = strings.ReplaceAll(s, p.old, p.repl)
	}
	return customerUIDInText.ReplaceAllStringFunc(s, func(m string) string {
		inner := customerUIDInText.FindStringSubmatch(m)[1]
		if strings.HasPrefix(inner, "****") {
			return m
		}
		return "customer_uid(" + maskUID(inner) + ")"
	})
}

// tokenCache holds the shared access token. One fetch runs at a time;
// callers that need a token meanwhile wait for that fetch.
type tokenCache struct {
	mu        sync.Mutex
	token     sealed
	expiredAt int64         // server clock, Unix seconds
	skew      time.Duration // server clock minus local clock, at the fetch
	inflight  *tokenFetch
	previous  sealed // the last token dropped, kept for redaction only
}

type tokenFetch struct {
	done  chan struct{}
	token sealed
	err   error
}

// known returns the tokens that must never appear in an error.
func (t *tokenCache) known() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return []string{t.token.get(), t.previous.get()}
}

// invalidate drops the token if it is still the one that was refused, so
// that concurrent 401s for the same token cause one refresh, not many.
func (t *tokenCache) invalidate(used string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if used != "" && t.token.get() == used {
		t.previous = t.token
		t.token = nil
	}
}

// accessToken returns a token that is valid for at least refreshMargin by
// the server's clock, fetching one if needed.
func (c *Client) accessToken(ctx context.Context, op string) (string, error) {
	t := c.tok
	t.mu.Lock()
	if tok := t.token.get(); tok != "" {
		serverNow := c.clock().Add(t.skew)
		if serverNow.Add(refreshMargin).Unix() < t.expiredAt {
			t.mu.Unlock()
			return tok, nil
		}
	}
	f := t.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		t.inflight = f
		// The fetch must not die with the first caller's context: others
		// are waiting for it. It is still bounded by the client timeout.
		go c.fetchToken(context.WithoutCancel(ctx), f)
	}
	t.mu.Unlock()
	select {
	case <-f.done:
		return f.token.get(), f.err
	case <-ctx.Done():
		return "", &TransportError{Op: op, Err: ctx.Err()}
	}
}

// fetchToken calls POST /users/getToken and publishes the result to f.
func (c *Client) fetchToken(ctx context.Context, f *tokenFetch) {
	token, expiredAt, skew, err := c.getToken(ctx)
	t := c.tok
	t.mu.Lock()
	if err == nil {
		if old := t.token.get(); old != "" && old != token {
			t.previous = t.token
		}
		t.token, t.expiredAt, t.skew = seal(token), expiredAt, skew
	}
	t.inflight = nil
	f.token, f.err = seal(token), err
	t.mu.Unlock()
	close(f.done)
}

func (c *Client) getToken(ctx context.Context) (token string, expiredAt int64, skew time.Duration, err error) {
	r := &request{
		op:     opGetToken,
		method: http.MethodPost,
		path:   "/users/getToken",
		body: struct {
			Key    string `json:"imp_key"`
			Secret string `json:"imp_secret"`
		}{c.key.get(), c.secret.get()},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return "", 0, 0, err
	}
	localNow := c.clock()
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiredAt   int64  `json:"expired_at"`
		Now         int64  `json:"now"`
	}
	if err := c.decode(r, raw, &out); err != nil {
		return "", 0, 0, err
	}
	if out.AccessToken == "" {
		return "", 0, 0, &TransportError{Op: r.op, Err: errors.New("the answer has no access_token")}
	}
	if out.Now > 0 {
		// PortOne's clock is NTP-synced; ours may not be. Expiry is judged
		// on PortOne's clock, estimated as our clock plus this skew.
		skew = time.Unix(out.Now, 0).Sub(localNow)
	}
	return out.AccessToken, out.ExpiredAt, skew, nil
}
