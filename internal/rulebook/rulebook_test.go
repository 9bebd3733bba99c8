package rulebook

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README's own examples, worked by the rulebook. They pin the rulebook to the prose it was
// written from; the sweep then pins the workflow to the rulebook.

func kst(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, KST) }

func TestCalendarExamplesFromTheREADME(t *testing.T) {
	for _, tc := range []struct {
		name   string
		plan   Plan
		first  Date
		anchor int
		want   []string
	}{
		{"anchor 31 clamps and comes back", Plan{Unit: Month, Count: 1}, Date{2025, time.January, 31}, 31,
			[]string{"2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"}},
		{"anchor 31 in a leap year", Plan{Unit: Month, Count: 1}, Date{2024, time.January, 31}, 31,
			[]string{"2024-01-31", "2024-02-29", "2024-03-31"}},
		{"yearly from Feb 29", Plan{Unit: Year, Count: 1}, Date{2024, time.February, 29}, 29,
			[]string{"2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"}},
		{"every two weeks", Plan{Unit: Week, Count: 2}, Date{2025, time.December, 24}, 0,
			[]string{"2025-12-24", "2026-01-07", "2026-01-21"}},
		{"every 10 days across February", Plan{Unit: Day, Count: 10}, Date{2028, time.February, 20}, 0,
			[]string{"2028-02-20", "2028-03-01", "2028-03-11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule(tc.plan, tc.first, tc.anchor, time.Time{})
			var got []string
			for i := range tc.want {
				got = append(got, s.date(i).String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("charge dates %v, want %v", got, tc.want)
			}
		})
	}
	if got := DateOf(time.Date(2025, time.March, 9, 15, 30, 0, 0, time.UTC)); got != (Date{2025, time.March, 10}) {
		t.Errorf("a sign-up at 00:30 KST is billed on that KST date: got %s", got)
	}
	if got := firstAnchorDate(Date{2025, time.February, 10}, 31); got != (Date{2025, time.February, 28}) {
		t.Errorf("first anchor 31 from Feb 10: got %s", got)
	}
	if got := firstAnchorDate(Date{2025, time.March, 1}, 31); got != (Date{2025, time.March, 31}) {
		t.Errorf("first anchor 31 from Mar 1: got %s", got)
	}
}

func TestMoneyExamplesFromTheREADME(t *testing.T) {
	// tax_free follows the amount: 31,000 with 15,500 tax-free charged 18,000 pro rata sends 9,000.
	if got := chargeTaxFree(Plan{Amount: 31000, TaxFree: 15500}, 18000); got != 9000 {
		t.Errorf("tax_free of a prorated charge: %d, want 9000", got)
	}
	// Partial refunds carry the payment's proportion, the last one the rest: they add up.
	first := refundTaxFree(10001, 3333, 0, 0, 5000)
	last := refundTaxFree(10001, 3333, 5000, first, 5001)
	if first != 1666 || first+last != 3333 {
		t.Errorf("refund tax_free %d then %d, want 1666 and a total of 3333", first, last)
	}
	// A stub up to the anchor is part of the full period before it: sign-up Feb 10 on a plan
	// anchored on the 28th pays Feb 10..27, 18 of the 31 days of Jan 28..Feb 27.
	s := newSchedule(Plan{Unit: Month, Count: 1}, Date{2025, time.February, 28}, 28, time.Time{})
	if got := stubAmount(31000, Date{2025, time.February, 10}, Date{2025, time.February, 28}, s.period(-1)); got != 18000 {
		t.Errorf("stub: %d, want 18000", got)
	}
}

// run is Run with a monthly 31,000 KRW plan signed up at start.
func run(start time.Time, answers map[Attempt]Answer, msgs ...Message) Result {
	return Run(Timeline{Start: start, Input: Input{Customer: "key-1", Plan: Plan{Amount: 31000, Unit: Month, Count: 1}},
		Keys: []string{"key-1", "key-2"}, Answers: answers, Messages: msgs, End: start.AddDate(0, 4, 0)})
}

func TestRunExamplesFromTheREADME(t *testing.T) {
	t.Run("a cycle charged before its nominal start counts the cancel day as used", func(t *testing.T) {
		r := run(kst(2025, time.January, 10, 0, 30), nil,
			Message{At: kst(2025, time.January, 10, 5, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Refund: RefundProrata, Reason: "r"}})
		if len(r.Refunds) != 1 || r.Refunds[0].Amount != 30000 {
			t.Fatalf("refunds %+v, want one of floor(31,000 × 30/31) = 30,000", r.Refunds)
		}
	})
	t.Run("a scheduled resume exactly on an anchor instant charges that cycle in full", func(t *testing.T) {
		r := run(kst(2025, time.January, 10, 10, 0), nil,
			Message{At: kst(2025, time.January, 20, 9, 0), Name: MsgPause, Pause: &Pause{When: PeriodEnd, ResumeAt: kst(2025, time.March, 10, 10, 0)}},
			Message{At: kst(2025, time.March, 20, 9, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}})
		var got []string
		for _, c := range r.Charges {
			got = append(got, c.At.In(KST).Format("01-02 15:04")+" "+strconv.FormatInt(c.Amount, 10))
		}
		if want := []string{"01-10 10:00 31000", "03-10 10:00 31000"}; !slices.Equal(got, want) {
			t.Fatalf("charges %v, want %v", got, want)
		}
	})
	t.Run("a restart credits the paused period from the restart day on, a cancel refunds what the new period is worth", func(t *testing.T) {
		r := run(kst(2025, time.January, 10, 10, 0), nil,
			Message{At: kst(2025, time.January, 12, 12, 0), Name: MsgPause, Pause: &Pause{When: Now}},
			Message{At: kst(2025, time.January, 15, 12, 0), Name: MsgResume, Resume: &Resume{Anchor: Restart}},
			Message{At: kst(2025, time.January, 20, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Refund: RefundProrata, Reason: "r"}})
		var got []string
		for _, c := range r.Charges {
			got = append(got, "charge "+c.At.In(KST).Format("01-02")+" c"+strconv.Itoa(c.Cycle)+" "+strconv.FormatInt(c.Amount, 10))
		}
		for _, f := range r.Refunds {
			got = append(got, "refund c"+strconv.Itoa(f.Cycle)+" "+strconv.FormatInt(f.Amount, 10))
		}
		// 26,000 credited (Jan 15..Feb 9), 5,000 charged for Jan 15..Feb 14; on Jan 20 with
		// prorata, 25 of 31 days unused of 31,000: 25,000 = 5,000 + 20,000.
		want := []string{"charge 01-10 c1 31000", "charge 01-15 c2 5000", "refund c2 5000", "refund c1 20000"}
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("a credit larger than the next charge is kept for the charges after it", func(t *testing.T) {
		r := run(kst(2025, time.January, 10, 10, 0), nil,
			Message{At: kst(2025, time.January, 11, 12, 0), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 10000}},
			Message{At: kst(2025, time.January, 12, 12, 0), Name: MsgPause, Pause: &Pause{When: Now}},
			Message{At: kst(2025, time.January, 13, 12, 0), Name: MsgResume, Resume: &Resume{Anchor: Restart}},
			Message{At: kst(2025, time.April, 20, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}})
		var got []string
		for _, c := range r.Charges {
			got = append(got, c.At.In(KST).Format("01-02")+" "+strconv.FormatInt(c.Amount, 10))
		}
		// Credit floor(31,000 × 28/31) = 28,000 for Jan 13..Feb 9: 10,000 + 10,000 + 8,000 off
		// the 10,000 charges of Jan 13, Feb 13 and Mar 13.
		if want := []string{"01-10 31000", "03-13 2000", "04-13 10000"}; !slices.Equal(got, want) {
			t.Fatalf("charges %v, want %v", got, want)
		}
	})
	t.Run("an upgrade now charges the new price's share less the unused payment; a cancel refunds the new period's worth", func(t *testing.T) {
		// Monthly 31,000 from Jan 10, changed to 62,000 on Jan 20: 20 days left, 40,000 − 20,000
		// = 20,000 charged for Jan 21..Feb 9, 62,000 on Feb 10; cancelled on Jan 25 with prorata,
		// 15 of 20 days unused: 30,000 = 20,000 + 10,000; with full: 40,000.
		for _, tc := range []struct {
			refund string
			want   []string
		}{
			{RefundProrata, []string{"charge 01-10 c1 31000", "charge 01-20 c2 20000", "refund c2 20000", "refund c1 10000"}},
			{RefundFull, []string{"charge 01-10 c1 31000", "charge 01-20 c2 20000", "refund c2 20000", "refund c1 20000"}},
		} {
			consent := &Consent{Granted: true, At: kst(2025, time.January, 19, 9, 0), AmountBefore: 31000, AmountAfter: 62000,
				ChangeDate: Date{2025, time.January, 20}}
			r := run(kst(2025, time.January, 10, 10, 0), nil,
				Message{At: kst(2025, time.January, 20, 12, 0), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 62000, When: Now, Consent: consent}},
				Message{At: kst(2025, time.January, 25, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Refund: tc.refund, Reason: "r"}})
			var got []string
			for _, c := range r.Charges {
				got = append(got, "charge "+c.At.In(KST).Format("01-02")+" c"+strconv.Itoa(c.Cycle)+" "+strconv.FormatInt(c.Amount, 10))
			}
			for _, f := range r.Refunds {
				got = append(got, "refund c"+strconv.Itoa(f.Cycle)+" "+strconv.FormatInt(f.Amount, 10))
			}
			if !slices.Equal(got, tc.want) || len(r.Refused) > 0 {
				t.Fatalf("%s: got %v (refused %v), want %v", tc.refund, got, r.Refused, tc.want)
			}
			if p := r.Periods[1]; p.Last != (Date{2025, time.January, 20}) {
				t.Errorf("cycle 1 keeps its days through the change day, got through %s", p.Last)
			}
		}
		// Without the consent the rise is refused; the plan stays.
		r := run(kst(2025, time.January, 10, 10, 0), nil,
			Message{At: kst(2025, time.January, 20, 12, 0), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 62000, When: Now}},
			Message{At: kst(2025, time.February, 20, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}})
		if len(r.Refused) != 1 || len(r.Charges) != 2 || r.Charges[1].Amount != 31000 {
			t.Fatalf("a rise now without consent: refused %v, charges %+v", r.Refused, r.Charges)
		}
	})
	t.Run("the attempt ceiling: 10 declines in 24 hours refuse charge_now", func(t *testing.T) {
		answers := map[Attempt]Answer{}
		for a := 1; a <= 20; a++ {
			answers[Attempt{2, a}] = SoftDecline
		}
		var msgs []Message
		for k := 1; k <= 11; k++ { // charge_now every 10 minutes after the Feb 10 decline
			msgs = append(msgs, Message{At: kst(2025, time.February, 10, 10, 10*k), Name: MsgChargeNow})
		}
		r := run(kst(2025, time.January, 10, 10, 0), answers, msgs...)
		// Attempts 1 (10:00) and 2..10 (10:10..11:30) decline: 10 in 24 hours. The 10th and 11th
		// charge_now are refused; the D+1 retry (Feb 11 10:00) is made, the first decline having
		// just left the window (the last 24 hours exclude their first instant).
		if want := []int{9, 10}; !slices.Equal(r.Refused, want) {
			t.Errorf("refused %v, want %v", r.Refused, want)
		}
		var got []string
		for _, c := range r.Charges {
			if c.Cycle == 2 && c.Attempt >= 10 {
				got = append(got, c.At.In(KST).Format("01-02 15:04"))
			}
		}
		if want := []string{"02-10 11:30", "02-11 10:00"}; len(got) < 2 || !slices.Equal(got[:2], want) {
			t.Errorf("attempts 10 and 11 of cycle 2 at %v, want %v", got, want)
		}
	})
	t.Run("a rise by a plan change is charged with a consent given inside its window, ends the subscription without", func(t *testing.T) {
		change := Message{At: kst(2025, time.January, 20, 12, 0), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 40000}}
		consent := func(at time.Time, granted bool) Message {
			return Message{At: at, Update: true, Name: MsgConsent, Consent: &Consent{Granted: granted, At: at.Add(-time.Hour),
				AmountBefore: 31000, AmountAfter: 40000, ChangeDate: Date{2025, time.February, 10}}}
		}
		end := Message{At: kst(2025, time.March, 1, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}}
		r := run(kst(2025, time.January, 10, 10, 0), nil, change, consent(kst(2025, time.January, 21, 9, 0), true), end)
		if len(r.Charges) != 2 || r.Charges[1].Amount != 40000 || len(r.Refused) != 0 {
			t.Fatalf("with consent: charges %+v, refused %v", r.Charges, r.Refused)
		}
		r = run(kst(2025, time.January, 10, 10, 0), nil, change, consent(kst(2025, time.January, 21, 9, 0), false), end)
		if len(r.Charges) != 1 || r.Status != Canceled || !r.EndedAt.Equal(kst(2025, time.February, 10, 10, 0)) {
			t.Fatalf("refused: charges %+v, status %s ended %s; want the end on the change date", r.Charges, r.Status, r.EndedAt)
		}
		// Sent before the change_plan: no rise is coming, refused.
		early := consent(kst(2025, time.January, 15, 9, 0), true)
		r = run(kst(2025, time.January, 10, 10, 0), nil, early, change, end)
		if !slices.Equal(r.Refused, []int{0, 2}) || len(r.Charges) != 1 { // the final cancel comes after the end
			t.Fatalf("a consent before the rise is known: refused %v, charges %+v", r.Refused, r.Charges)
		}
	})
	t.Run("a 200-day trial ends on day 3 with end_trial carrying the consent", func(t *testing.T) {
		start := kst(2025, time.January, 10, 10, 0)
		in := Input{Customer: "key-1", Plan: Plan{Amount: 9900, Unit: Month, Count: 1, TrialDays: 200}}
		day3 := kst(2025, time.January, 12, 15, 0)
		msgs := []Message{
			{At: kst(2025, time.January, 11, 9, 0), Update: true, Name: MsgConsent, Consent: &Consent{Granted: true, At: kst(2025, time.January, 11, 8, 0),
				AmountAfter: 9900, ChangeDate: DateOf(start.Add(200 * 24 * time.Hour))}}, // before its window: refused
			{At: day3, Update: true, Name: MsgEndTrial, EndTrial: &EndTrial{Consent: &Consent{Granted: true, At: day3.Add(-time.Hour), AmountAfter: 9900,
				ChangeDate: DateOf(day3)}}},
			{At: kst(2025, time.March, 1, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}},
		}
		r := Run(Timeline{Start: start, Input: in, Keys: []string{"key-1"}, Messages: msgs, End: msgs[2].At})
		var got []string
		for _, c := range r.Charges {
			got = append(got, c.At.In(KST).Format("01-02 15:04")+" "+strconv.FormatInt(c.Amount, 10))
		}
		if want := []string{"01-12 15:00 9900", "02-12 10:00 9900"}; !slices.Equal(got, want) || !slices.Equal(r.Refused, []int{0}) {
			t.Fatalf("charges %v refused %v, want %v and the early consent refused", got, r.Refused, want)
		}
	})
	t.Run("an introductory price's end opens its window 30 days ahead, whatever cycles come first", func(t *testing.T) {
		// Monthly 9,900 with 2 cycles at 4,900 from 2025-01-10 10:00: 4,900 on Jan 10 and Feb 10;
		// the window for 4,900 → 9,900 on Mar 10 opens Feb 8 10:00.
		start := kst(2025, time.January, 10, 10, 0)
		in := Input{Customer: "key-1", Plan: Plan{Amount: 9900, Unit: Month, Count: 1, IntroCycles: 2, IntroAmount: 4900}}
		consent := func(at time.Time) Message {
			return Message{At: at, Update: true, Name: MsgConsent, Consent: &Consent{Granted: true, At: at, AmountBefore: 4900, AmountAfter: 9900,
				ChangeDate: Date{2025, time.March, 10}}}
		}
		end := Message{At: kst(2025, time.March, 20, 12, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}}
		r := Run(Timeline{Start: start, Input: in, Keys: []string{"key-1"}, End: end.At,
			Messages: []Message{consent(kst(2025, time.February, 8, 9, 59)), consent(kst(2025, time.February, 9, 12, 0)), end}})
		var got []string
		for _, c := range r.Charges {
			got = append(got, c.At.In(KST).Format("01-02")+" "+strconv.FormatInt(c.Amount, 10))
		}
		if want := []string{"01-10 4900", "02-10 4900", "03-10 9900"}; !slices.Equal(got, want) || !slices.Equal(r.Refused, []int{0}) {
			t.Fatalf("charges %v refused %v, want %v and the consent before Feb 8 10:00 refused", got, r.Refused, want)
		}
		r = Run(Timeline{Start: start, Input: in, Keys: []string{"key-1"}, End: end.At, Messages: []Message{end}})
		if len(r.Charges) != 2 || !r.EndedAt.Equal(kst(2025, time.March, 10, 10, 0)) {
			t.Fatalf("without consent: charges %+v, ended %s; want the end on Mar 10", r.Charges, r.EndedAt)
		}
	})
	t.Run("a new key after a hard decline is tried at once, the past retries skipped", func(t *testing.T) {
		r := run(kst(2025, time.January, 10, 10, 0),
			map[Attempt]Answer{{2, 1}: HardDecline, {2, 2}: SoftDecline, {2, 3}: SoftDecline, {2, 4}: SoftDecline},
			Message{At: kst(2025, time.February, 14, 12, 0), Name: MsgReplaceKey, Replace: &ReplaceKey{Customer: "key-2"}})
		var got []string
		for _, c := range r.Charges[1:] {
			got = append(got, c.At.In(KST).Format("01-02 15:04"))
		}
		if want := []string{"02-10 10:00", "02-14 12:00", "02-15 10:00", "02-17 10:00"}; !slices.Equal(got, want) {
			t.Fatalf("attempts of cycle 2 at %v, want %v", got, want)
		}
	})
}

