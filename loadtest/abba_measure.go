package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
)

// ---- CPU profiles, split by the "side" label ----

type cpuProfile struct{ buf *bytes.Buffer }

func startProfile() (*cpuProfile, error) {
	p := &cpuProfile{buf: &bytes.Buffer{}}
	if err := pprof.StartCPUProfile(p.buf); err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return p, nil
}

// profileFindings is what one CPU profile says: CPU by side, and within the server and the
// worker, the shares of the parts the issue asks about.
type profileFindings struct {
	raw   []byte
	sides map[string]time.Duration
	// parts is CPU by side and part ("server/visibility", "worker/workflow code", ...), a
	// sample counted in every part whose function appears in its stack.
	parts map[string]time.Duration
	// flat is the worker's CPU by leaf function.
	flat map[string]time.Duration
}

// profileParts name, per side, a part of the stack by a substring of a function name.
var profileParts = []struct{ side, part, match string }{
	{"server", "visibility", "/persistence/visibility"},
	{"server", "persistence (SQLite)", "/persistence/sql"},
	{"server", "history service", "/service/history"},
	{"server", "matching service", "/service/matching"},
	{"worker", "workflow code (ours)", "paycycle/paycycle/workflows."},
	{"worker", "workflow code (baseline)", "main.baselineWorkflow"},
	{"worker", "activity code", "paycycle/paycycle/activities."},
	{"worker", "encoding/json", "encoding/json."},
	{"worker", "protobuf", "google.golang.org/protobuf/"},
	{"worker", "gRPC", "google.golang.org/grpc"},
	{"worker", "SDK replay/state machines", "go.temporal.io/sdk/internal.(*workflowExecutionEventHandlerImpl)"},
	{"worker", "SDK coroutine dispatch", "go.temporal.io/sdk/internal.(*dispatcherImpl).ExecuteUntilAllBlocked"},
}

func (p *cpuProfile) stop() profileFindings {
	pprof.StopCPUProfile()
	f := profileFindings{raw: p.buf.Bytes(), sides: map[string]time.Duration{}, parts: map[string]time.Duration{}, flat: map[string]time.Duration{}}
	prof, err := profile.Parse(bytes.NewReader(f.raw))
	if err != nil {
		return f
	}
	vi := len(prof.SampleType) - 1 // cpu nanoseconds
	for _, s := range prof.Sample {
		d := time.Duration(s.Value[vi])
		side := "other"
		if v := s.Label["side"]; len(v) > 0 {
			side = v[0]
		}
		f.sides[side] += d
		seen := map[string]bool{}
		for li, loc := range s.Location {
			for _, line := range loc.Line {
				name := line.Function.Name
				if li == 0 && side == "worker" && !seen["flat"] {
					f.flat[name] += d
					seen["flat"] = true
				}
				for _, pp := range profileParts {
					k := pp.side + "/" + pp.part
					if pp.side == side && !seen[k] && strings.Contains(name, pp.match) {
						f.parts[k] += d
						seen[k] = true
					}
				}
			}
		}
	}
	return f
}

func mergeFindings(rs []*loadResult) profileFindings {
	m := profileFindings{sides: map[string]time.Duration{}, parts: map[string]time.Duration{}, flat: map[string]time.Duration{}}
	for _, r := range rs {
		for k, v := range r.prof.sides {
			m.sides[k] += v
		}
		for k, v := range r.prof.parts {
			m.parts[k] += v
		}
		for k, v := range r.prof.flat {
			m.flat[k] += v
		}
	}
	return m
}

