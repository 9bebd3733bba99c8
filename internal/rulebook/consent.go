package rulebook

// A rise is a cycle whose price is above the price of the latest paid cycle (전자상거래법 §13⑥):
// it needs the customer's consent. The sweep never consents, so a rise ends the subscription
// where the higher price would have been charged. Prorated stubs, credits and retries are not
// rises.

// nextPrice is the price the next cycle would be charged at.
func (s *sim) nextPrice() int64 { return s.base().Amount }

// rises reports whether charging at price would raise it above the last paid price.
func (s *sim) rises(price int64) bool { return s.paidPrice > 0 && price > s.paidPrice }

// endsForNoConsent ends the subscription, status canceled, reason no_consent, where a rise
// without consent would have been charged, and reports whether it did.
func (s *sim) endsForNoConsent() bool {
	if !s.rises(s.nextPrice()) {
		return false
	}
	s.cancelNow(Cancel{When: Now, Refund: RefundNone, Reason: "no_consent"})
	return true
}
