// Package ledgercheck is the money invariants the fault tests (e2e, loadtest, cluster) check
// against the PortOne emulator's ledger, one implementation for both PortOne generations.
//
// The ledger holds one entry per PortOne payment attempt: on V1 a merchant_uid (the payment)
// and its imp_uid; on V2 a paymentId and one of its transactionIds (a V2 payment may hold
// several transactions, only one of which PortOne lets succeed). The checks therefore key an
// attempt by the pair (payment id, attempt id) and a cycle by the id parsed with
// billing.ParseMerchantUID, falling back to the cycle the workflow recorded for that payment id,
// so they hold whether a V2 subscription uses one payment id per attempt (as V1 does) or one
// per cycle with its retries as transactions under it.
package ledgercheck

import (
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// Subscription is what the checks need to know of one subscription: its id, its gateway,
// when it ended (zero while it runs), and every charge and refund record of every run.
type Subscription struct {
	ID      string
	Gateway billing.GatewayName
	EndedAt time.Time
	Charges []billing.ChargeRecord
	Refunds []billing.RefundRecord
}

// FromState is the Subscription of a final state and the charge records of all its runs
// (continue-as-new carries only the recent ones: pass them all, or st.Charges when none were
// omitted).
func FromState(st billing.State, charges []billing.ChargeRecord) Subscription {
	return Subscription{ID: st.SubscriptionID, Gateway: st.Gateway, EndedAt: st.EndedAt, Charges: charges, Refunds: st.Refunds}
}

// Kept reports whether a ledger entry is a kept payment: a charge (not a registration record)
// that PortOne approved and that was not refunded in full. A second payment of a cycle the
// workflow refunded in full (PortOne's 리커버리, an amount mismatch) is not kept.
func Kept(e portonetest.LedgerEntry) bool {
	return IsCharge(e) && !e.PaidAt.IsZero() && e.CancelAmount < e.Amount
}

// IsCharge reports whether the entry is a charge attempt, not a registration record.
func IsCharge(e portonetest.LedgerEntry) bool { return e.Usage != "issue" }

// Version is the ledger's generation for a gateway name ("" is V1).
func Version(g billing.GatewayName) string {
	if g == billing.GatewayPortOneV2 {
		return portonetest.VersionV2
	}
	return portonetest.VersionV1
}

// attempt keys one PortOne attempt: (merchant_uid, imp_uid) on V1, (paymentId, transactionId)
// on V2.
type attempt struct{ payment, tx string }

func (a attempt) String() string { return a.payment + "/" + a.tx }

// Check checks the subscription's entries of the ledger and returns every violation found,
// each naming the payment: nil when the money is right.
//
//   - every payment of the subscription went through its own gateway's generation (a charge
//     recorded with a gateway of its own, before a move onto a V2 key: that one's);
//   - at most one approved attempt per payment id (PortOne's own rule on V2, the workflow's
//     look-before-charge on V1);
//   - at most one kept payment per service period (cycle);
//   - no payment created after the subscription ended (a cancel that took effect);
//   - refunds never above what was paid, and the ledger's cancels adding up;
//   - every attempt PortOne saw recorded in the workflow's state (the approved ones with their
//     imp_uid / transactionId), and every charge the state calls paid approved at PortOne
//     under the same pair (the state equals the ledger).
func Check(ledger []portonetest.LedgerEntry, sub Subscription) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(sub.ID+": "+format, args...))
	}

	recordedPayment := map[string]billing.ChargeRecord{}
	recorded := map[attempt]billing.ChargeRecord{}
	for _, c := range sub.Charges {
		// Keyed by the id PortOne knows: the merchant_uid, or the V2 cycle's paymentId the
		// cycle's attempts share.
		pid := c.GatewayPaymentID()
		if pid == "" {
			continue
		}
		if _, ok := recordedPayment[pid]; !ok || c.ImpUID != "" {
			recordedPayment[pid] = c
		}
		if c.ImpUID != "" {
			recorded[attempt{pid, c.ImpUID}] = c
		}
	}
	// The subscription's entries: those whose id names it, and those under a payment id its
	// state recorded (whatever shape a payment id has).
	var mine []portonetest.LedgerEntry
	for _, e := range ledger {
		if !IsCharge(e) {
			continue
		}
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		_, known := recordedPayment[e.MerchantUID]
		if (err == nil && p.OfCycle() && p.SubscriptionID == sub.ID) || known {
			mine = append(mine, e)
		}
	}

	want := Version(sub.Gateway)
	approvedPerPayment := map[string]int{}
	keptPerCycle := map[int][]string{}
	ledgerPaid := map[attempt]portonetest.LedgerEntry{}
	for _, e := range mine {
		a := attempt{e.MerchantUID, e.ImpUID}
		// A subscription moved onto a V2 key keeps its V1 charges, each recorded with the
		// gateway it was made through.
		wantHere := want
		if c, ok := recordedPayment[e.MerchantUID]; ok && c.Gateway != "" {
			wantHere = Version(c.Gateway)
		}
		if e.Version != wantHere {
			add("payment %s went through %s, the subscription is on %s", a, e.Version, wantHere)
		}
		cycle, ok := cycleOf(e.MerchantUID, recordedPayment)
		if !ok {
			add("payment %s: no cycle in its id and none recorded for it", a)
		}
		if !e.PaidAt.IsZero() {
			ledgerPaid[a] = e
			approvedPerPayment[e.MerchantUID]++
			if n := approvedPerPayment[e.MerchantUID]; n > 1 {
				add("payment id %s approved %d times", e.MerchantUID, n)
			}
			if _, ok := recorded[a]; !ok {
				add("approved attempt %s missing from the workflow state", a)
			}
		} else if _, ok := recordedPayment[e.MerchantUID]; !ok {
			add("declined attempt %s missing from the workflow state", a)
		}
		if Kept(e) && ok {
			keptPerCycle[cycle] = append(keptPerCycle[cycle], a.String())
			if ks := keptPerCycle[cycle]; len(ks) > 1 {
				add("cycle %d has %d kept payments: %v", cycle, len(ks), ks)
			}
		}
		if !sub.EndedAt.IsZero() && e.CreatedAt.After(sub.EndedAt) {
			add("payment %s created at %s, after the subscription ended at %s", a, e.CreatedAt.Format(time.RFC3339), sub.EndedAt.Format(time.RFC3339))
		}
		var cancels int64
		for _, c := range e.Cancels {
			cancels += c.Amount
		}
		if e.CancelAmount > e.Amount || e.CancelAmount < 0 {
			add("payment %s refunded %d of %d", a, e.CancelAmount, e.Amount)
		}
		if len(e.Cancels) > 0 && cancels != e.CancelAmount {
			add("payment %s: its cancels add up to %d, its cancelled amount is %d", a, cancels, e.CancelAmount)
		}
		if e.CancelAmount > 0 && e.PaidAt.IsZero() {
			add("payment %s refunded %d but never paid", a, e.CancelAmount)
		}
	}
	for a, c := range recorded {
		if c.Outcome != billing.OutcomePaid {
			continue
		}
		if _, ok := ledgerPaid[a]; !ok {
			add("the state's paid charge %s (cycle %d) is not approved in the ledger", a, c.Cycle)
		}
	}
	// The workflow's refunds never exceed what PortOne approved for the payment.
	// A refund names its charge's merchant_uid and imp_uid; on V2 the payment PortOne knows is
	// the charge record's paymentId.
	paymentOfTx := map[string]string{}
	for a := range recorded {
		paymentOfTx[a.tx] = a.payment
	}
	refunded := map[attempt]int64{}
	for _, r := range sub.Refunds {
		if r.ImpUID == "" || r.Outcome == "failed" {
			continue
		}
		pid := r.MerchantUID
		if p, ok := paymentOfTx[r.ImpUID]; ok {
			pid = p
		}
		refunded[attempt{pid, r.ImpUID}] += r.Amount
	}
	for a, sum := range refunded {
		if e, ok := ledgerPaid[a]; ok && sum > e.Amount {
			add("the state refunded %d of payment %s, which was %d", sum, a, e.Amount)
		}
	}
	return problems
}

