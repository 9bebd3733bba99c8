package portonetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// stateVersion is bumped when the saved state's shape changes incompatibly.
const stateVersion = 1

// savedState is what Snapshot writes and Restore reads: the durable part of PortOne, the
// billing keys, payments (the ledger) and schedules of every merchant. Tokens, faults, webhook
// deliveries and browser sessions are not kept: a restarted PortOne would not keep them either.
type savedState struct {
	Version   int             `json:"version"`
	Seq       int64           `json:"seq"`
	Merchants []savedMerchant `json:"merchants"`
}

type savedMerchant struct {
	Key       string          `json:"key"`
	Customers []savedCustomer `json:"customers"`
	Payments  []savedPayment  `json:"payments"`
	Schedules []savedSchedule `json:"schedules"`
	// V2 is the merchant's V2 store (v2_state.go); absent in files written before V2.
	V2 *savedV2 `json:"v2,omitempty"`
}

type savedCustomer struct {
	UID, PGProvider, PGID, CustomerID string
	CardName, CardCode, CardNumber    string
	CardType                          *int
	Name, Tel, Email, Addr, Postcode  string
	Inserted, Updated                 int64
	InvalidReason                     string
}

type savedBuyer struct{ Name, Email, Tel, Addr, Postcode string }

type savedCancel struct {
	PGTID                       string
	Amount, CancelledAt         int64
	TaxFree                     int64 `json:",omitempty"`
	Reason, CancellationID, URL string
}

type savedPayment struct {
	Seq                                   int64
	ImpUID, MerchantUID, PayMethod        string
	Channel, PGProvider, PGID, PGTID      string
	ApplyNum, CardName, CardCode, CardNum string
	CardType                              *int
	Name                                  string
	Amount, TaxFree, CancelAmount         int64
	Currency                              string
	Buyer                                 savedBuyer
	CustomData                            *string
	Status                                string
	StartedAt, PaidAt, FailedAt           int64
	CancelledAt, UpdatedAt                int64
	FailReason, CancelReason, ReceiptURL  string
	Cancels                               []savedCancel
	CustomerUID, Usage, NoticeURL         string
	NaverUseCfm                           string `json:",omitempty"`
	CreatedAt                             time.Time
}

type savedSchedule struct {
	Seq                               int64
	CustomerUID, MerchantUID          string
	PGProvider, PGID, CustomerID      string
	ScheduleAt, ExecutedAt, RevokedAt int64
	Amount, TaxFree                   int64
	Currency, Name                    string
	Buyer                             savedBuyer
	CustomData                        *string
	NoticeURL, NaverUseCfm, Status    string
	PaymentImpUID                     string
	CreatedAt                         time.Time
	// Recovery* are a pending 리커버리 (FaultRecovery); Recoveries counts those made.
	RecoveryEvery time.Duration `json:",omitempty"`
	RecoveryLeft  int           `json:",omitempty"`
	RecoveryNext  int64         `json:",omitempty"`
	Recoveries    int           `json:",omitempty"`
}

func saveBuyer(b buyer) savedBuyer {
	return savedBuyer{Name: b.name, Email: b.email, Tel: b.tel, Addr: b.addr, Postcode: b.postcode}
}

func (b savedBuyer) load() buyer {
	return buyer{name: b.Name, email: b.Email, tel: b.Tel, addr: b.Addr, postcode: b.Postcode}
}

