package workflows_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/internal/rulebook"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/workflows"
)

// The sweep: seeded random timelines run through the real workflow (testsuite, time skipping),
// the real activities, the real PortOne client and the emulator as the bank, compared with the
// rulebook (package rulebook) and checked against the money invariants. A failure prints its seed
// and a shrunk timeline; SWEEP_SEED=<seed> SWEEP_N=1 replays it. CI runs SWEEP_N timelines
// (default below); `make sweep` runs a long one.

const defaultSweepTimelines = 1500

func sweepEnv(name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("%s=%q is not an integer", name, v))
		}
		return n
	}
	return def
}

func TestSweepAgainstTheRulebook(t *testing.T) {
	// The rulebook keeps its own copy of how long a charge whose answer was lost stays in flight.
	if rulebook.ActivityRetryInterval != workflows.ChargeRetryInitialInterval {
		t.Fatalf("rulebook.ActivityRetryInterval is %s, the charge activity's first retry interval %s: update the rulebook",
			rulebook.ActivityRetryInterval, workflows.ChargeRetryInitialInterval)
	}
	n := sweepEnv("SWEEP_N", defaultSweepTimelines)
	if testing.Short() {
		n = min(n, 100)
	}
	// CI runs a fixed range (the first 1,500 of the 100,000 swept on 2026-12-07), so that its
	// verdict is reproducible; `make sweep` draws a fresh base seed to explore. Seed 506243361
	// (a decrease now, then cancel now with a full refund: two equal refunds of one payment)
	// was the harness merging them; TestSweepSeedsThatFoundDifferences keeps it.
	base := sweepEnv("SWEEP_SEED", 253893797)
	workers := int(sweepEnv("SWEEP_PARALLEL", 2))
	deadline := time.Duration(sweepEnv("SWEEP_MAX_SECONDS", 600)) * time.Second
	t.Logf("sweep: %d timelines from seed %d (%d in parallel, at most %s)", n, base, workers, deadline)
	began := time.Now()
	var done, doneV2, failed atomic.Int64
	var mu sync.Mutex
	var firstFailure string
	seeds := make(chan int64)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				tl := generate(seed)
				problem := runAndCompare(tl)
				if problem != "" {
					failed.Add(1)
					mu.Lock()
					if firstFailure == "" {
						firstFailure = fmt.Sprintf("seed %d: %s\nshrunk timeline:\n%s", seed, problem, describe(shrink(tl, problem)))
					}
					mu.Unlock()
				}
				done.Add(1)
				if tl.Input.Gateway.IsV2() {
					doneV2.Add(1)
				}
			}
		}()
	}
	for i := range n {
		if time.Since(began) > deadline || failed.Load() > 0 {
			break
		}
		seeds <- base + i
	}
	close(seeds)
	wg.Wait()
	t.Logf("sweep: %d timelines (%d on PortOne V2, %d on V1) in %s (%.1f/s), %d failed", done.Load(), doneV2.Load(), done.Load()-doneV2.Load(),
		time.Since(began).Round(time.Millisecond), float64(done.Load())/time.Since(began).Seconds(), failed.Load())
	if firstFailure != "" {
		t.Fatalf("the workflow disagrees with the rulebook or breaks a money invariant (replay: SWEEP_SEED=<seed> SWEEP_N=1 go test ./workflows/ -run TestSweep)\n%s", firstFailure)
	}
}

// ---- generating timelines ----

const sweepSub = "sweep-1"

// sweepV2Share is the share of the sweep's timelines run on PortOne V2: one in sweepV2Share
// (SWEEP_V2_SHARE=1 runs them all on V2, to explore it).
var sweepV2Share = max(1, sweepEnv("SWEEP_V2_SHARE", 4))

// v2Choices are the seeded V2 choices of a timeline, drawn from their own stream, so that a
// seed's timeline is the same on either gateway and the V1 timelines of the seeds swept before
// V2 existed did not change: whether it runs on V2; for one V2
// timeline in three, the delay after which PortOne finishes its cancels (an asynchronous cancel
// answers REQUESTED; 0: cancels finish at once); for another one in three, the answer to the
// first two cancels is lost after PortOne made them, so that the retry's expected remainder is
// stale.
func v2Choices(seed int64) (v2 bool, async time.Duration, lostCancels bool) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed2))
	if rng.Int64N(sweepV2Share) != 0 {
		return false, 0, false
	}
	switch rng.IntN(3) {
	case 0:
		return true, []time.Duration{time.Second, time.Minute, 2 * time.Hour, 26 * time.Hour}[rng.IntN(4)], false
	case 1:
		return true, 0, true
	}
	return true, 0, false
}

// failFirstCancelsChoice is whether a V2 timeline with asynchronous cancels has the first
// cancel of each payment end FAILED (one in two), drawn from a stream of its own, so that the
// choices of v2Choices and every timeline swept before it existed stay as they were.
func failFirstCancelsChoice(seed int64) bool {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed3)).IntN(2) == 0
}

func generate(seed int64) scenario {
	v2, async, lost := v2Choices(seed)
	tl := generateOn(seed, v2)
	tl.AsyncCancel, tl.LostCancelAnswers = async, lost
	tl.FailFirstCancels = async > 0 && failFirstCancelsChoice(seed)
	return tl
}