func (f profileFindings) String() string {
	var b strings.Builder
	var total time.Duration
	for _, v := range f.sides {
		total += v
	}
	if total == 0 {
		return "no samples"
	}
	for _, side := range []string{"server", "worker", "edge", "emulator", "driver", "other"} {
		v := f.sides[side]
		if v == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s %.0f%%", side, 100*float64(v)/float64(total))
		var parts []string
		for _, pp := range profileParts {
			if pp.side != side {
				continue
			}
			if d := f.parts[side+"/"+pp.part]; d > 0 {
				parts = append(parts, fmt.Sprintf("%s %.0f%%", pp.part, 100*float64(d)/float64(v)))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, " [of it: %s]", strings.Join(parts, ", "))
		}
		b.WriteString("; ")
	}
	type kv struct {
		k string
		v time.Duration
	}
	var flat []kv
	for k, v := range f.flat {
		flat = append(flat, kv{k, v})
	}
	sort.Slice(flat, func(i, j int) bool { return flat[i].v > flat[j].v })
	if w := f.sides["worker"]; w > 0 && len(flat) > 0 {
		b.WriteString("worker's top leaf functions:")
		for _, x := range flat[:min(6, len(flat))] {
			fmt.Fprintf(&b, " %s %.0f%%", shortFunc(x.k), 100*float64(x.v)/float64(w))
		}
	}
	return b.String()
}

func shortFunc(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}

// ---- histories ----

// runStats is one run's history.
type runStats struct {
	start   time.Time
	events  int
	bytes   int
	cycles  int // charge activities scheduled
	upserts int
	// byType is bytes by event type; countByType the events.
	byType, countByType map[string]int
	// canInput is the continue-as-new input's size (0: the run did not continue), and
	// canFields its top-level fields' sizes (ours: those of "continued").
	canInput  int
	canFields map[string]int
}