// Snapshot returns the emulator's billing keys, payments and schedules as JSON, for a process
// that keeps them across restarts (the emulator command's -state-file). It holds buyer test
// data, so it belongs in the local data folder, never in a repository.
func (e *Emulator) Snapshot() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := savedState{Version: stateVersion, Seq: e.seq}
	for _, key := range e.merchantOrder {
		m := e.merchants[key]
		sm := savedMerchant{Key: key}
		uids := make([]string, 0, len(m.customers))
		for uid := range m.customers {
			uids = append(uids, uid)
		}
		slices.Sort(uids)
		for _, uid := range uids {
			c := m.customers[uid]
			sm.Customers = append(sm.Customers, savedCustomer{
				UID: c.uid, PGProvider: c.pgProvider, PGID: c.pgID, CustomerID: c.customerID,
				CardName: c.cardName, CardCode: c.cardCode, CardNumber: c.cardNumber, CardType: c.cardType,
				Name: c.name, Tel: c.tel, Email: c.email, Addr: c.addr, Postcode: c.postcode,
				Inserted: c.inserted, Updated: c.updated, InvalidReason: c.invalidReason,
			})
		}
		for _, p := range m.payments {
			sm.Payments = append(sm.Payments, savePayment(p))
		}
		for _, s := range m.schedules {
			ss := savedSchedule{
				Seq: s.seq, CustomerUID: s.customerUID, MerchantUID: s.merchantUID, PGProvider: s.pgProvider, PGID: s.pgID,
				CustomerID: s.customerID, ScheduleAt: s.scheduleAt, ExecutedAt: s.executedAt, RevokedAt: s.revokedAt,
				Amount: s.amount, TaxFree: s.taxFree, Currency: s.currency, Name: s.name, Buyer: saveBuyer(s.buyer),
				CustomData: s.customData, NoticeURL: s.noticeURL, NaverUseCfm: s.naverUseCfm, Status: s.status, CreatedAt: s.createdAt,
			}
			if s.payment != nil {
				ss.PaymentImpUID = s.payment.impUID
			}
			ss.Recoveries = s.recoveries
			if rc := s.recovery; rc != nil {
				ss.RecoveryEvery, ss.RecoveryLeft, ss.RecoveryNext = rc.every, rc.left, rc.next
			}
			sm.Schedules = append(sm.Schedules, ss)
		}
		if v2 := e.saveV2Locked(m); len(v2.Keys)+len(v2.Attempts)+len(v2.Schedules) > 0 {
			sm.V2 = &v2
		}
		st.Merchants = append(st.Merchants, sm)
	}
	return json.Marshal(st)
}

// Restore replaces the emulator's billing keys, payments and schedules with a Snapshot. Every
// merchant in it must be configured (Options.Merchants); faults, tokens and webhook records
// start empty. Schedules still due run when the scheduler next looks.
func (e *Emulator) Restore(data []byte) error {
	var st savedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("portonetest: state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("portonetest: state version %d, this emulator reads %d", st.Version, stateVersion)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, sm := range st.Merchants {
		if _, ok := e.merchants[sm.Key]; !ok {
			return fmt.Errorf("portonetest: state holds merchant %q, which is not configured (-imp-key)", sm.Key)
		}
	}
	e.resetLocked()
	e.seq = st.Seq
	for _, sm := range st.Merchants {
		m := e.merchants[sm.Key]
		for _, c := range sm.Customers {
			m.customers[c.UID] = &customer{
				uid: c.UID, pgProvider: c.PGProvider, pgID: c.PGID, customerID: c.CustomerID,
				cardName: c.CardName, cardCode: c.CardCode, cardNumber: c.CardNumber, cardType: c.CardType,
				name: c.Name, tel: c.Tel, email: c.Email, addr: c.Addr, postcode: c.Postcode,
				inserted: c.Inserted, updated: c.Updated, invalidReason: c.InvalidReason,
			}
		}
		for _, sp := range sm.Payments {
			p := loadPayment(m, sp)
			m.payments = append(m.payments, p)
			m.byImp[p.impUID] = p
			e.payments = append(e.payments, p)
			e.impUIDs[p.impUID] = true
		}
		for _, ss := range sm.Schedules {
			s := &schedule{
				seq: ss.Seq, m: m, customerUID: ss.CustomerUID, merchantUID: ss.MerchantUID, pgProvider: ss.PGProvider, pgID: ss.PGID,
				customerID: ss.CustomerID, scheduleAt: ss.ScheduleAt, executedAt: ss.ExecutedAt, revokedAt: ss.RevokedAt,
				amount: ss.Amount, taxFree: ss.TaxFree, currency: ss.Currency, name: ss.Name, buyer: ss.Buyer.load(),
				customData: ss.CustomData, noticeURL: ss.NoticeURL, naverUseCfm: ss.NaverUseCfm, status: ss.Status,
				payment: m.byImp[ss.PaymentImpUID], createdAt: ss.CreatedAt, recoveries: ss.Recoveries,
			}
			if ss.RecoveryLeft > 0 {
				s.recovery = &recovery{every: ss.RecoveryEvery, left: ss.RecoveryLeft, next: ss.RecoveryNext}
			}
			m.schedules = append(m.schedules, s)
			m.scheduleByMUID[s.merchantUID] = s
		}
		if sm.V2 != nil {
			e.restoreV2Locked(m, *sm.V2)
		}
	}
	slices.SortStableFunc(e.payments, func(a, b *payment) int { return int(a.seq - b.seq) })
	return nil
}