// generateOn is seed's timeline, on PortOne V2 when v2: the rulebook knows only V2's higher
// minimum charge (100 KRW); amounts stay above it (plan and change_plan amounts are at least
// 1,000 KRW, introductory prices at least 300).
func generateOn(seed int64, v2 bool) scenario {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	pick := func(n int) int { return rng.IntN(n) }
	chance := func(p float64) bool { return rng.Float64() < p }
	// 2025 to 2028: common years and a leap year (Feb 29, 2028) for the clamps to meet.
	start := time.Date(2025+pick(4), time.Month(1+pick(12)), 1+pick(28), pick(24), pick(60), 0, 0, calendar.Seoul)
	amount := int64(1000 + 10*pick(9000))
	plan := billing.Plan{Name: "Sweep", Amount: amount, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}
	switch pick(7) {
	case 0:
		plan.Interval = calendar.Interval{Unit: calendar.Week, Count: 1 + pick(2)}
	case 1:
		plan.Interval = calendar.Interval{Unit: calendar.Day, Count: 10 + pick(20)}
	case 2:
		plan.Interval = calendar.Interval{Unit: calendar.Year, Count: 1}
	}
	if chance(0.3) {
		plan.TaxFree = amount * int64(1+pick(9)) / 10
	}
	if (plan.Interval.Unit == calendar.Month || plan.Interval.Unit == calendar.Year) && chance(0.4) {
		plan.AnchorDay = billing.AnchorDay(1 + pick(31))
	}
	if chance(0.3) {
		plan.ChargeTime = fmt.Sprintf("%02d:%02d", pick(24), pick(4)*15)
	}
	if chance(0.4) {
		plan.NaverUseCfm = billing.NaverUseCfmPeriodEnd
	}
	switch pick(7) {
	case 0:
		// A free trial, shorter or longer than the 30-day consent window.
		plan.Trial = &billing.Trial{Days: []int{7, 14, 30, 45, 200}[pick(5)]}
	case 1:
		// An introductory price for a few cycles (ten on a daily plan: its rise is known at
		// sign-up).
		intro := max(plan.TaxFree, amount*int64(3+pick(6))/10) / 10 * 10
		if intro >= plan.TaxFree && intro < amount {
			plan.Trial = &billing.Trial{Cycles: 1 + pick(4), Amount: intro}
			if chance(0.3) {
				plan.Trial.Cycles = 10
			}
		}
	}
	in := billing.SubscriptionInput{SubscriptionID: sweepSub, CustomerUID: "key-1", Plan: plan}
	if v2 {
		// The keys are V2 billing keys issued beforehand (registration.go, key()).
		in.Gateway = billing.GatewayPortOneV2
	}
	if chance(0.2) {
		// With a free trial too: the first charge waits for the anchor date after the trial
		// (TestSweepTrialWithFirstChargeAnchor).
		in.FirstCharge = billing.FirstChargeAnchor
	}
	if chance(0.5) {
		d := &billing.DunningPolicy{}
		day := billing.Duration(24 * time.Hour)
		switch pick(4) {
		case 0:
			d.RetryAfter = []billing.Duration{}
		case 1:
			d.RetryAfter = []billing.Duration{day, 3 * day}
		case 2:
			d.RetryAfter = []billing.Duration{12 * billing.Duration(time.Hour), 2 * day, 9 * day}
		}
		switch pick(4) {
		case 0:
			g := billing.Duration(0)
			d.Grace = &g
		case 1:
			g := 2 * day
			d.Grace = &g
		case 2:
			g := 10 * day
			d.Grace = &g
		}
		if chance(0.3) {
			d.FinalAction = billing.FinalActionPause
		}
		in.Dunning = d
	}
	// The rulebook reads the input as typed (it fills the README's defaults itself).
	raw := rulebookInput(in)
	in.Normalize()
	if err := in.Validate(); err != nil {
		panic(fmt.Sprintf("seed %d generated an invalid input: %v", seed, err))
	}
	if err := rulebook.CheckInput(raw, false); err != nil {
		panic(fmt.Sprintf("seed %d: billing accepts an input the rulebook refuses: %v", seed, err))
	}
	tl := scenario{Start: start, Input: in, Raw: raw, Keys: []string{"key-1", "key-2", "key-3"}, Answers: map[rulebook.Attempt]rulebook.Answer{}}
	answers := []rulebook.Answer{rulebook.SoftDecline, rulebook.SoftDecline, rulebook.HardDecline, rulebook.UnknownPaid, rulebook.UnknownAbsent}
	for range pick(9) {
		tl.Answers[rulebook.Attempt{Cycle: 1 + pick(4), Attempt: 1 + pick(5)}] = answers[pick(len(answers))]
	}

	// Instants worth hitting: charge instants, retry instants, grace ends, just before and after,
	// and anywhere.
	tod, _ := calendar.ParseTimeOfDay(plan.ChargeTime)
	rec, _ := calendar.NewRecurrence(plan.Interval, calendar.DateOf(start), calendar.DateOf(start).Day, tod)
	var candidates []time.Time
	for i := range 5 {
		at := rec.ChargeAt(i)
		// A second before, and just after a charge whose answer was lost would have settled (a
		// message inside that window meets a charge in flight: the During messages cover it).
		candidates = append(candidates, at, at.Add(-time.Second), at.Add(rulebook.ActivityRetryInterval+time.Second))
		for _, r := range in.Dunning.RetryAfter {
			candidates = append(candidates, at.Add(r.Std()))
		}
		candidates = append(candidates, at.Add(in.Dunning.GraceDuration()))
		// Somewhere in the dunning window, on the half day.
		candidates = append(candidates, at.Add(time.Duration(1+pick(20))*12*time.Hour))
	}
	end := start.Add(130 * 24 * time.Hour)
	when := func() time.Time {
		if chance(0.5) {
			return candidates[pick(len(candidates))]
		}
		return start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
	}
	usedKeys := 1
	used := map[time.Time]bool{}
	for range pick(9) {
		at := when().Truncate(time.Second)
		if !at.After(start) || !at.Before(end) || used[at] {
			continue
		}
		used[at] = true
		m := sweepMessage{At: at, Update: chance(0.5)}
		switch pick(12) {
		case 0:
			m.Name = billing.MsgCancel
			c := billing.CancelRequest{Reason: "고객 요청", Requester: billing.RequesterCustomer}
			if chance(0.6) {
				c.When = billing.Now
				c.Refund = []billing.RefundPolicy{billing.RefundNone, billing.RefundProrata, billing.RefundFull}[pick(3)]
			}
			m.Cancel = &c
		case 1:
			m.Name, m.Undo = billing.MsgUndoCancel, &billing.UndoCancelRequest{Reason: "철회"}
		case 2, 3:
			m.Name = billing.MsgPause
			p := billing.PauseRequest{Reason: "휴가"}
			if chance(0.5) {
				p.When = billing.Now
			}
			if chance(0.6) {
				p.ResumeAt = when().Truncate(time.Second)
			}
			m.Pause = &p
		case 4:
			m.Name = billing.MsgResume
			r := billing.ResumeRequest{Reason: "복귀"}
			if chance(0.4) {
				r.Anchor = billing.ResumeRestartAnchor
			}
			m.Resume = &r
		case 5:
			m.Name = billing.MsgChangePlan
			c := billing.ChangePlanRequest{Amount: max(plan.TaxFree, int64(1000+10*pick(9000))), Reason: "가격 변경"}
			if chance(0.5) {
				c.When = billing.Now
				if c.Amount > plan.Amount && chance(0.8) {
					c.Consent = changeNowConsent(rng, at, start, plan.Amount, c.Amount)
				}
			} else if c.Amount > plan.Amount && chance(0.7) {
				// The customer's consent to the rise at the next charge, collected later: inside
				// the 30-day window or (a year plan) before it opens, sometimes for the wrong
				// amounts or date, sometimes a refusal.
				change := at
				for i := 0; !change.After(at) && i < 400; i++ {
					change = rec.ChargeAt(i)
				}
				sent := at.Add(time.Duration(1+rng.Int64N(int64(change.Sub(at)/time.Minute)+1)) * time.Minute)
				if opens := change.Add(-30 * 24 * time.Hour); opens.After(at) && chance(0.6) {
					sent = opens.Add(time.Duration(rng.Int64N(int64(change.Sub(opens)/time.Minute)+1)) * time.Minute)
				}
				sent = sent.Truncate(time.Second)
				if sent.Before(end) && !used[sent] {
					used[sent] = true
					k := changeNowConsent(rng, sent, start, plan.Amount, c.Amount)
					if chance(0.6) { // mostly right
						k.At, k.AmountAfter = sent.Add(-time.Duration(pick(180))*time.Minute), c.Amount
					}
					k.ChangeDate = calendar.DateOf(change)
					if chance(0.1) {
						k.ChangeDate = k.ChangeDate.AddDays(1)
					}
					if chance(0.15) {
						refused := false
						k.Granted = &refused
					}
					tl.Messages = append(tl.Messages, sweepMessage{At: sent, Update: chance(0.8), Name: billing.MsgConsent, Consent: k})
				}
			}
			m.ChangePlan = &c
		case 6, 9, 10:
			if usedKeys >= len(tl.Keys) {
				continue
			}
			usedKeys++
			m.Name, m.Replace = billing.MsgReplaceBillingKey, &billing.ReplaceBillingKeyRequest{CustomerUID: tl.Keys[usedKeys-1]}
		case 7:
			m.Name = billing.MsgChargeNow
		case 8:
			// A cancel now while a charge is in flight (a signal: its refusal has no sender).
			m.Name, m.Update = billing.MsgCancel, false
			m.During = &rulebook.Attempt{Cycle: 1 + pick(4), Attempt: 1 + pick(2)}
			m.Cancel = &billing.CancelRequest{When: billing.Now, Refund: []billing.RefundPolicy{billing.RefundNone, billing.RefundProrata, billing.RefundFull}[pick(3)], Reason: "중도 해지"}
		case 11:
			malformed(&m, pick(10), plan.Amount)
		}
		tl.Messages = append(tl.Messages, m)
	}
	if t := plan.Trial; t != nil && t.Cycles > 0 && chance(0.7) {
		// The consent to the introductory price's end (intro → the price, dated its cycle's
		// charge), inside its window or before it opens.
		change := rec.ChargeAt(t.Cycles)
		from := change.Add(-30 * 24 * time.Hour)
		if !from.After(start) || chance(0.2) {
			from = start.Add(time.Minute)
		}
		if change.After(from) {
			sent := from.Add(time.Duration(rng.Int64N(int64(change.Sub(from)/time.Minute))) * time.Minute).Truncate(time.Second)
			if !used[sent] && sent.Before(end) {
				used[sent] = true
				k := changeNowConsent(rng, sent, start, t.Amount, plan.Amount)
				if chance(0.6) {
					k.At, k.AmountAfter = sent.Add(-time.Duration(pick(180))*time.Minute), plan.Amount
				}
				k.ChangeDate = calendar.DateOf(change)
				tl.Messages = append(tl.Messages, sweepMessage{At: sent, Update: chance(0.8), Name: billing.MsgConsent, Consent: k})
			}
		}
	}
	if t := plan.Trial; t != nil && t.Days > 0 {
		// The consent to the trial's end (0 → the price on its date), inside the window or
		// before it opens; and a customer who asks to start paying now, with the consent dated
		// today or counting on the one on record.
		trialEnd := start.Add(time.Duration(t.Days) * 24 * time.Hour)
		// The rise from 0 is dated on the first charge: with first_charge "anchor" the first
		// anchor date from the trial's end on.
		change := trialChargeAt(in, trialEnd)
		if chance(0.6) {
			from := change.Add(-30 * 24 * time.Hour)
			if !from.After(start) || chance(0.2) {
				from = start.Add(time.Minute)
			}
			sent := from.Add(time.Duration(rng.Int64N(int64(change.Sub(from)/time.Minute))) * time.Minute).Truncate(time.Second)
			if !used[sent] {
				used[sent] = true
				k := changeNowConsent(rng, sent, start, 0, plan.Amount)
				if chance(0.6) {
					k.At, k.AmountAfter = sent.Add(-time.Duration(pick(180))*time.Minute), plan.Amount
				}
				k.ChangeDate = calendar.DateOf(change)
				if chance(0.1) {
					refused := false
					k.Granted = &refused
				}
				tl.Messages = append(tl.Messages, sweepMessage{At: sent, Update: chance(0.8), Name: billing.MsgConsent, Consent: k})
			}
		}
		if chance(0.4) {
			sent := start.Add(time.Duration(rng.Int64N(int64(trialEnd.Sub(start)/time.Minute))+1) * time.Minute).Truncate(time.Second)
			if !used[sent] {
				used[sent] = true
				e := &billing.EndTrialRequest{Reason: "지금 시작"}
				if chance(0.7) {
					e.Consent = changeNowConsent(rng, sent, start, 0, plan.Amount)
				}
				tl.Messages = append(tl.Messages, sweepMessage{At: sent, Update: chance(0.8), Name: billing.MsgEndTrial, EndTrial: e})
			}
		}
	}
	// A storm of declines for the attempt ceiling (README, Dunning): a cycle that keeps
	// declining and a backend that keeps sending charge_now, sometimes in the next cycle too
	// (reattempts over 30 days).
	if chance(0.15) {
		cycle := 1 + pick(3)
		// Minutes apart the 24-hour ceiling binds; hours apart, over cycles, the 30-day one.
		step := func() time.Duration { return time.Duration(5+pick(60)) * time.Minute }
		if chance(0.5) {
			step = func() time.Duration { return time.Duration(150+pick(300)) * time.Minute }
		}
		for storm := 0; storm < 1+pick(3); storm++ {
			c := cycle + storm
			for a := 1; a <= 12+pick(10); a++ {
				tl.Answers[rulebook.Attempt{Cycle: c, Attempt: a}] = rulebook.SoftDecline
			}
			at := rec.ChargeAt(c - 1)
			for range 8 + pick(8) {
				at = at.Add(step())
				if !at.After(start) || !at.Before(end) || used[at] {
					continue
				}
				used[at] = true
				tl.Messages = append(tl.Messages, sweepMessage{At: at, Update: chance(0.8), Name: billing.MsgChargeNow})
			}
		}
	}
	sort.SliceStable(tl.Messages, func(a, b int) bool { return tl.Messages[a].At.Before(tl.Messages[b].At) })
	// The scenario ends with a cancel, so every run closes.
	tl.End = end
	tl.Messages = append(tl.Messages, sweepMessage{At: end, Name: billing.MsgCancel, Cancel: &billing.CancelRequest{When: billing.Now, Reason: "sweep over"}})
	return tl
}