func TestValidityRules(t *testing.T) {
	base := Plan{Amount: 9900, TaxFree: 900}
	tf := int64(10000)
	for _, tc := range []struct {
		m     Message
		field string
	}{
		{Message{Name: MsgCancel, Cancel: &Cancel{Reason: " "}}, "reason"},
		{Message{Name: MsgCancel, Cancel: &Cancel{Refund: RefundFull, Reason: "r"}}, "refund"},
		{Message{Name: MsgCancel, Cancel: &Cancel{When: "later", Reason: "r"}}, "when"},
		{Message{Name: MsgCancel}, "payload"},
		{Message{Name: MsgPause}, "payload"},
		{Message{Name: MsgResume, Resume: &Resume{Anchor: "restrat"}}, "anchor"},
		{Message{Name: MsgChangePlan, ChangePlan: &ChangePlan{}}, "payload"},
		{Message{Name: MsgChangePlan, ChangePlan: &ChangePlan{TaxFree: &tf}}, "tax_free"},
		{Message{Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 5}}, "amount"},
		{Message{Name: MsgReplaceKey, Replace: &ReplaceKey{}}, "customer_uid"},
		{Message{Name: MsgCancel, Cancel: &Cancel{When: Now, Refund: RefundProrata, Reason: "r"}}, ""},
		{Message{Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 12000}}, ""},
		{Message{Name: MsgChargeNow}, ""},
		{Message{Name: MsgChargeNow, Null: true}, "payload"},
		{Message{Name: MsgUndoCancel, Null: true}, "payload"},
	} {
		if got := problem(messageRules[tc.m.Name], tc.m, base); got != tc.field {
			t.Errorf("%s %+v: malformed %q, want %q", tc.m.Name, tc.m, got, tc.field)
		}
	}
	good := Input{Customer: "k", Plan: Plan{Amount: 9900, Unit: Month, Count: 1}}
	if err := CheckInput(good, false); err != nil {
		t.Errorf("a good input refused: %v", err)
	}
	for _, bad := range []func(*Input){
		func(in *Input) { in.Plan.Amount = 5 },
		func(in *Input) { in.Plan.TaxFree = 10000 },
		func(in *Input) { in.Plan.Unit = Second },
		func(in *Input) { in.Plan.ChargeTime = "25:00" },
		func(in *Input) { in.Plan.AnchorDay = 32 },
		func(in *Input) { in.Customer = "" },
	} {
		in := good
		bad(&in)
		if CheckInput(in, false) == nil {
			t.Errorf("input %+v accepted", in)
		}
	}
}

