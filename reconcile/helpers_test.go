package reconcile

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// asOf is 04:00 KST on 2026-11-03, when the nightly run fires; the default window is then
// 2026-11-01 00:00 KST .. 2026-11-03 00:00 KST (the previous day plus one day of overlap).
var asOf = time.Date(2026, 11, 3, 4, 0, 0, 0, calendar.Seoul)

func kstAt(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, calendar.Seoul)
}

// fakeSubs is an in-memory Subscriptions: the states a test builds, and the marks it receives.
type fakeSubs struct {
	mu       sync.Mutex
	ids      []string
	states   map[string]billing.State
	ended    map[string]bool
	marks    map[string][]billing.AttentionRequest
	pageSize int
	failAt   int // State calls after which State fails once (0: never)
	calls    int
}

func newFakeSubs() *fakeSubs {
	return &fakeSubs{states: map[string]billing.State{}, ended: map[string]bool{}, marks: map[string][]billing.AttentionRequest{}, pageSize: 1000}
}

func (f *fakeSubs) add(st billing.State) {
	id := billing.WorkflowID(st.SubscriptionID)
	f.ids = append(f.ids, id)
	f.states[id] = st
}

func (f *fakeSubs) List(_ context.Context, _ string, token []byte) ([]Execution, []byte, error) {
	start := 0
	if len(token) > 0 {
		start, _ = strconv.Atoi(string(token))
	}
	end := min(start+f.pageSize, len(f.ids))
	var out []Execution
	for _, id := range f.ids[start:end] {
		out = append(out, Execution{WorkflowID: id, RunID: "run-" + id})
	}
	if end == len(f.ids) {
		return out, nil, nil
	}
	return out, []byte(strconv.Itoa(end)), nil
}

func (f *fakeSubs) State(_ context.Context, workflowID, _ string) (billing.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failAt > 0 && f.calls == f.failAt {
		return billing.State{}, fmt.Errorf("injected: query timed out")
	}
	st, ok := f.states[workflowID]
	if !ok {
		return st, fmt.Errorf("no such workflow %s", workflowID)
	}
	return st, nil
}

func (f *fakeSubs) Mark(_ context.Context, workflowID string, req billing.AttentionRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended[workflowID] {
		return fmt.Errorf("%w: %s", ErrEnded, workflowID)
	}
	for _, r := range f.marks[workflowID] {
		if r.RequestID == req.RequestID {
			return nil // applied once, as the workflow does
		}
	}
	f.marks[workflowID] = append(f.marks[workflowID], req)
	return nil
}

// bank is the emulator on loopback with a real PortOne client.
type bank struct {
	emu *portonetest.Emulator
	clk *portonetest.ManualClock
	c   *portone.Client
}

func newBank(t *testing.T) *bank {
	t.Helper()
	clk := portonetest.NewManualClock(asOf)
	emu, srv := portonetest.NewServer(t, portonetest.Options{Clock: clk})
	c, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithClock(clk.Now), portone.WithTimeout(10*time.Second))
	require.NoError(t, err)
	return &bank{emu: emu, clk: clk, c: c}
}

func (b *bank) key(t *testing.T, customerUID string) {
	t.Helper()
	_, err := b.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customerUID})
	require.NoError(t, err)
}

func (b *bank) pay(t *testing.T, seed portonetest.PaymentSeed) string {
	t.Helper()
	le, err := b.emu.CreatePayment(seed)
	require.NoError(t, err)
	return le.ImpUID
}

// subState is an active monthly subscription at its cycle, next charge in a month.
func subState(id, customer string, cycle int) billing.State {
	return billing.State{
		SubscriptionID: id, CustomerUID: customer, Status: billing.StatusActive, Tag: "abcd",
		Plan:  billing.Plan{Name: "Pro", Amount: 9900, ChargeMode: billing.ChargeModeAgain},
		Cycle: cycle, NextChargeAt: asOf.AddDate(0, 1, 0),
	}
}

func muid(id string, cycle, attempt int) string {
	return billing.ChargeUID{SubscriptionID: id, Tag: "abcd", Cycle: cycle, Attempt: attempt}.String()
}

func paidRecord(id string, cycle, attempt int, imp string, amount int64, at time.Time) billing.ChargeRecord {
	return billing.ChargeRecord{Cycle: cycle, Attempt: attempt, MerchantUID: muid(id, cycle, attempt), ImpUID: imp,
		Amount: amount, Outcome: billing.OutcomePaid, Via: billing.ViaAgain, At: at}
}
