package portone

import (
	"encoding/json"
	"time"
)

// Exchange describes one HTTP exchange with PortOne, as reported to an observer installed with
// WithObserver. It carries the route template, never a URL, an ID, a token or a body, so that it
// can feed metrics without leaking anything.
type Exchange struct {
	// Op is the route template, e.g. "POST /subscribe/payments/again".
	Op string
	// HTTPStatus is the answer's status, 0 when no answer arrived (Err is then set).
	HTTPStatus int
	// Code is the PortOne envelope's code (0 accepted, -1 refused, …); meaningful only when
	// HasCode is true.
	Code int
	// HasCode is true when the answer was a PortOne envelope with a code.
	HasCode bool
	// Err is the transport failure when no (complete) answer arrived.
	Err error
	// Duration is from sending the request to reading the whole answer.
	Duration time.Duration
}

// WithObserver installs fn, called once per HTTP exchange (the token request and a retry after
// a refused token included) from the calling goroutine, after the answer was read. It must be
// fast and safe for concurrent use. It exists so that metrics can be kept outside this package,
// which imports nothing of the project's.
func WithObserver(fn func(Exchange)) Option {
	return func(s *settings) error {
		if fn == nil {
			return &ValidationError{Op: "NewClient", Field: "observer", Reason: "is nil"}
		}
		s.observer = fn
		return nil
	}
}

// observe reports one exchange to the observer, if any.
func (c *Client) observe(r *request, start time.Time, res *response, err error) {
	if c.observer == nil {
		return
	}
	e := Exchange{Op: r.op, Duration: time.Since(start), Err: err}
	if res != nil {
		e.HTTPStatus = res.status
		var env struct {
			Code *flexInt `json:"code"`
		}
		if json.Unmarshal(res.body, &env) == nil && env.Code != nil {
			e.Code, e.HasCode = int(*env.Code), true
		}
	}
	c.observer(e)
}