// moneyLines is a result's charges and refunds, one line each: "charge 01-10 c1 31000",
// "refund c1 20000".
func moneyLines(r Result) []string {
	var got []string
	for _, c := range r.Charges {
		got = append(got, "charge "+c.At.In(KST).Format("01-02")+" c"+strconv.Itoa(c.Cycle)+" "+strconv.FormatInt(c.Amount, 10))
	}
	for _, f := range r.Refunds {
		got = append(got, "refund c"+strconv.Itoa(f.Cycle)+" "+strconv.FormatInt(f.Amount, 10))
	}
	return got
}

func TestCreditExamplesFromTheREADME(t *testing.T) {
	jan := func(d, hh int) time.Time { return kst(2025, time.January, d, hh, 0) }
	for _, tc := range []struct {
		name string
		msgs []Message
		want []string
	}{
		{"restarted twice then cancelled with full: the refund follows the credit's chain",
			[]Message{
				{At: jan(12, 12), Name: MsgPause, Pause: &Pause{When: Now}},
				{At: jan(15, 12), Name: MsgResume, Resume: &Resume{Anchor: Restart}},
				{At: jan(16, 12), Name: MsgPause, Pause: &Pause{When: Now}},
				{At: jan(17, 12), Name: MsgResume, Resume: &Resume{Anchor: Restart}},
				{At: jan(18, 12), Name: MsgCancel, Cancel: &Cancel{When: Now, Refund: RefundFull, Reason: "r"}},
			},
			// 2,000 + 5,000 + 24,000 = 31,000.
			[]string{"charge 01-10 c1 31000", "charge 01-15 c2 5000", "charge 01-17 c3 2000", "refund c3 2000", "refund c2 5000", "refund c1 24000"}},
		{"restarted, upgraded now on Jan 16: the credited period is worth 31,000",
			[]Message{
				{At: jan(12, 12), Name: MsgPause, Pause: &Pause{When: Now}},
				{At: jan(15, 12), Name: MsgResume, Resume: &Resume{Anchor: Restart}},
				{At: jan(16, 12), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 62000, When: Now,
					Consent: &Consent{Granted: true, At: jan(16, 11), AmountBefore: 31000, AmountAfter: 62000, ChangeDate: Date{2025, time.January, 16}}}},
				{At: jan(20, 12), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}},
			},
			// 29 of 31 days left: 58,000 − 29,000 = 29,000.
			[]string{"charge 01-10 c1 31000", "charge 01-15 c2 5000", "charge 01-16 c3 29000"}},
		{"decreased now on Jan 11, cancelled with full on Jan 12: the period's worth and the pending credit",
			[]Message{
				{At: jan(11, 12), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 15500, When: Now}},
				{At: jan(12, 12), Name: MsgCancel, Cancel: &Cancel{When: Now, Refund: RefundFull, Reason: "r"}},
			},
			// Jan 12..Feb 9 paid by 14,500 of credit, 14,500 pending: 14,500 + 14,500.
			[]string{"charge 01-10 c1 31000", "refund c1 14500", "refund c1 14500"}},
		{"decreased now on Jan 11, cancelled at period end: the pending credit is refunded when it takes effect",
			[]Message{
				{At: jan(11, 12), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 15500, When: Now}},
				{At: jan(12, 12), Name: MsgCancel, Cancel: &Cancel{Reason: "r"}},
			},
			[]string{"charge 01-10 c1 31000", "refund c1 14500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := moneyLines(run(jan(10, 10), nil, tc.msgs...)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("a restart inside the period a decrease made credits that period's own share", func(t *testing.T) {
		r := run(jan(10, 10), nil,
			Message{At: jan(11, 12), Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 15500, When: Now}},
			Message{At: jan(12, 12), Name: MsgPause, Pause: &Pause{When: Now}},
			Message{At: jan(15, 12), Name: MsgResume, Resume: &Resume{Anchor: Restart}},
			Message{At: jan(16, 12), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}})
		// Jan 12..Feb 9 (29 days, 14,500 of credit) gives back floor(14,500 × 26/29) = 13,000 on
		// Jan 15; with the 14,500 pending, 27,500 pays the 15,500 cycle of Jan 15 and 12,000 is
		// refunded at the end.
		if got, want := moneyLines(r), []string{"charge 01-10 c1 31000", "refund c1 12000"}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		if p := r.Periods[2]; p.CreditGiven != 13000 || p.Credit != 14500 {
			t.Fatalf("period 2: %+v, want credit 14,500 and 13,000 given back", p)
		}
	})
}