// changeNowConsent is the consent an immediate rise from before to after carries, mostly right
// (the amount last paid is the plan's when no earlier change was made): given a little before
// at, dated at's KST day; sometimes given before sign-up, more than 30 days ago, in the future,
// for another day or other amounts.
func changeNowConsent(rng *rand.Rand, at, start time.Time, before, after int64) *billing.ConsentRequest {
	granted := true
	c := &billing.ConsentRequest{Granted: &granted, At: at.Add(-time.Duration(rng.IntN(48*60)) * time.Minute), Channel: "app",
		ShownText: "9,900원 → 12,900원", AmountBefore: before, AmountAfter: after, ChangeDate: calendar.DateOf(at), RecordID: "rec-1"}
	switch rng.IntN(10) {
	case 0:
		c.At = start.Add(-time.Hour)
	case 1:
		c.At = at.Add(-31 * 24 * time.Hour)
	case 2:
		c.At = at.Add(time.Hour)
	case 3:
		c.ChangeDate = c.ChangeDate.AddDays(1)
	case 4:
		c.AmountAfter += 10
	}
	return c
}

// malformed makes m a message every subscription refuses whatever its state (the README's
// message table): a missing reason, a refund at period end, a misspelt word, a plan change that
// changes nothing or breaks the plan's bounds, no customer_uid, a null payload.
func malformed(m *sweepMessage, kind int, amount int64) {
	switch kind {
	case 0:
		m.Name, m.Cancel = billing.MsgCancel, &billing.CancelRequest{When: billing.Now, Reason: "  "}
	case 1:
		m.Name, m.Cancel = billing.MsgCancel, &billing.CancelRequest{When: billing.AtPeriodEnd, Refund: billing.RefundProrata, Reason: "고객 요청"}
	case 2:
		m.Name, m.Cancel = billing.MsgCancel, &billing.CancelRequest{When: billing.Now, Refund: "half", Reason: "고객 요청"}
	case 3:
		m.Name, m.Pause = billing.MsgPause, &billing.PauseRequest{When: "tomorrow", Reason: "휴가"}
	case 4:
		m.Name, m.Resume = billing.MsgResume, &billing.ResumeRequest{Anchor: "restrat"}
	case 5:
		m.Name, m.ChangePlan = billing.MsgChangePlan, &billing.ChangePlanRequest{Reason: "nothing"}
	case 6:
		tf := amount + 10
		m.Name, m.ChangePlan = billing.MsgChangePlan, &billing.ChangePlanRequest{TaxFree: &tf, Reason: "tax_free above the amount"}
	case 7:
		m.Name, m.ChangePlan = billing.MsgChangePlan, &billing.ChangePlanRequest{Amount: 5, Reason: "below NaverPay's minimum"}
	case 9:
		// A literal null, for any message (charge_now included).
		names := []string{billing.MsgCancel, billing.MsgUndoCancel, billing.MsgPause, billing.MsgResume, billing.MsgChangePlan,
			billing.MsgReplaceBillingKey, billing.MsgChargeNow}
		m.Name, m.Null = names[int(m.At.Unix()%int64(len(names)))], true
	default:
		m.Name, m.Replace = billing.MsgReplaceBillingKey, &billing.ReplaceBillingKeyRequest{CustomerUID: " "}
	}
}

