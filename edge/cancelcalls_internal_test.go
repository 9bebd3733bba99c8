package edge

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCancelCallsShareOneCallAndStayBounded(t *testing.T) {
	c := newCancelCalls(3, time.Minute)
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }

	// Concurrent calls with one key run fn once and share its answer.
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, status := c.do("k", func() (managePage, int) {
				runs.Add(1)
				<-release
				return managePage{Outcome: "canceled"}, http.StatusOK
			})
			if status != http.StatusOK || p.Outcome != "canceled" {
				t.Errorf("got %d %q", status, p.Outcome)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("fn ran %d times for one key", runs.Load())
	}
	if p, ok := c.result("k"); !ok || p.Outcome != "canceled" {
		t.Fatal("the answer was not remembered")
	}

	// A failure is forgotten, so the same form can be submitted again.
	c.do("fail", func() (managePage, int) { return managePage{}, http.StatusServiceUnavailable })
	if _, ok := c.result("fail"); ok {
		t.Fatal("a failure was remembered")
	}
	again := 0
	c.do("fail", func() (managePage, int) { again++; return managePage{}, http.StatusOK })
	if again != 1 {
		t.Fatal("a failed call was not retried")
	}

	// Bounded: never more than max finished calls; the oldest go first, and expired ones too.
	for i := range 10 {
		now = now.Add(time.Second)
		c.do("n"+strconv.Itoa(i), func() (managePage, int) { return managePage{}, http.StatusOK })
	}
	c.mu.Lock()
	n := len(c.calls)
	c.mu.Unlock()
	if n > 3 {
		t.Fatalf("%d calls remembered, max 3", n)
	}
	if _, ok := c.result("n9"); !ok {
		t.Fatal("the newest call was dropped")
	}
	now = now.Add(2 * time.Minute)
	if _, ok := c.result("n9"); ok {
		t.Fatal("an expired answer was served")
	}
	c.do("late", func() (managePage, int) { return managePage{}, http.StatusOK })
	if _, ok := c.result("n9"); ok {
		t.Fatal("an expired call was kept")
	}
}
