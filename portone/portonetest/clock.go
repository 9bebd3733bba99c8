package portonetest

import (
	"slices"
	"sync"
	"time"
)

// Clock tells the emulator what time it is. Tests inject a ManualClock to jump past token
// expiry or a schedule's time without sleeping; nil in Options means the real clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

type realClock struct{}

// Now returns the wall-clock time.
func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that only moves when told to. Every Emulator created with a
// ManualClock subscribes to it, so Set and Advance run the emulator's due work (scheduled
// payments, webhook retries) before they return: a test that advances the clock past a
// schedule_at can assert on the executed schedule on the next line.
//
// A ManualClock is safe for concurrent use.
type ManualClock struct {
	mu        sync.Mutex
	now       time.Time
	nextID    int
	listeners map[int]func()
}

// NewManualClock returns a ManualClock that reads t0 until it is moved.
func NewManualClock(t0 time.Time) *ManualClock {
	return &ManualClock{now: t0, listeners: map[int]func(){}}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (forwards or backwards) and then runs the due work of every
// subscribed emulator.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	fns := c.snapshotListeners()
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// Advance moves the clock forward by d, runs the due work of every subscribed emulator, and
// returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	fns := c.snapshotListeners()
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
	return now
}

// subscribe registers f to run after every Set or Advance. Listeners run without the clock's
// lock held, so they may read the clock.
func (c *ManualClock) subscribe(f func()) (unsubscribe func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listeners == nil {
		c.listeners = map[int]func(){}
	}
	id := c.nextID
	c.nextID++
	c.listeners[id] = f
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.listeners, id)
	}
}

func (c *ManualClock) snapshotListeners() []func() {
	ids := make([]int, 0, len(c.listeners))
	for id := range c.listeners {
		ids = append(ids, id)
	}
	// Run in subscription order so that behaviour is reproducible.
	slices.Sort(ids)
	fns := make([]func(), 0, len(ids))
	for _, id := range ids {
		fns = append(fns, c.listeners[id])
	}
	return fns
}

// kst is Korea Standard Time. Korea has no daylight saving time, so a fixed zone is exact and
// avoids depending on the host's tzdata.
var kst = time.FixedZone("KST", 9*60*60)
