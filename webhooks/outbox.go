package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// DeliveryStatus is where one event's delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	// StatusPending: waiting for earlier events of the subscription, or being delivered.
	StatusPending DeliveryStatus = "pending"
	// StatusDelivered: every endpoint answered 2xx.
	StatusDelivered DeliveryStatus = "delivered"
	// StatusFailed: an endpoint kept refusing for the whole delivery window; the outbox went on
	// with the next event. UpdateRedeliver sends it again.
	StatusFailed DeliveryStatus = "failed"
)

// Delivery is one event and its delivery state.
type Delivery struct {
	Event  billing.MerchantEvent `json:"event"`
	Status DeliveryStatus        `json:"status"`
	// Queued counts how often the event was queued: 1, plus one per redelivery.
	Queued      int              `json:"queued"`
	Attempts    int32            `json:"attempts,omitempty"`
	LastError   string           `json:"last_error,omitempty"`
	StartedAt   time.Time        `json:"started_at,omitzero"`
	DeliveredAt time.Time        `json:"delivered_at,omitzero"`
	Endpoints   []EndpointResult `json:"endpoints,omitempty"`
}

// OutboxInput starts (or continues) a subscription's outbox.
type OutboxInput struct {
	SubscriptionID string `json:"subscription_id"`
	// DeliveryTaskQueue is the task queue of the delivery activity (empty: the outbox's own).
	DeliveryTaskQueue string `json:"delivery_task_queue,omitempty"`
	// DeliveryWindow bounds how long one event is retried before it is marked failed
	// (zero: DefaultDeliveryWindow).
	DeliveryWindow billing.Duration `json:"delivery_window,omitempty"`
	// Carried is the state continued from the previous run.
	Carried *OutboxState `json:"carried,omitempty"`
}

// OutboxState is the outbox's whole state: the deliveries query's answer.
type OutboxState struct {
	SubscriptionID string `json:"subscription_id"`
	// LastSeq is the highest event Seq received of Stream (the subscription incarnation's tag,
	// from the event IDs); events at or below it are duplicates. A subscription ID reused after
	// its end starts a new stream at Seq 1.
	LastSeq int64  `json:"last_seq"`
	Stream  string `json:"stream,omitempty"`
	// Deliveries are the recent events, oldest first (bounded by MaxDeliveries).
	Deliveries []Delivery `json:"deliveries"`
	// Queue is the ID of each event waiting for delivery, in delivery order.
	Queue []string `json:"queue,omitempty"`
	// Omitted counts delivered or failed events dropped from the state to bound it; they stay in
	// earlier runs' histories.
	Omitted int `json:"omitted,omitempty"`
	// Gaps counts events that never reached the outbox (dropped by the subscription while it
	// could not hand them over); a receiver sees the missing Seq.
	Gaps int `json:"gaps,omitempty"`
	// EndedAt is when the subscription's final event arrived; the outbox stays for
	// RedeliveryRetention after that, for redeliveries.
	EndedAt time.Time `json:"ended_at,omitzero"`
	// Runs counts this outbox's runs (continue-as-new).
	Runs int `json:"runs"`
}