// trialChargeAt is when the first charge after a free trial ending at end is made: at its end, or
// with first_charge "anchor" on the first anchor date from then on (the end's date without an
// anchor day, or for day and week plans) at the charge time, never before the end.
func trialChargeAt(in billing.SubscriptionInput, end time.Time) time.Time {
	p := in.Plan
	if in.FirstCharge != billing.FirstChargeAnchor || p.Interval.Unit.IsShort() {
		return end
	}
	tod := calendar.DefaultChargeTime
	if p.ChargeTime != "" {
		var err error
		if tod, err = calendar.ParseTimeOfDay(p.ChargeTime); err != nil {
			return end
		}
	}
	day := calendar.DateOf(end)
	if p.AnchorDay != 0 && (p.Interval.Unit == calendar.Month || p.Interval.Unit == calendar.Year) {
		day = calendar.FirstAnchorDate(day, int(p.AnchorDay))
	}
	if at := day.At(tod); at.After(end) {
		return at
	}
	return end
}

// ---- running one timeline ----

// swappableClock lets one emulator follow the test environment of whichever run is current.
type swappableClock struct {
	mu  sync.Mutex
	now func() time.Time
}

func (c *swappableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *swappableClock) set(f func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = f
}

// runAndCompare runs tl through the real workflow and returns "" or what went wrong: the
// rulebook and the workflow disagree, or a money invariant broke.
func runAndCompare(tl scenario) (problem string) {
	defer func() {
		if p := recover(); p != nil {
			problem = fmt.Sprintf("panic: %v", p)
		}
	}()
	got, invariants := runWorkflow(tl)
	if invariants != "" {
		return invariants
	}
	g := got.Summary()
	// A message at exactly a due instant may also meet the due action first, or after its
	// charge settled (see DueFirst, AfterSettle): any of the three orders is right.
	orders := func(sc scenario) (rulebook.Result, bool) {
		var first rulebook.Result
		for i, o := range [][2]bool{{false, false}, {true, false}, {true, true}} {
			sc.DueFirst, sc.AfterSettle = o[0], o[1]
			want := onlyUpdateRefusals(tl, rulebook.Run(sc.rulebook()))
			if i == 0 {
				first = want
			}
			if slices.Equal(want.Summary(), g) {
				return want, true
			}
		}
		return first, false
	}
	want, ok := orders(tl)
	if !ok {
		return "rulebook and workflow differ:\n" + diffLines(want.Summary(), g)
	}
	// The charges agree; the days they pay for come from PortOne's ledger and the periods the
	// rules bill.
	if p := noDayPaidTwice(got, want.Periods); p != "" {
		return p
	}
	return creditAboveWorth(got, want.Periods)
}