// cycleOf is the cycle a payment id belongs to: parsed from the id, else the recorded one.
func cycleOf(paymentID string, recorded map[string]billing.ChargeRecord) (int, bool) {
	if p, err := billing.ParseMerchantUID(paymentID); err == nil && p.OfCycle() {
		return p.Charge.Cycle, true
	}
	if c, ok := recorded[paymentID]; ok && c.Cycle > 0 {
		return c.Cycle, true
	}
	return 0, false
}

// KeptByCycle is the subscription's kept payments per cycle (cycle parsed from the id, or
// recorded by the workflow for it): the fleet test compares it with what was due.
func KeptByCycle(ledger []portonetest.LedgerEntry, sub Subscription) map[int][]portonetest.LedgerEntry {
	recordedPayment := map[string]billing.ChargeRecord{}
	for _, c := range sub.Charges {
		if pid := c.GatewayPaymentID(); pid != "" {
			recordedPayment[pid] = c
		}
	}
	out := map[int][]portonetest.LedgerEntry{}
	for _, e := range ledger {
		if !Kept(e) {
			continue
		}
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		_, known := recordedPayment[e.MerchantUID]
		if !((err == nil && p.OfCycle() && p.SubscriptionID == sub.ID) || known) {
			continue
		}
		if cycle, ok := cycleOf(e.MerchantUID, recordedPayment); ok {
			out[cycle] = append(out[cycle], e)
		}
	}
	return out
}