// histories returns every run of a workflow ID, oldest first.
func (s *abbaStack) histories(ctx context.Context, wid, chargeActivity string) ([]runStats, error) {
	var runs []string
	var token []byte
	for range 1000 { // pages; bounded
		res, err := s.dc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ns,
			Query: fmt.Sprintf("WorkflowId = '%s'", wid), NextPageToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range res.GetExecutions() {
			runs = append(runs, e.GetExecution().GetRunId())
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%s: no runs listed", wid)
	}
	out := make([]runStats, 0, len(runs))
	for _, run := range runs {
		st := runStats{byType: map[string]int{}, countByType: map[string]int{}}
		it := s.dc.GetWorkflowHistory(ctx, wid, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return nil, err
			}
			if st.events == 0 {
				st.start = ev.GetEventTime().AsTime()
			}
			n := proto.Size(ev)
			st.events++
			st.bytes += n
			t := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
			st.byType[t] += n
			st.countByType[t]++
			switch {
			case ev.GetActivityTaskScheduledEventAttributes() != nil:
				if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == chargeActivity {
					st.cycles++
				}
			case ev.GetUpsertWorkflowSearchAttributesEventAttributes() != nil:
				st.upserts++
			case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
				st.canInput, st.canFields = canInputSize(ev)
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out, nil
}

// canInputSize measures a continue-as-new input (plain JSON payloads: the benchmark runs
// without the codec) and its fields: ours' "continued" state field by field.
func canInputSize(ev *historypb.HistoryEvent) (int, map[string]int) {
	a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes()
	total := 0
	fields := map[string]int{}
	for _, p := range a.GetInput().GetPayloads() {
		total += len(p.GetData())
		var top map[string]json.RawMessage
		if json.Unmarshal(p.GetData(), &top) != nil {
			continue
		}
		if c, ok := top["continued"]; ok {
			var st map[string]json.RawMessage
			if json.Unmarshal(c, &st) == nil {
				for k, v := range st {
					fields["continued."+k] = len(v)
				}
			}
			delete(top, "continued")
		}
		for k, v := range top {
			fields[k] = len(v)
		}
	}
	return total, fields
}

// ageResult is the history of one kind by run index.
type ageResult struct {
	// perRun[i] sums run i+1 over the subscriptions.
	perRun []runStats
	subs   int
	total  runStats
}

func (a ageResult) bytesPerCycle(i int) float64 {
	r := a.perRun[i]
	return float64(r.bytes) / float64(max(r.cycles, 1))
}

// runAge bills c.ageSubs subscriptions of each kind every second for c.ageCycles cycles, both
// kinds at once (no timing is read here), and reads their whole histories.
func (s *abbaStack) runAge(ctx context.Context, c abbaConfig) ([2]ageResult, []string, error) {
	var res [2]ageResult
	var problems []string
	tags := [2]string{"ageo", "ageb"}
	for _, k := range []kind{ours, base} {
		for i, id := range subIDs(tags[k], c.ageSubs) {
			if err := s.start(ctx, k, id, i, time.Second, c.ageCycles); err != nil {
				return res, nil, err
			}
		}
	}
	for _, k := range []kind{ours, base} {
		want := c.ageSubs * c.ageCycles
		for {
			paid, _ := s.paidOf(tags[k] + "-")
			if n, _ := countCycles(paid, c.ageCycles); n >= want {
				break
			}
			select {
			case <-ctx.Done():
				return res, nil, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	for _, k := range []kind{ours, base} {
		ids := subIDs(tags[k], c.ageSubs)
		if _, err := s.finish(ctx, k, ids, time.Second, nil); err != nil {
			return res, nil, err
		}
		paid, pr := s.paidOf(tags[k] + "-")
		problems = append(problems, pr...)
		for _, id := range ids {
			for cy, p := range paid[id] {
				if p.times > 1 {
					problems = append(problems, fmt.Sprintf("%s cycle %d paid %d times", id, cy, p.times))
				}
			}
			if len(paid[id]) < c.ageCycles {
				problems = append(problems, fmt.Sprintf("%s paid %d cycles, want %d", id, len(paid[id]), c.ageCycles))
			}
		}
		act := "Charge"
		if k == base {
			act = baselineChargeName
		}
		res[k].subs = len(ids)
		res[k].total = runStats{byType: map[string]int{}, countByType: map[string]int{}}
		for _, id := range ids {
			runs, err := s.histories(ctx, workflowID(k, id), act)
			if err != nil {
				return res, nil, err
			}
			for i, r := range runs {
				for len(res[k].perRun) <= i {
					res[k].perRun = append(res[k].perRun, runStats{byType: map[string]int{}, countByType: map[string]int{}, canFields: map[string]int{}})
				}
				addRun(&res[k].perRun[i], r)
				addRun(&res[k].total, r)
			}
		}
	}
	return res, problems, nil
}

func addRun(dst *runStats, r runStats) {
	dst.events += r.events
	dst.bytes += r.bytes
	dst.cycles += r.cycles
	dst.upserts += r.upserts
	dst.canInput += r.canInput
	for k, v := range r.byType {
		dst.byType[k] += v
	}
	for k, v := range r.countByType {
		dst.countByType[k] += v
	}
	if dst.canFields != nil {
		for k, v := range r.canFields {
			dst.canFields[k] += v
		}
	}
}

// addAge prints the history figures: whole chains, run by run, the carried state, and which
// event types carry the bytes.
func (f *figures) addAge(out io.Writer, a [2]ageResult) {
	o, b := a[ours], a[base]
	perCycle := func(r runStats) float64 { return float64(r.bytes) / float64(max(r.cycles, 1)) }
	eventsPerCycle := func(r runStats) float64 { return float64(r.events) / float64(max(r.cycles, 1)) }
	fmt.Fprintf(out, "  %-44s %12s %12s %7s\n", "figure", "ours", "baseline", "ratio")
	row := func(name string, x, y float64) {
		f.add(name, x, y)
		fmt.Fprintf(out, "  %-44s %12s %12s %7s\n", name, fmtFig(x), fmtFig(y), fmtRatio(x, y))
	}
	row("history events/cycle, whole chains", eventsPerCycle(o.total), eventsPerCycle(b.total))
	row("history bytes/cycle, whole chains", perCycle(o.total), perCycle(b.total))
	row("search-attribute upserts/cycle", float64(o.total.upserts)/float64(max(o.total.cycles, 1)), float64(b.total.upserts)/float64(max(b.total.cycles, 1)))
	// Full runs only (the last run of a chain is cut short by the end of the benchmark).
	full := min(len(o.perRun), len(b.perRun)) - 1
	for i := range full {
		if i > 1 && i < full-1 {
			continue // first two and the last full run are enough to show the trend
		}
		row(fmt.Sprintf("history bytes/cycle, run %d", i+1), o.bytesPerCycle(i), b.bytesPerCycle(i))
		row(fmt.Sprintf("continue-as-new input bytes, end of run %d", i+1),
			float64(o.perRun[i].canInput)/float64(o.subs), float64(b.perRun[i].canInput)/float64(b.subs))
	}
	if full >= 1 {
		last := full - 1
		r := o.perRun[last]
		fmt.Fprintf(out, "  ours' carried state at the end of run %d, by field (bytes, mean over %d subscriptions):", last+1, o.subs)
		printTop(out, r.canFields, o.subs, 8, false)
		fmt.Fprintf(out, "  bytes per cycle by event type, run %d, ours:", last+1)
		printTop(out, r.byType, max(r.cycles, 1), 8, false)
		fmt.Fprintf(out, "  events per cycle by type, run %d, ours:", last+1)
		printTop(out, r.countByType, max(r.cycles, 1), 10, true)
		rb := b.perRun[last]
		fmt.Fprintf(out, "  bytes per cycle by event type, run %d, baseline:", last+1)
		printTop(out, rb.byType, max(rb.cycles, 1), 8, false)
	}
}

// printTop prints the n largest entries of m divided by div: whole numbers (bytes per cycle),
// or with two decimals (events per cycle) when decimals is set.
func printTop(out io.Writer, m map[string]int, div, n int, decimals bool) {
	type kv struct {
		k string
		v int
	}
	var xs []kv
	for k, v := range m {
		xs = append(xs, kv{k, v})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v || (xs[i].v == xs[j].v && xs[i].k < xs[j].k) })
	for _, x := range xs[:min(n, len(xs))] {
		if decimals {
			fmt.Fprintf(out, " %s %.2f", x.k, float64(x.v)/float64(div))
		} else {
			fmt.Fprintf(out, " %s %d", x.k, x.v/div)
		}
	}
	fmt.Fprintln(out)
}

// ---- memory of cached idle subscriptions ----

type memResult struct {
	n                  int
	heapPer            float64 // bytes
	goroutinesPer      float64
	heapCached, heapMT uint64
	// processPer and processGoroutinesPer are the whole process's growth per subscription
	// from before the starts to the cached state: the server's state for them included.
	processPer           float64
	processGoroutinesPer float64
	goroutineGroups      map[string]int
	// stackPer is the goroutine stacks' share of heapPer.
	stackPer float64
}

func (m memResult) summary() string {
	var groups []string
	keys := make([]string, 0, len(m.goroutineGroups))
	for k := range m.goroutineGroups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m.goroutineGroups[keys[i]] > m.goroutineGroups[keys[j]] })
	for _, k := range keys[:min(8, len(keys))] {
		groups = append(groups, fmt.Sprintf("%s ×%.2f", k, float64(m.goroutineGroups[k])/float64(m.n)))
	}
	return fmt.Sprintf("worker: %.1f KiB (of it stacks %.1f KiB) and %.2f goroutines per cached subscription (live heap + stacks %.1f MiB cached → %.1f MiB with the sticky cache purged); whole process (server's state included): %.1f KiB and %.2f goroutines per subscription; the worker's goroutines, per subscription, by their topmost workflow-code frame: %s; load %s",
		m.heapPer/1024, m.stackPer/1024, m.goroutinesPer, float64(m.heapCached)/(1<<20), float64(m.heapMT)/(1<<20), m.processPer/1024, m.processGoroutinesPer,
		strings.Join(groups, ", "), loadAvg())
}

// liveHeap is the live heap after a full GC plus the goroutine stacks (a parked workflow
// coroutine's stack is memory the cache holds, and not in the heap figures).
func liveHeap() uint64 {
	heap, stacks := liveHeapAndStacks()
	return heap + stacks
}

// liveHeapAndStacks collects ten times, then reads the live heap and the goroutine stacks. The
// runtime halves a parked goroutine's stack at most once per collection (when it uses under a
// quarter of it), so a workflow coroutine that grew while handling its last task keeps that size
// for a few collections; a subscription that sleeps for a month sees thousands, and its stack
// is then what it uses, rounded up to a power of two.
func liveHeapAndStacks() (heap, stacks uint64) {
	for range 10 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

// writeHeapProfile writes the live heap (after the GC liveHeap ran) to dir/name.pprof, so that
// `go tool pprof -base heap-purged-o.pprof heap-cached-o.pprof` shows what the cached workflows
// hold. No dir: nothing is written.
func writeHeapProfile(dir, name string) {
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}

// runIdle starts n subscriptions of kind k that charge once and then wait an hour, measures
// the process with them cached on the worker, then with the worker's sticky cache purged: the
// difference (live heap after a GC, goroutines) is what the cached workflows cost the worker.
// The server keeps its own state for them throughout, so it is not in the difference.
func (s *abbaStack) runIdle(ctx context.Context, k kind, n int, profileDir string) (memResult, error) {
	tag := "idle" + k.letter()
	ids := subIDs(tag, n)
	h0 := liveHeap()
	g0 := runtime.NumGoroutine()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs error
	sem := make(chan struct{}, 32)
	labelled("driver", func() {
		for i, id := range ids {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := s.start(ctx, k, id, i, time.Hour, 2); err != nil {
					mu.Lock()
					errs = errors.Join(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
	if errs != nil {
		return memResult{}, errs
	}
	for {
		paid, _ := s.paidOf(tag + "-")
		if c, _ := countCycles(paid, 1); c >= n {
			break
		}
		select {
		case <-ctx.Done():
			return memResult{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	time.Sleep(3 * time.Second) // the workflow task after each charge completes
	m := memResult{n: n}
	heapCached, stackCached := liveHeapAndStacks()
	m.heapCached = heapCached + stackCached
	writeHeapProfile(profileDir, "heap-cached-"+k.letter())
	g1 := runtime.NumGoroutine()
	m.goroutineGroups = workflowGoroutines()
	// The SDK asks for stopped workers before a purge, so that no workflow task runs on a
	// workflow being evicted. None runs here: every subscription waits on an hour's timer
	// and the last workflow task finished seconds ago. Restarting the workers instead would
	// put their own start-up allocations (megabytes) into the difference.
	worker.PurgeStickyWorkflowCache()
	heapMT, stackMT := liveHeapAndStacks()
	m.heapMT = heapMT + stackMT
	m.stackPer = (float64(stackCached) - float64(stackMT)) / float64(n)
	writeHeapProfile(profileDir, "heap-purged-"+k.letter())

	g3 := runtime.NumGoroutine()
	m.heapPer = (float64(m.heapCached) - float64(m.heapMT)) / float64(n)
	m.goroutinesPer = float64(g1-g3) / float64(n)
	m.processPer = (float64(m.heapCached) - float64(h0)) / float64(n)
	m.processGoroutinesPer = float64(g1-g0) / float64(n)
	// The subscriptions are not needed any more.
	labelled("driver", func() {
		for _, id := range ids {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				_ = s.dc.TerminateWorkflow(ctx, workflowID(k, id), "", "benchmark over")
			}()
		}
		wg.Wait()
	})
	return m, nil
}

// workflowGoroutines groups the goroutines running workflow code (ours or the baseline's) by
// their topmost frame in that code: what each cached workflow keeps parked.
func workflowGoroutines() map[string]int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	out := map[string]int{}
	for block := range strings.SplitSeq(buf.String(), "\n\n") {
		for line := range strings.SplitSeq(block, "\n") {
			if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "created by") {
				continue
			}
			if strings.Contains(line, "paycycle/paycycle/workflows.") || strings.Contains(line, "main.baselineWorkflow") {
				name := line
				if i := strings.LastIndex(name, "("); i > 0 {
					name = name[:i]
				}
				out[shortFunc(name)]++
				break
			}
		}
	}
	return out
}

// addMemory adds the memory figures.
func (f *figures) addMemory(out io.Writer, m [2]memResult) {
	fmt.Fprintf(out, "  %-44s %12s %12s %7s\n", "figure", "ours", "baseline", "ratio")
	row := func(name string, x, y float64) {
		f.add(name, x, y)
		fmt.Fprintf(out, "  %-44s %12s %12s %7s\n", name, fmtFig(x), fmtFig(y), fmtRatio(x, y))
	}
	row("KiB per cached idle subscription", m[ours].heapPer/1024, m[base].heapPer/1024)
	row("goroutines per cached idle subscription", m[ours].goroutinesPer, m[base].goroutinesPer)
	row("process KiB per idle subscription (+server)", m[ours].processPer/1024, m[base].processPer/1024)
}
