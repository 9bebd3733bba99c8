package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
)

// DefaultAt is the default time of the nightly run in KST: after the day's charges and
// PortOne's own late updates, before the billing team starts work.
const DefaultAt = "04:00"

// ScheduleConfig configures the nightly Temporal Schedule.
type ScheduleConfig struct {
	// At is HH:MM in KST, or "off".
	At string
	// TaskQueue runs the workflow (the billing task queue).
	TaskQueue string
	// Input is what every scheduled run gets (its window is derived from the fire time).
	Input Input
}

// ParseAt reads HH:MM (KST) for BILLING_RECONCILE_AT; "off" gives ok false.
func ParseAt(s string) (hour, minute int, ok bool, err error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return 0, 0, false, nil
	}
	h, m, found := strings.Cut(s, ":")
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(m)
	if !found || err1 != nil || err2 != nil || len(m) != 2 || hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return 0, 0, false, fmt.Errorf("BILLING_RECONCILE_AT: want HH:MM in KST (e.g. 04:00) or off, got %q", s)
	}
	return hour, minute, true, nil
}

// Validate checks a schedule configuration.
func (c ScheduleConfig) Validate() error {
	if _, _, _, err := ParseAt(c.At); err != nil {
		return err
	}
	if c.TaskQueue == "" {
		return errors.New("task queue: must not be empty")
	}
	if c.Input.Rate < 0 {
		return fmt.Errorf("BILLING_RECONCILE_RATE: must be positive, got %g", c.Input.Rate)
	}
	if c.Input.Overlap < 0 || c.Input.Overlap > 30*24*time.Hour {
		return fmt.Errorf("BILLING_RECONCILE_OVERLAP: must be within 0..720h, got %s", c.Input.Overlap)
	}
	if !c.Input.From.IsZero() || !c.Input.To.IsZero() {
		return errors.New("a scheduled run derives its window: from and to must be empty")
	}
	return nil
}

func (c ScheduleConfig) spec() client.ScheduleSpec {
	h, m, _, _ := ParseAt(c.At)
	return client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: h}}, Minute: []client.ScheduleRange{{Start: m}},
			Comment: fmt.Sprintf("paycycle nightly reconciliation at %02d:%02d KST", h, m),
		}},
		TimeZoneName: "Asia/Seoul",
	}
}

func (c ScheduleConfig) action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID: ScheduleID, Workflow: WorkflowType, Args: []any{c.Input}, TaskQueue: c.TaskQueue,
		WorkflowExecutionTimeout: 20 * time.Hour,
	}
}

// EnsureSchedule creates the nightly schedule, or brings an existing one to cfg (spec, action,
// policies), so that every worker start and every `starter reconcile schedule` is idempotent.
// With At "off" it deletes the schedule if there is one. It reports what it did.
func EnsureSchedule(ctx context.Context, c client.Client, cfg ScheduleConfig) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	sc := c.ScheduleClient()
	if _, _, on, _ := ParseAt(cfg.At); !on {
		err := sc.GetHandle(ctx, ScheduleID).Delete(ctx)
		if err != nil && !isNotFound(err) {
			return "", fmt.Errorf("delete schedule %s: %w", ScheduleID, err)
		}
		return "off", nil
	}
	opts := client.ScheduleOptions{
		ID: ScheduleID, Spec: cfg.spec(), Action: cfg.action(),
		Overlap:       0, // skip: a night still running makes the next one wait for the following night
		CatchupWindow: 12 * time.Hour,
		Note:          "managed by the paycycle worker (BILLING_RECONCILE_*) and starter reconcile schedule",
	}
	_, err := sc.Create(ctx, opts)
	if err == nil {
		return "created", nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return "", fmt.Errorf("create schedule %s: %w", ScheduleID, err)
	}
	err = sc.GetHandle(ctx, ScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			spec := cfg.spec()
			s.Spec = &spec
			s.Action = cfg.action()
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.CatchupWindow = opts.CatchupWindow
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return "", fmt.Errorf("update schedule %s: %w", ScheduleID, err)
	}
	return "updated", nil
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// ManualWorkflowID is the workflow ID of a run by hand over [from, to).
func ManualWorkflowID(from, to time.Time) string {
	return fmt.Sprintf("%s/%s_%s", WorkflowIDPrefix, from.UTC().Format("20060102T150405Z"), to.UTC().Format("20060102T150405Z"))
}

// TaskQueue is the default task queue: the billing one.
const TaskQueue = billing.TaskQueue