// TestMinimumChargePerGateway: the one rule that knows the gateway. PortOne V2's NaverPay takes
// no charge below 100 KRW (V1's: 10): an input, an introductory price or a change_plan below it
// is refused naming the amount, and a prorated stub below it is covered but not charged, where V1 charges it.
func TestMinimumChargePerGateway(t *testing.T) {
	for _, tc := range []struct {
		name string
		min  int64
		// stubCharged: the 32 KRW stub (Jan 30 → anchor 31 on a 1,000 KRW monthly plan, one
		// day of 31) is charged.
		stubCharged bool
		refused     string
	}{
		{"V1 (default)", 0, true, ""},
		{"V2", MinChargeV2, false, "amount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Customer: "key-1", Plan: Plan{Amount: 50, Unit: Month, Count: 1}, MinCharge: tc.min}
			if err := CheckInput(in, false); (err != nil) != (tc.refused != "") {
				t.Errorf("a 50 KRW plan: %v", err)
			} else if err != nil && !strings.HasPrefix(err.Error(), "plan.amount:") {
				t.Errorf("a 50 KRW plan refused naming %v, want plan.amount", err)
			}
			in.Plan.Amount, in.Plan.IntroCycles, in.Plan.IntroAmount = 1000, 2, 50
			if err := CheckInput(in, false); (err != nil) != (tc.refused != "") {
				t.Errorf("a 50 KRW introductory price: %v", err)
			} else if err != nil && !strings.HasPrefix(err.Error(), "plan.trial.amount:") {
				t.Errorf("a 50 KRW introductory price refused naming %v, want plan.trial.amount", err)
			}
			in.Plan.IntroCycles, in.Plan.IntroAmount = 0, 0
			base, _ := withDefaults(in)
			if got := problem(messageRules[MsgChangePlan], Message{Name: MsgChangePlan, ChangePlan: &ChangePlan{Amount: 50, Reason: "r"}}, base); got != tc.refused {
				t.Errorf("change_plan to 50 KRW: malformed %q, want %q", got, tc.refused)
			}

			in.Plan.AnchorDay = 31
			start := kst(2025, time.January, 30, 10, 0)
			r := Run(Timeline{Start: start, Input: in, Keys: []string{"key-1"}, End: start.AddDate(0, 2, 0),
				Messages: []Message{{At: start.AddDate(0, 2, 0), Name: MsgCancel, Cancel: &Cancel{When: Now, Reason: "r"}}}})
			want := []string{"charge 01-31 c2 1000", "charge 02-28 c3 1000"}
			if tc.stubCharged {
				want = append([]string{"charge 01-30 c1 32"}, want...)
			}
			if got := moneyLines(r); !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