func diffLines(want, got []string) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := "  "
		if w != g {
			mark = "≠ "
		}
		fmt.Fprintf(&b, "%s rulebook: %-70s | workflow: %s\n", mark, w, g)
	}
	return b.String()
}

// runWorkflow runs the timeline and reads what really happened from the emulator's ledger and
// the workflow's state. It returns a non-empty string when a money invariant broke.
func runWorkflow(tl scenario) (rulebook.Result, string) {
	clk := &swappableClock{now: func() time.Time { return tl.Start }}
	emu := portonetest.New(portonetest.Options{Clock: clk})
	defer emu.Close()
	tag := billing.IncarnationTag(testFirstRunID)
	uid := func(a rulebook.Attempt) string {
		return billing.ChargeUID{SubscriptionID: sweepSub, Tag: tag, Cycle: a.Cycle, Attempt: a.Attempt}.String()
	}
	// Messages sent while a charge is in flight go out when PortOne receives that charge.
	var envMu sync.Mutex
	var current *testsuite.TestWorkflowEnvironment
	during := map[string][]sweepMessage{}
	for _, m := range tl.Messages {
		if m.During != nil {
			during[uid(*m.During)] = append(during[uid(*m.During)], m)
		}
	}
	var fired sync.Map
	v2 := tl.Input.Gateway.IsV2()
	var relay *webhookRelay // the edge's part on V2: PortOne's Transaction.Paid, read back and relayed
	if v2 {
		relay = &webhookRelay{emu: emu}
	}
	// chargeOf is the merchant_uid of a charge request's attempt, or "" for any other request:
	// V1 sends it in the body of POST /subscribe/payments/again; V2 names the paymentId in the
	// path of POST /payments/{paymentId}/billing-key, which a cycle's attempts share
	// (versionCyclePayment), and the attempt in the body's customData. pid is that paymentId.
	var pid string
	chargeOf := func(r *http.Request) (string, []byte) {
		pid = ""
		if r.Method != http.MethodPost {
			return "", nil
		}
		if v2 {
			id, ok := strings.CutPrefix(r.URL.Path, "/payments/")
			id, ok2 := strings.CutSuffix(id, "/billing-key")
			if !ok || !ok2 {
				return "", nil
			}
			pid = id
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var in struct {
				CustomData string `json:"customData"`
			}
			var cd struct {
				Cycle   int `json:"cycle"`
				Attempt int `json:"attempt"`
			}
			if json.Unmarshal(body, &in) != nil || json.Unmarshal([]byte(in.CustomData), &cd) != nil || cd.Attempt == 0 {
				return id, nil
			}
			return uid(rulebook.Attempt{Cycle: cd.Cycle, Attempt: cd.Attempt}), nil
		}
		if !strings.HasSuffix(r.URL.Path, "/subscribe/payments/again") {
			return "", nil
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return "", body
	}
	// v2Answers are the bank's answers of V2 attempts, installed on the attempt's paymentId when
	// PortOne receives the attempt (a fault matches a paymentId, which a cycle's attempts share).
	v2Answers := map[string]portonetest.Fault{}
	// failedFirst is when the first cancel of each V2 payment was asked (FailFirstCancels).
	failedFirst := map[string]time.Time{}
	var failedMu sync.Mutex
	var installed sync.Map
	var hookMu sync.Mutex
	hook := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hookMu.Lock()
			id, body := chargeOf(r)
			if f, ok := v2Answers[id]; ok && pid != "" {
				// Per paymentId: an attempt that PortOne's attempt cap moved to the cycle's next
				// paymentId gets its answer there (the first one never fired).
				if _, again := installed.LoadOrStore(id+"|"+pid, true); !again {
					f.MerchantUID = pid
					emu.AddFault(f)
				}
			}
			hookMu.Unlock()
			for u, msgs := range during {
				if u != id && (body == nil || !bytes.Contains(body, []byte(`"`+u+`"`))) {
					continue
				}
				if _, again := fired.LoadOrStore(u, true); !again {
					envMu.Lock()
					env := current
					envMu.Unlock()
					for _, m := range msgs {
						env.SignalWorkflow(m.Name, payload(m))
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(hook(emu))
	defer srv.Close()
	gateway, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(10*time.Second))
	if err != nil {
		return rulebook.Result{}, err.Error()
	}
	// The clock is skipped: a REQUESTED V2 cancel is waited for through the Refund activity's
	// retries (skipped time), not inside an attempt (real time, in which nothing finishes).
	acts := &activities.Activities{Gateway: portonev1.New(gateway), Config: activities.Config{ScheduleSettleDelay: time.Minute, CancelSettleWait: -1}, Now: clk.Now}
	op := portonetest.OpAgain
	if v2 {
		if tl.AsyncCancel > 0 {
			emu.SetV2AsyncCancel(true, tl.AsyncCancel)
		}
		if tl.LostCancelAnswers {
			// The refund's retry sends the expected remainder of before the refund: PortOne
			// refuses it (CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN) and the lookup finds it made.
			emu.AddFault(portonetest.Fault{Op: portonetest.OpV2Cancel, Action: portonetest.FaultCommitThenDrop, Times: 2})
		}
		// The emulator finishes due asynchronous cancels on its scheduler's real-time tick; the
		// test environment skips time faster than that, so due work is run before every request
		// (at the clock the request is served at, as PortOne would have done it by then).
		v2h := emu.V2Handler()
		srv2 := httptest.NewServer(hook(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			emu.RunDue()
			if tl.FailFirstCancels && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/cancel") {
				// The first cancel of each payment ends FAILED; the ones after it (the
				// workflow's, or the activity's, remake) succeed.
				id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/payments/"), "/cancel")
				failedMu.Lock()
				_, seen := failedFirst[id]
				if !seen {
					failedFirst[id] = clk.Now()
				}
				emu.SetV2AsyncCancelFail(!seen)
				failedMu.Unlock()
			}
			v2h.ServeHTTP(w, r)
		})))
		defer srv2.Close()
		if acts.GatewayV2, err = portonev2.New(portonev2.Config{BaseURL: srv2.URL, Secret: portonetest.DefaultV2Secret, Timeout: 10 * time.Second}); err != nil {
			return rulebook.Result{}, err.Error()
		}
		op = portonetest.OpV2Pay
	}
	for _, k := range tl.Keys {
		if v2 {
			// Issued beforehand under the name the timeline uses (V2BillingKeySeed.BillingKey),
			// each by its own Naver account.
			if _, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-" + k, IssueName: "Sweep", NaverAccount: "naver-" + k, BillingKey: k}); err != nil {
				return rulebook.Result{}, err.Error()
			}
			continue
		}
		if _, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: k}); err != nil {
			return rulebook.Result{}, err.Error()
		}
	}
	for a, ans := range tl.Answers {
		// The same faults on either gateway: V2's soft decline is a PG_PROVIDER error with
		// NaverPay's pgCode (V2PGCodeDecline), its hard one V2PGCodeHardDecline, which also
		// invalidates the key as V1's does.
		f := portonetest.Fault{MerchantUID: uid(a), Op: op, Times: 1}
		switch ans {
		case rulebook.SoftDecline:
			f.Action, f.Reason = portonetest.FaultDecline, "잔액부족"
		case rulebook.HardDecline:
			f.Action, f.Hard = portonetest.FaultDecline, true
		case rulebook.UnknownPaid:
			f.Action = portonetest.FaultCommitThenDrop
		case rulebook.UnknownAbsent:
			f.Action = portonetest.FaultErrorBeforeCommit
		default:
			continue
		}
		if v2 {
			v2Answers[uid(a)] = f
			continue
		}
		emu.AddFault(f)
	}

	updates := map[int]*updateResult{}
	in := tl.Input
	runStart := tl.Start
	var st billing.State
	// Every run's charge and refund records, from its state query as it closed: continue-as-new
	// carries only the recent ones (versionCompactCarry), the invariants need them all.
	seenCharges := map[string]billing.ChargeRecord{}
	var chargeOrder []string
	seenRefunds := map[string]billing.RefundRecord{}
	var refundOrder []string
	keep := func(s billing.State) {
		for _, c := range s.Charges {
			if _, ok := seenCharges[c.MerchantUID]; !ok {
				chargeOrder = append(chargeOrder, c.MerchantUID)
			}
			seenCharges[c.MerchantUID] = c
		}
		// Two refunds of one payment may match in instant and amount (a cancel's own and the
		// pending credit's, seed 506243361): the n-th of a kind is its own record. A snapshot
		// keeps or drops such twins together (same cycle, same instant), so n is stable.
		twins := map[string]int{}
		for _, f := range s.Refunds {
			base := fmt.Sprintf("%s/%s/%d/%s", f.ImpUID, f.At.Format(time.RFC3339Nano), f.Amount, f.Reason)
			twins[base]++
			k := fmt.Sprintf("%s#%d", base, twins[base])
			if _, ok := seenRefunds[k]; !ok {
				refundOrder = append(refundOrder, k)
			}
			seenRefunds[k] = f
		}
	}
	for run := 0; ; run++ {
		if run > 20 {
			return rulebook.Result{}, "more than 20 continue-as-new runs: the workflow does not progress"
		}
		var s testsuite.WorkflowTestSuite
		s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(runStart)
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.WorkflowID(sweepSub), TaskQueue: billing.TaskQueue})
		env.SetWorkflowRunTimeout(10 * 365 * 24 * time.Hour)
		env.RegisterWorkflowWithOptions(workflows.Subscription, workflowRegisterOptions())
		env.RegisterActivity(acts)
		if relay != nil {
			relay.attach(env)
		}
		env.SetTestTimeout(60 * time.Second)
		// The deadlock detector counts wall time; on a loaded 2-core machine a busy moment is not
		// a spin. A real spin still fails the run, after 10 s.
		env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second})
		if run > 0 {
			env.SetContinuedExecutionRunID(fmt.Sprintf("run-%d", run-1))
		}
		// Every other timeline's first runs are told to continue as new (as the server does when
		// a history grows), so that carried state is exercised too.
		if tl.Start.Minute()%2 == 0 && run < 3 {
			env.SetContinueAsNewSuggested(true)
		}
		envMu.Lock()
		current = env
		envMu.Unlock()
		clk.set(env.Now)
		for i, m := range tl.Messages {
			if m.During != nil || m.At.Before(runStart) {
				continue
			}
			if run > 0 && m.At.Equal(runStart) {
				// Sent as the previous run continued as new. The server hands a message that
				// the closing run did not take to the new run; the test environment drops it,
				// so the harness sends it again: an update not answered, a signal the carried
				// state shows no trace of.
				if m.Update {
					if u, sent := updates[i]; !sent || u.done {
						continue
					}
				} else if handledAt(*in.Continued, m.Name, runStart) {
					continue
				}
			}
			env.RegisterDelayedCallback(func() {
				if m.Update {
					res := &updateResult{}
					updates[i] = res
					update(env, m.Name, payload(m), res)
				} else {
					env.SignalWorkflow(m.Name, payload(m))
				}
			}, m.At.Sub(runStart))
		}
		env.ExecuteWorkflow(billing.WorkflowType, in)
		if !env.IsWorkflowCompleted() {
			return rulebook.Result{}, "the workflow did not complete (it hangs or waits for ever)"
		}
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if err != nil && asContinueAsNew(err, &can) {
			if v, qerr := env.QueryWorkflow(billing.QueryState); qerr == nil {
				var closing billing.State
				if v.Get(&closing) == nil {
					keep(closing)
				}
			}
			var next billing.SubscriptionInput
			if derr := decodeCANInput(can, &next); derr != nil {
				return rulebook.Result{}, "continue-as-new input: " + derr.Error()
			}
			in = next
			runStart = env.Now()
			continue
		}
		if err != nil {
			return rulebook.Result{}, "the workflow failed: " + err.Error()
		}
		if err := env.GetWorkflowResult(&st); err != nil {
			return rulebook.Result{}, err.Error()
		}
		keep(st)
		st.Charges, st.Refunds = nil, nil
		for _, k := range chargeOrder {
			st.Charges = append(st.Charges, seenCharges[k])
		}
		for _, k := range refundOrder {
			st.Refunds = append(st.Refunds, seenRefunds[k])
		}
		break
	}
	for i, m := range tl.Messages {
		if _, sent := updates[i]; !sent && m.Update && m.During == nil && !st.EndedAt.IsZero() && !m.At.Before(st.EndedAt) {
			// Due after the run closed, so never sent: the server would have refused it.
			updates[i] = &updateResult{done: true, rejected: fmt.Errorf("workflow already completed")}
		}
	}
	for i, u := range updates {
		if !u.done {
			if !st.EndedAt.IsZero() && !tl.Messages[i].At.Before(st.EndedAt) {
				// Sent as the run closed: the server answers "workflow execution already
				// completed"; the test environment drops it. Either way it is refused.
				u.done, u.rejected = true, fmt.Errorf("workflow already completed")
				continue
			}
			return rulebook.Result{}, fmt.Sprintf("update %d (%s) was never answered", i, tl.Messages[i].Name)
		}
	}
	if st.Tag != tag {
		return rulebook.Result{}, fmt.Sprintf("tag %q, expected %q: the sweep computes merchant_uids wrongly", st.Tag, tag)
	}
	if os.Getenv("SWEEP_DEBUG") != "" {
		for _, e := range st.Events {
			fmt.Println(e.At.In(calendar.Seoul).Format("2006-01-02 15:04:05"), e.Kind, e.Detail)
		}
	}
	if tl.AsyncCancel > 0 {
		// PortOne finishes the cancels still REQUESTED whether or not anyone asks again.
		clk.set(func() time.Time { return st.EndedAt.Add(tl.AsyncCancel + time.Second) })
		emu.RunDue()
	}
	ledger := emu.Ledger()
	failedMu.Lock()
	for i, le := range ledger {
		at, ok := failedFirst[le.MerchantUID]
		for j, c := range le.Cancels {
			if ok && c.RequestedAt.After(at) {
				// A refund made again after its first cancel FAILED was asked for when the
				// first was: the rulebook knows only the refund, at the instant of the message.
				ledger[i].Cancels[j].RequestedAt = at
			}
		}
	}
	failedMu.Unlock()
	return fromLedger(tl, ledger, st, updates)
}

