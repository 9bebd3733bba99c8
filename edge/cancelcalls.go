package edge

import (
	"net/http"
	"sync"
	"time"
)

// cancelCalls makes the submits of one confirmation form one cancel in this process: the first
// submit sends the update, a second one arriving meanwhile (a double click) waits for it, and
// later ones within the TTL get the remembered page. The workflow's request_id (and Temporal's
// update ID) already make a duplicate harmless; this is what makes the duplicate's page say
// the same thing as the first, which the browser shows after a double click. It is bounded and
// per process: another replica falls back to reading the state.
type cancelCalls struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	calls map[string]*cancelCall
}

type cancelCall struct {
	done   chan struct{}
	page   managePage
	status int
	at     time.Time
}

func newCancelCalls(maxEntries int, ttl time.Duration) *cancelCalls {
	return &cancelCalls{max: maxEntries, ttl: ttl, now: time.Now, calls: map[string]*cancelCall{}}
}

// result returns the remembered page of a finished, successful call.
func (c *cancelCalls) result(key string) (managePage, bool) {
	c.mu.Lock()
	call, ok := c.calls[key]
	c.mu.Unlock() // call.page and call.status are written before done closes
	if !ok {
		return managePage{}, false
	}
	select {
	case <-call.done:
		return call.page, call.status == http.StatusOK && c.now().Sub(call.at) <= c.ttl
	default:
		return managePage{}, false
	}
}

// do runs fn once per key at a time and shares its answer. A failed answer (not 200) is
// forgotten, so that submitting the form again retries.
func (c *cancelCalls) do(key string, fn func() (managePage, int)) (managePage, int) {
	c.mu.Lock()
	if call, ok := c.calls[key]; ok {
		c.mu.Unlock()
		<-call.done
		return call.page, call.status
	}
	call := &cancelCall{done: make(chan struct{}), at: c.now()}
	c.prune()
	c.calls[key] = call
	c.mu.Unlock()

	defer close(call.done)
	call.status = http.StatusInternalServerError // if fn panics, waiters see a failure
	call.page, call.status = fn()
	if call.status != http.StatusOK {
		c.mu.Lock()
		delete(c.calls, key)
		c.mu.Unlock()
	}
	return call.page, call.status
}

// prune drops expired finished calls, then the oldest finished ones beyond max; calls in flight
// stay (there are at most as many as requests in flight). Called with mu held.
func (c *cancelCalls) prune() {
	now := c.now()
	for k, call := range c.calls {
		select {
		case <-call.done:
			if now.Sub(call.at) > c.ttl {
				delete(c.calls, k)
			}
		default:
		}
	}
	for len(c.calls) >= c.max {
		oldest := ""
		for k, call := range c.calls {
			select {
			case <-call.done:
				if oldest == "" || call.at.Before(c.calls[oldest].at) {
					oldest = k
				}
			default:
			}
		}
		if oldest == "" {
			return // everything is in flight
		}
		delete(c.calls, oldest)
	}
}
