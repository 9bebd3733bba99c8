package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/nofollow"
)

// Endpoint is one merchant URL that receives every event.
type Endpoint struct {
	// Name identifies the endpoint in delivery state and logs (the URL's host and path: no
	// query string, which may carry a token).
	Name string
	URL  string
}

// ParseEndpoints reads comma- or whitespace-separated http(s) URLs. Each must be absolute with a
// host; the list may be empty (no event stream).
func ParseEndpoints(list string) ([]Endpoint, error) {
	var out []Endpoint
	for f := range strings.FieldsFuncSeq(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhook endpoint %q must be an absolute http or https URL", redactURL(f))
		}
		name := u.Host + u.EscapedPath()
		if slices.ContainsFunc(out, func(e Endpoint) bool { return e.Name == name }) {
			return nil, fmt.Errorf("webhook endpoint %s is listed twice", name)
		}
		out = append(out, Endpoint{Name: name, URL: f})
	}
	return out, nil
}

// redactURL drops a URL's query and user info for error messages.
func redactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "//"); j >= 0 && j < i {
			s = s[:j+2] + s[i+1:]
		}
	}
	return s
}

// Deliverer is the delivery activity: it POSTs one event to every endpoint, signed. Endpoints
// and secrets come from the worker's environment, never from workflow history.
type Deliverer struct {
	Endpoints []Endpoint
	Signer    *Signer
	// Client sends the requests; its Timeout bounds a slow receiver. Required. Its redirect
	// policy is ignored: a redirect is never followed (a 3xx is a failed delivery, retried like
	// any non-2xx answer), since following one would POST nothing (301/302/303 become a GET
	// without the body) with the signed headers to a URL the receiver chose, and count that
	// URL's answer as the configured endpoint's.
	Client *http.Client
	// Now is the signing clock (webhook-timestamp); defaults to time.Now.
	Now func() time.Time
}

// DeliverInput is one event to deliver.
type DeliverInput struct {
	Event billing.MerchantEvent `json:"event"`
}

// EndpointResult is how one endpoint answered.
type EndpointResult struct {
	Endpoint string    `json:"endpoint"`
	Status   int       `json:"status"`
	At       time.Time `json:"at"`
}

// DeliverResult is a completed delivery: every endpoint answered 2xx.
type DeliverResult struct {
	Endpoints []EndpointResult `json:"endpoints"`
	// Attempt is the activity attempt that completed (1: first try).
	Attempt int32 `json:"attempt"`
}

// ErrTypeEndpointRefused marks a delivery an endpoint refused with a non-2xx status.
const ErrTypeEndpointRefused = "EndpointRefused"

// Deliver sends the event to the endpoints that have not answered 2xx yet. Those that did are
// remembered in the activity's heartbeat details, so a retry resends only to the others: the
// delivery is at least once per endpoint (a receiver dedupes by the event ID), in the order
// the outbox hands events over.
func (d *Deliverer) Deliver(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	info := activity.GetInfo(ctx)
	var done []EndpointResult
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &done)
	}
	body, err := json.Marshal(in.Event)
	if err != nil {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError("event does not encode", "BadEvent", err)
	}
	var failures []string
	for _, ep := range d.Endpoints {
		if slices.ContainsFunc(done, func(r EndpointResult) bool { return r.Endpoint == ep.Name }) {
			continue
		}
		status, err := d.post(ctx, ep, in.Event.ID, body)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", ep.Name, err))
			continue
		}
		done = append(done, EndpointResult{Endpoint: ep.Name, Status: status, At: d.now().UTC()})
		activity.RecordHeartbeat(ctx, done)
	}
	if len(failures) > 0 {
		return DeliverResult{}, temporal.NewApplicationError(strings.Join(failures, "; "), ErrTypeEndpointRefused)
	}
	return DeliverResult{Endpoints: done, Attempt: info.Attempt}, nil
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// post makes one signed request and reports the 2xx status, or why it failed.
func (d *Deliverer) post(ctx context.Context, ep Endpoint, id string, body []byte) (int, error) {
	h, err := d.Signer.Headers(id, d.now(), body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("bad endpoint URL")
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paycycle-webhooks/1")
	res, err := nofollow.Strict(d.Client).Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			// The URL may carry a token in its query: report the failure without it.
			return 0, uerr.Err
		}
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		// The status and, for a redirect, its Location: what `starter events` shows.
		return res.StatusCode, fmt.Errorf("answered %s", nofollow.Describe(res))
	}
	return res.StatusCode, nil
}
