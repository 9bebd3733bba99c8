package edge

import (
	"container/list"
	"sync"
	"time"
)

// dedupe remembers recently relayed notifications so that PortOne's duplicate deliveries do
// not become duplicate signals. It is an optimisation only: a signal relayed twice is
// harmless (the workflow settles charges by its own lookup), so the memory is bounded in size
// and age and is not shared between replicas.
type dedupe struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	items map[string]*list.Element
	order *list.List // oldest first; values are *dedupeEntry
}

type dedupeEntry struct {
	key string
	at  time.Time
}

func newDedupe(maxEntries int, ttl time.Duration) *dedupe {
	return &dedupe{
		max:   maxEntries,
		ttl:   ttl,
		now:   time.Now,
		items: map[string]*list.Element{},
		order: list.New(),
	}
}

// reserve records key and reports true, or reports false when key was recorded within the
// TTL. A caller that then fails to relay calls release, so that PortOne's retry is relayed.
func (d *dedupe) reserve(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if el, ok := d.items[key]; ok {
		if now.Sub(el.Value.(*dedupeEntry).at) < d.ttl {
			return false
		}
		d.order.Remove(el)
		delete(d.items, key)
	}
	d.items[key] = d.order.PushBack(&dedupeEntry{key: key, at: now})
	for d.order.Len() > d.max {
		oldest := d.order.Front()
		d.order.Remove(oldest)
		delete(d.items, oldest.Value.(*dedupeEntry).key)
	}
	return true
}

// release forgets key.
func (d *dedupe) release(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.items[key]; ok {
		d.order.Remove(el)
		delete(d.items, key)
	}
}