// HasCustomer reports whether merchantKey ("" for the first merchant) holds a billing key for
// customerUID, so a restarted emulator does not register its seed keys a second time.
func (e *Emulator) HasCustomer(merchantKey, customerUID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.merchantFor(merchantKey)
	if err != nil {
		return false
	}
	_, ok := m.customers[customerUID]
	return ok
}

// savePayment is a payment record's saved form (V1 fields; v2_state.go adds V2's).
func savePayment(p *payment) savedPayment {
	sp := savedPayment{
		Seq: p.seq, ImpUID: p.impUID, MerchantUID: p.merchantUID, PayMethod: p.payMethod,
		Channel: p.channel, PGProvider: p.pgProvider, PGID: p.pgID, PGTID: p.pgTID,
		ApplyNum: p.applyNum, CardName: p.cardName, CardCode: p.cardCode, CardNum: p.cardNumber,
		CardType: p.cardType, Name: p.name, Amount: p.amount, TaxFree: p.taxFree, CancelAmount: p.cancelAmount,
		Currency: p.currency, Buyer: saveBuyer(p.buyer), CustomData: p.customData, Status: p.status,
		StartedAt: p.startedAt, PaidAt: p.paidAt, FailedAt: p.failedAt, CancelledAt: p.cancelledAt, UpdatedAt: p.updatedAt,
		FailReason: p.failReason, CancelReason: p.cancelReason, ReceiptURL: p.receiptURL,
		CustomerUID: p.customerUID, Usage: p.usage, NoticeURL: p.noticeURL, NaverUseCfm: p.naverUseCfm, CreatedAt: p.createdAt,
	}
	for _, c := range p.cancels {
		sp.Cancels = append(sp.Cancels, savedCancel{PGTID: c.pgTID, Amount: c.amount, TaxFree: c.taxFree, CancelledAt: c.cancelledAt,
			Reason: c.reason, CancellationID: c.cancellationID, URL: c.receiptURL})
	}
	return sp
}

// loadPayment rebuilds a payment record of m from its saved form.
func loadPayment(m *merchant, sp savedPayment) *payment {
	p := &payment{
		seq: sp.Seq, m: m, impUID: sp.ImpUID, merchantUID: sp.MerchantUID, payMethod: sp.PayMethod,
		channel: sp.Channel, pgProvider: sp.PGProvider, pgID: sp.PGID, pgTID: sp.PGTID,
		applyNum: sp.ApplyNum, cardName: sp.CardName, cardCode: sp.CardCode, cardNumber: sp.CardNum,
		cardType: sp.CardType, name: sp.Name, amount: sp.Amount, taxFree: sp.TaxFree, cancelAmount: sp.CancelAmount,
		currency: sp.Currency, buyer: sp.Buyer.load(), customData: sp.CustomData, status: sp.Status,
		startedAt: sp.StartedAt, paidAt: sp.PaidAt, failedAt: sp.FailedAt, cancelledAt: sp.CancelledAt, updatedAt: sp.UpdatedAt,
		failReason: sp.FailReason, cancelReason: sp.CancelReason, receiptURL: sp.ReceiptURL,
		customerUID: sp.CustomerUID, usage: sp.Usage, noticeURL: sp.NoticeURL, naverUseCfm: sp.NaverUseCfm, createdAt: sp.CreatedAt,
	}
	for _, c := range sp.Cancels {
		p.cancels = append(p.cancels, cancelRecord{pgTID: c.PGTID, amount: c.Amount, taxFree: c.TaxFree, cancelledAt: c.CancelledAt,
			reason: c.Reason, cancellationID: c.CancellationID, receiptURL: c.URL})
	}
	return p
}