// handledAt reports whether the state's audit trail shows a message of that name handled at at.
func handledAt(st billing.State, name string, at time.Time) bool {
	kinds := map[string][]string{
		billing.MsgCancel:            {"cancel_requested"},
		billing.MsgUndoCancel:        {"cancel_undone"},
		billing.MsgPause:             {"pause_requested"},
		billing.MsgResume:            {"pause_withdrawn", "resumed"},
		billing.MsgChangePlan:        {"plan_change_requested"},
		billing.MsgReplaceBillingKey: {"billing_key_replaced", "replace_billing_key_refused"},
		billing.MsgChargeNow:         {"charge_now"},
		billing.MsgConsent:           {"consent_granted", "consent_refused"},
		billing.MsgEndTrial:          {"trial_ended_early"},
	}[name]
	for _, e := range st.Events {
		if !e.At.Equal(at) {
			continue
		}
		if slices.Contains(kinds, e.Kind) || (e.Kind == "refused" && strings.HasPrefix(e.Detail, name+":")) {
			return true
		}
	}
	return false
}

func asContinueAsNew(err error, target **workflow.ContinueAsNewError) bool {
	for e := err; e != nil; {
		if c, ok := e.(*workflow.ContinueAsNewError); ok {
			*target = c
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func payload(m sweepMessage) any {
	switch {
	case m.Null:
		return json.RawMessage("null")
	case m.Cancel != nil:
		return *m.Cancel
	case m.Pause != nil:
		return *m.Pause
	case m.Resume != nil:
		return *m.Resume
	case m.ChangePlan != nil:
		return *m.ChangePlan
	case m.Replace != nil:
		return *m.Replace
	case m.Undo != nil:
		return *m.Undo
	case m.Consent != nil:
		return *m.Consent
	case m.EndTrial != nil:
		return *m.EndTrial
	}
	return billing.ChargeNowRequest{}
}

// fromLedger builds the result as PortOne recorded it and checks the money invariants.
func fromLedger(tl scenario, ledger []portonetest.LedgerEntry, st billing.State, updates map[int]*updateResult) (rulebook.Result, string) {
	var res rulebook.Result
	records := map[string]billing.ChargeRecord{}
	// byTx are the V2 records by (paymentId, transactionId): a cycle's attempts share one
	// paymentId (versionCyclePayment), each its own transaction under it.
	byTx := map[[2]string]billing.ChargeRecord{}
	for _, c := range st.Charges {
		records[c.MerchantUID] = c
		if c.ImpUID != "" {
			byTx[[2]string{c.GatewayPaymentID(), c.ImpUID}] = c
		}
	}
	paidPerCycle := map[int]int{}
	refundedByImp := map[string]int64{}
	for _, f := range st.Refunds {
		if f.Counts() { // a refund that ended FAILED and was not made again gave nothing back
			refundedByImp[f.ImpUID] += f.Amount
		}
	}
	version := portonetest.VersionV1
	if tl.Input.Gateway.IsV2() {
		version = portonetest.VersionV2
	}
	for _, le := range ledger {
		if le.Usage != "payment" {
			continue
		}
		if le.Version != version {
			return res, fmt.Sprintf("%s was made through PortOne %s, the subscription is on %s", le.MerchantUID, le.Version, version)
		}
		parsed, err := billing.ParseMerchantUID(le.MerchantUID)
		if err != nil || parsed.SubscriptionID != sweepSub {
			return res, fmt.Sprintf("a payment that is not ours: %s", le.MerchantUID)
		}
		rec, ok := records[le.MerchantUID]
		if parsed.Kind == billing.KindCyclePayment {
			// Several attempts under one paymentId: the attempt is the transaction's record.
			rec, ok = byTx[[2]string{le.MerchantUID, le.ImpUID}]
			parsed.Charge.Attempt = rec.Attempt
		}
		if !ok && st.ChargesOmitted == 0 {
			return res, fmt.Sprintf("attempt %s (%s) is at PortOne but not in the workflow's state", le.MerchantUID, le.ImpUID)
		}
		outcome := rec.Outcome
		switch le.Status {
		case "paid", "cancelled":
			if outcome != billing.OutcomePaid {
				return res, fmt.Sprintf("%s is paid at PortOne, %s in the state", le.MerchantUID, outcome)
			}
			paidPerCycle[parsed.Charge.Cycle]++
			if paidPerCycle[parsed.Charge.Cycle] > 1 {
				return res, fmt.Sprintf("cycle %d paid twice", parsed.Charge.Cycle)
			}
			if !st.EndedAt.IsZero() && le.CreatedAt.After(st.EndedAt) {
				return res, fmt.Sprintf("%s charged at %s, after the cancel took effect at %s", le.MerchantUID, le.CreatedAt, st.EndedAt)
			}
		default:
			if outcome != billing.OutcomeDeclined && outcome != billing.OutcomeDeclinedHard {
				return res, fmt.Sprintf("%s failed at PortOne, %s in the state", le.MerchantUID, outcome)
			}
		}
		if le.CancelAmount > le.Amount {
			return res, fmt.Sprintf("%s refunded %d of %d", le.MerchantUID, le.CancelAmount, le.Amount)
		}
		if refundedByImp[le.ImpUID] != le.CancelAmount {
			return res, fmt.Sprintf("%s: PortOne refunded %d, the state says %d", le.MerchantUID, le.CancelAmount, refundedByImp[le.ImpUID])
		}
		var tfRefunded int64
		for _, c := range le.Cancels {
			tfRefunded += c.TaxFree
			// When it was asked for: an asynchronous V2 cancel is done later (At).
			res.Refunds = append(res.Refunds, rulebook.Refund{At: c.RequestedAt, Cycle: parsed.Charge.Cycle, Amount: c.Amount, TaxFree: c.TaxFree})
		}
		if tfRefunded > le.TaxFree {
			return res, fmt.Sprintf("%s: tax_free refunded %d of %d", le.MerchantUID, tfRefunded, le.TaxFree)
		}
		res.Charges = append(res.Charges, rulebook.Charge{At: le.CreatedAt, Cycle: parsed.Charge.Cycle, Attempt: parsed.Charge.Attempt,
			Customer: le.CustomerUID, Amount: le.Amount, TaxFree: le.TaxFree, NaverUseCfm: le.NaverUseCfm, Outcome: rulebook.Outcome(outcome)})
	}
	sort.SliceStable(res.Refunds, func(a, b int) bool { return res.Refunds[a].At.Before(res.Refunds[b].At) })
	if tl.AsyncCancel > 0 || tl.LostCancelAnswers {
		// The refunds of one cancel go one after the other: with asynchronous cancels each
		// waits for the previous one's REQUESTED answer to be looked up again (the activity's
		// retry), seconds later, and so does one whose answer was lost. They belong to the
		// instant of the first (seeds 777005147, 900022520: the retry crossed a minute).
		for i := 1; i < len(res.Refunds); i++ {
			if prev := res.Refunds[i-1].At; res.Refunds[i].At.Sub(prev) <= 10*rulebook.ActivityRetryInterval {
				res.Refunds[i].At = prev
			}
		}
	}
	res.Status = rulebook.Status(st.Status)
	for i, u := range updates {
		if u.rejected != nil || u.err != nil {
			res.Refused = append(res.Refused, i)
		}
	}
	return res, ""
}

// onlyUpdateRefusals keeps the refusals that are compared: those of updates sent at an instant.
// A refused signal has no one to tell (it is in the audit trail).
func onlyUpdateRefusals(tl scenario, r rulebook.Result) rulebook.Result {
	var keep []int
	for _, i := range r.Refused {
		if tl.Messages[i].Update && tl.Messages[i].During == nil {
			keep = append(keep, i)
		}
	}
	r.Refused = keep
	return r
}

// shrink removes messages and bank answers while the timeline still fails the same way, so the
// failure is reported on the smallest timeline that shows it (bounded: a few passes).
func shrink(tl scenario, problem string) scenario {
	kind := strings.SplitN(problem, "\n", 2)[0]
	fails := func(c scenario) bool {
		p := runAndCompare(c)
		return p != "" && strings.SplitN(p, "\n", 2)[0] == kind
	}
	for pass := 0; pass < 3; pass++ {
		changed := false
		for i := 0; i < len(tl.Messages)-1; i++ { // keep the final cancel
			c := tl
			c.Messages = slices.Delete(slices.Clone(tl.Messages), i, i+1)
			if fails(c) {
				tl, changed = c, true
				i--
			}
		}
		for a := range tl.Answers {
			c := tl
			c.Answers = map[rulebook.Attempt]rulebook.Answer{}
			for k, v := range tl.Answers {
				if k != a {
					c.Answers[k] = v
				}
			}
			if fails(c) {
				tl, changed = c, true
			}
		}
		if !changed {
			break
		}
	}
	return tl
}

func describe(tl scenario) string {
	var b strings.Builder
	if tl.Input.Gateway.IsV2() {
		fmt.Fprintf(&b, "  on PortOne V2, cancels finished after %s, answers to the first two cancels lost: %t, first cancel of each payment FAILED: %t\n",
			tl.AsyncCancel, tl.LostCancelAnswers, tl.FailFirstCancels)
	}
	fmt.Fprintf(&b, "  start %s KST\n  plan %s\n  dunning %s\n  first_charge %s\n", tl.Start.In(calendar.Seoul).Format("2006-01-02 15:04:05"),
		mustJSON(tl.Input.Plan), mustJSON(tl.Input.Dunning), tl.Input.FirstCharge)
	for a, ans := range tl.Answers {
		fmt.Fprintf(&b, "  bank: cycle %d attempt %d → %s\n", a.Cycle, a.Attempt, ans)
	}
	for i, m := range tl.Messages {
		how := "signal"
		if m.Update {
			how = "update"
		}
		at := m.At.In(calendar.Seoul).Format("2006-01-02 15:04:05")
		if m.During != nil {
			at = fmt.Sprintf("during cycle %d attempt %d", m.During.Cycle, m.During.Attempt)
		}
		fmt.Fprintf(&b, "  [%d] %s %s %s %s\n", i, at, how, m.Name, mustJSON(payload(m)))
	}
	want := onlyUpdateRefusals(tl, rulebook.Run(tl.rulebook()))
	fmt.Fprintf(&b, "  rulebook says:\n    %s\n", strings.Join(want.Summary(), "\n    "))
	return b.String()
}