// RedeliverRequest names the events to deliver again: by ID, or every event whose timestamp
// is in [From, To).
type RedeliverRequest struct {
	EventIDs []string  `json:"event_ids,omitempty"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
}

// RedeliverResult says which events were queued again.
type RedeliverResult struct {
	Queued []string `json:"queued"`
}

// Outbox limits and defaults.
const (
	// DefaultDeliveryWindow is how long an event is retried: a receiver down for a day still
	// gets everything, in order, once it is back.
	DefaultDeliveryWindow = 72 * time.Hour
	// MaxDeliveries bounds the deliveries kept in the state (and redeliverable).
	MaxDeliveries = 300
	// RedeliveryRetention is how long an ended subscription's outbox stays for redeliveries.
	RedeliveryRetention = 30 * 24 * time.Hour
	// deliveriesPerRun is how many deliveries one run makes before continuing as new.
	deliveriesPerRun = 200
)

// Outbox is the per-subscription event outbox workflow (billing.EventsWorkflowType). It
// delivers events one at a time in Seq order, each retried with backoff for the delivery
// window, then marked failed so that the next goes on. It ends RedeliveryRetention after the
// subscription's final event was delivered.
func Outbox(ctx workflow.Context, in OutboxInput) (OutboxState, error) {
	if err := billing.ValidateSubscriptionID(in.SubscriptionID); err != nil {
		return OutboxState{}, temporal.NewNonRetryableApplicationError("invalid outbox input: "+err.Error(), billing.ErrorTypeInvalidInput, nil)
	}
	if want := billing.EventsWorkflowID(in.SubscriptionID); workflow.GetInfo(ctx).WorkflowExecution.ID != want {
		return OutboxState{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("invalid outbox input: workflow ID must be %q", want), billing.ErrorTypeInvalidInput, nil)
	}
	o := &outbox{ctx: ctx, in: in, s: OutboxState{SubscriptionID: in.SubscriptionID, Deliveries: []Delivery{}}}
	if in.Carried != nil {
		if in.Carried.SubscriptionID != in.SubscriptionID || workflow.GetInfo(ctx).ContinuedExecutionRunID == "" {
			return OutboxState{}, temporal.NewNonRetryableApplicationError("invalid outbox input: carried state is the outbox's own, across continue-as-new", billing.ErrorTypeInvalidInput, nil)
		}
		o.s = *in.Carried
	}
	o.s.Runs++
	if err := o.register(); err != nil {
		return OutboxState{}, err
	}
	return o.run()
}

type outbox struct {
	ctx      workflow.Context
	in       OutboxInput
	s        OutboxState
	signals  workflow.ReceiveChannel
	dirty    bool
	runCount int
}

func (o *outbox) register() error {
	o.signals = workflow.GetSignalChannel(o.ctx, billing.SignalEvents)
	workflow.Go(o.ctx, func(ctx workflow.Context) {
		for {
			var batch []billing.MerchantEvent
			if !o.signals.Receive(ctx, &batch) {
				return
			}
			o.accept(batch)
		}
	})
	if err := workflow.SetQueryHandler(o.ctx, billing.QueryDeliveries, func() (OutboxState, error) { return o.s, nil }); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(o.ctx, billing.UpdateRedeliver, o.redeliverRaw, workflow.UpdateHandlerOptions{Validator: o.validateRedeliverRaw})
}

// validateRedeliverRaw decodes the payload strictly, as the subscription's messages are: a null
// payload, or a field the request does not have (a misspelt "too" would otherwise be dropped
// and "from..to" become "from on"), is refused naming it. Only the validator is strict:
// validators do not run on replay, so histories that accepted such a payload still replay.
func (o *outbox) validateRedeliverRaw(_ workflow.Context, raw json.RawMessage) error {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	var req RedeliverRequest
	//workflowcheck:ignore decoding JSON into structs is deterministic
	if err := billing.DecodeStrict(raw, &req); err != nil {
		return temporal.NewApplicationError("malformed payload: "+err.Error(), billing.ErrorTypeInvalidInput)
	}
	return o.validateRedeliver(req)
}

// redeliverRaw decodes the payload as the SDK did when the handler took a RedeliverRequest
// (encoding/json, lenient), so that every recorded redelivery replays the same.
func (o *outbox) redeliverRaw(ctx workflow.Context, raw json.RawMessage) (RedeliverResult, error) {
	var req RedeliverRequest
	if len(raw) > 0 {
		//workflowcheck:ignore decoding JSON into structs is deterministic
		if err := json.Unmarshal(raw, &req); err != nil {
			return RedeliverResult{}, temporal.NewApplicationError("malformed payload: "+err.Error(), billing.ErrorTypeInvalidInput)
		}
	}
	return o.redeliver(ctx, req)
}

// accept adds a batch of events, ignoring those already received.
func (o *outbox) accept(batch []billing.MerchantEvent) {
	slices.SortFunc(batch, func(a, b billing.MerchantEvent) int { return int(a.Seq - b.Seq) })
	for _, e := range batch {
		if e.SubscriptionID != o.s.SubscriptionID {
			continue
		}
		if stream := streamOf(e.ID); stream != o.s.Stream {
			if o.s.Stream != "" && slices.ContainsFunc(o.s.Deliveries, func(d Delivery) bool { return streamOf(d.Event.ID) == stream }) {
				continue // a late duplicate of an earlier incarnation's event
			}
			// A new incarnation of the subscription ID: its own sequence from 1.
			o.s.Stream, o.s.LastSeq = stream, 0
			o.s.EndedAt = time.Time{}
		}
		if e.Seq <= o.s.LastSeq {
			continue
		}
		if e.Seq > o.s.LastSeq+1 && o.s.LastSeq > 0 {
			o.s.Gaps += int(e.Seq - o.s.LastSeq - 1)
		}
		o.s.LastSeq = e.Seq
		o.s.Deliveries = append(o.s.Deliveries, Delivery{Event: e, Status: StatusPending, Queued: 1})
		o.s.Queue = append(o.s.Queue, e.ID)
		if e.Final() {
			o.s.EndedAt = workflow.Now(o.ctx).UTC()
		}
	}
	o.dirty = true
	o.trim()
}

// streamOf is the incarnation tag in an event ID (evt_<subscription>_<tag>_<seq>).
func streamOf(id string) string {
	i := strings.LastIndexByte(id, '_')
	if i <= 0 {
		return ""
	}
	j := strings.LastIndexByte(id[:i], '_')
	if j < 0 {
		return ""
	}
	return id[j+1 : i]
}

// trim drops the oldest settled deliveries beyond MaxDeliveries; pending ones always stay.
func (o *outbox) trim() {
	for len(o.s.Deliveries) > MaxDeliveries && o.s.Deliveries[0].Status != StatusPending {
		o.s.Deliveries = o.s.Deliveries[1:]
		o.s.Omitted++
	}
}

func (o *outbox) validateRedeliver(req RedeliverRequest) error {
	if len(req.EventIDs) == 0 && req.From.IsZero() && req.To.IsZero() {
		return errors.New("name the events to redeliver: event_ids, or a from/to time range")
	}
	if len(req.EventIDs) > MaxDeliveries {
		return fmt.Errorf("at most %d event IDs at once", MaxDeliveries)
	}
	if !req.From.IsZero() && !req.To.IsZero() && !req.From.Before(req.To) {
		return errors.New("from must be before to")
	}
	for _, id := range req.EventIDs {
		if o.find(id) < 0 {
			return fmt.Errorf("event %q is not in this outbox (it keeps the latest %d events)", id, MaxDeliveries)
		}
	}
	if len(o.matching(req)) == 0 {
		return errors.New("no event in this outbox matches")
	}
	return nil
}

func (o *outbox) find(id string) int {
	return slices.IndexFunc(o.s.Deliveries, func(d Delivery) bool { return d.Event.ID == id })
}

// matching lists the indexes of the deliveries a redelivery request names.
func (o *outbox) matching(req RedeliverRequest) []int {
	var out []int
	for i, d := range o.s.Deliveries {
		byID := slices.Contains(req.EventIDs, d.Event.ID)
		inRange := len(req.EventIDs) == 0 &&
			(req.From.IsZero() || !d.Event.Timestamp.Before(req.From)) && (req.To.IsZero() || d.Event.Timestamp.Before(req.To))
		if byID || inRange {
			out = append(out, i)
		}
	}
	return out
}

// redeliver queues the named events again, in Seq order; an event still pending stays queued
// once.
func (o *outbox) redeliver(_ workflow.Context, req RedeliverRequest) (RedeliverResult, error) {
	res := RedeliverResult{Queued: []string{}}
	for _, i := range o.matching(req) {
		d := &o.s.Deliveries[i]
		if d.Status != StatusPending {
			d.Status = StatusPending
			d.Queued++
			o.s.Queue = append(o.s.Queue, d.Event.ID)
		}
		res.Queued = append(res.Queued, d.Event.ID)
	}
	// Deliver in the order the events were made (their place in Deliveries).
	slices.SortStableFunc(o.s.Queue, func(a, b string) int { return o.find(a) - o.find(b) })
	o.s.Queue = slices.Compact(o.s.Queue)
	o.dirty = true
	return res, nil
}

func (o *outbox) window() time.Duration {
	if w := o.in.DeliveryWindow.Std(); w > 0 {
		return w
	}
	return DefaultDeliveryWindow
}

func (o *outbox) run() (OutboxState, error) {
	for {
		o.dirty = false
		if len(o.s.Queue) > 0 {
			o.deliverNext()
			o.runCount++
			continue
		}
		if o.runCount >= deliveriesPerRun || workflow.GetInfo(o.ctx).GetContinueAsNewSuggested() {
			quiet, err := o.quiet()
			if err != nil {
				return o.s, err
			}
			if !quiet {
				continue // events came in while the run was closing: deliver them first
			}
			next := o.in
			carried := o.s
			next.Carried = &carried
			return OutboxState{}, workflow.NewContinueAsNewError(o.ctx, billing.EventsWorkflowType, next)
		}
		if !o.s.EndedAt.IsZero() {
			left := o.s.EndedAt.Add(RedeliveryRetention).Sub(workflow.Now(o.ctx))
			timedOut := left <= 0
			if !timedOut {
				ok, err := workflow.AwaitWithTimeout(o.ctx, left, func() bool { return o.dirty })
				if err != nil {
					return o.s, err
				}
				timedOut = !ok
			}
			if !timedOut {
				continue
			}
			quiet, err := o.quiet()
			if err != nil || quiet {
				return o.s, err
			}
			continue
		}
		if err := workflow.Await(o.ctx, func() bool { return o.dirty }); err != nil {
			return o.s, err
		}
	}
}

// deliverNext delivers the first queued event (the whole retry window, if need be).
func (o *outbox) deliverNext() {
	id := o.s.Queue[0]
	i := o.find(id)
	if i < 0 {
		o.s.Queue = o.s.Queue[1:]
		return
	}
	ev := o.s.Deliveries[i].Event
	o.s.Deliveries[i].StartedAt = workflow.Now(o.ctx).UTC()
	actx := workflow.WithActivityOptions(o.ctx, workflow.ActivityOptions{
		TaskQueue:              o.in.DeliveryTaskQueue,
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: o.window(),
		HeartbeatTimeout:       time.Minute,
		Summary:                fmt.Sprintf("deliver %s #%d", ev.Type, ev.Seq),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    15 * time.Minute,
		},
	})
	var res DeliverResult
	err := workflow.ExecuteActivity(actx, DeliverActivityName, DeliverInput{Event: ev}).Get(o.ctx, &res)
	// The handlers may have trimmed or reordered deliveries meanwhile: find the event again.
	i = o.find(id)
	o.s.Queue = slices.DeleteFunc(o.s.Queue, func(q string) bool { return q == id })
	if i < 0 {
		return
	}
	del := &o.s.Deliveries[i]
	if err != nil {
		del.Status = StatusFailed
		del.LastError = lastError(err)
		workflow.GetLogger(o.ctx).Warn("event not delivered within the delivery window", "event_id", ev.ID, "error", del.LastError)
	} else {
		del.Status = StatusDelivered
		del.LastError = ""
		del.Attempts += res.Attempt
		del.DeliveredAt = workflow.Now(o.ctx).UTC()
		del.Endpoints = res.Endpoints
	}
	o.trim()
}

// lastError is the endpoint's last refusal, without Temporal's wrapping.
func lastError(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		if cause := errors.Unwrap(to); cause != nil {
			return "delivery window over; last: " + lastError(cause)
		}
		return "delivery window over"
	}
	return err.Error()
}

// drain takes the signals already delivered to this run, so that none is lost when it ends.
func (o *outbox) drain() {
	for {
		var batch []billing.MerchantEvent
		if !o.signals.ReceiveAsync(&batch) {
			return
		}
		o.accept(batch)
	}
}

// quiet lets every handler finish and takes the signals already delivered, so that none is lost
// when the run ends; it reports whether nothing is left to deliver.
func (o *outbox) quiet() (bool, error) {
	if err := workflow.Await(o.ctx, func() bool { return workflow.AllHandlersFinished(o.ctx) }); err != nil {
		return false, err
	}
	o.drain()
	return len(o.s.Queue) == 0, nil
}
