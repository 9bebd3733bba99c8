package portonetest

// V2's part of Snapshot/Restore: keys (with the issueIds every Naver account used), attempts
// and their cancellations, schedules. The fields are optional in the saved JSON, so a state
// file written before V2 existed still loads.

import (
	"slices"
	"strings"
	"time"
)

type savedV2 struct {
	Keys      []savedV2Key      `json:",omitempty"`
	IssueIDs  []string          `json:",omitempty"` // naverAccount + "\x00" + issueId
	Attempts  []savedV2Attempt  `json:",omitempty"` // every attempt, creation order
	Schedules []savedV2Schedule `json:",omitempty"`
}

type savedV2Key struct {
	Seq                                int64
	BillingKey, IssueID, IssueName     string
	NaverAccount, CustomData, Channel  string
	Customer                           V2Customer
	IssuedAt, DeletedAt                time.Time
	DeleteReason, DeleteBy, InvalidMsg string
}

type savedV2Cancel struct {
	ID, PGID, Status                string
	Total, TaxFree, Vat             int64
	Reason, Requester               string
	RequestedAt, CancelledAt, DueAt time.Time
	NoticeURLs                      []string
	SkipWebhook                     bool
	FailLater                       bool `json:",omitempty"`
}

type savedV2Attempt struct {
	Payment         savedPayment
	ScheduleID      string
	Vat             int64
	Customer        V2Customer
	NoticeURLs      []string
	PGCode          string
	PGMessage       string
	IPAddress       string
	RequestedAt     time.Time
	StatusChangedAt time.Time
	Cancellations   []savedV2Cancel
}

type savedV2Schedule struct {
	Seq                                       int64
	ID, PaymentID, BillingKey, OrderName      string
	Amount, TaxFree, Vat                      int64
	Currency, CustomData, NaverUseCfm, Status string
	Customer                                  V2Customer
	NoticeURLs                                []string
	TimeToPay, CreatedAt, StartedAt           time.Time
	CompletedAt, RevokedAt                    time.Time
	TransactionID                             string
}

func (e *Emulator) saveV2Locked(m *merchant) savedV2 {
	var sv savedV2
	for _, k := range m.v2.keyOrder {
		sv.Keys = append(sv.Keys, savedV2Key{Seq: k.seq, BillingKey: k.billingKey, IssueID: k.issueID, IssueName: k.issueName,
			NaverAccount: k.naverAccount, CustomData: k.customData, Channel: k.channelKey, Customer: k.customer,
			IssuedAt: k.issuedAt, DeletedAt: k.deletedAt, DeleteReason: k.deleteReason, DeleteBy: k.deleteBy, InvalidMsg: k.invalidReason})
	}
	for id := range m.v2.issueIDs {
		sv.IssueIDs = append(sv.IssueIDs, id)
	}
	slices.Sort(sv.IssueIDs)
	for _, p := range e.payments {
		if p.m != m || p.v2 == nil {
			continue
		}
		a := p.v2
		sa := savedV2Attempt{Payment: savePayment(p), ScheduleID: a.scheduleID, Vat: a.vat, Customer: a.customer,
			NoticeURLs: a.noticeURLs, PGCode: a.pgCode, PGMessage: a.pgMessage, IPAddress: a.ipAddress,
			RequestedAt: a.requestedAt, StatusChangedAt: a.statusChangedAt}
		for _, cn := range a.cancellations {
			sa.Cancellations = append(sa.Cancellations, savedV2Cancel{ID: cn.id, PGID: cn.pgID, Status: cn.status, Total: cn.total,
				TaxFree: cn.taxFree, Vat: cn.vat, Reason: cn.reason, Requester: cn.requester, RequestedAt: cn.requestedAt,
				CancelledAt: cn.cancelledAt, DueAt: cn.dueAt, NoticeURLs: cn.noticeURLs, SkipWebhook: cn.skipWebhook, FailLater: cn.failLater})
		}
		sv.Attempts = append(sv.Attempts, sa)
	}
	for _, s := range m.v2.schedules {
		ss := savedV2Schedule{Seq: s.seq, ID: s.id, PaymentID: s.paymentID, BillingKey: s.billingKey, OrderName: s.orderName,
			Amount: s.amount, TaxFree: s.taxFree, Vat: s.vat, Currency: s.currency, CustomData: s.customData,
			NaverUseCfm: s.naverUseCfm, Status: s.status, Customer: s.customer, NoticeURLs: s.noticeURLs,
			TimeToPay: s.timeToPay, CreatedAt: s.createdAt, StartedAt: s.startedAt, CompletedAt: s.completedAt, RevokedAt: s.revokedAt}
		if s.payment != nil {
			ss.TransactionID = s.payment.impUID
		}
		sv.Schedules = append(sv.Schedules, ss)
	}
	return sv
}

func (e *Emulator) restoreV2Locked(m *merchant, sv savedV2) {
	for _, sk := range sv.Keys {
		k := &v2Key{seq: sk.Seq, m: m, billingKey: sk.BillingKey, issueID: sk.IssueID, issueName: sk.IssueName,
			naverAccount: sk.NaverAccount, customData: sk.CustomData, channelKey: sk.Channel, customer: sk.Customer,
			issuedAt: sk.IssuedAt, deletedAt: sk.DeletedAt, deleteReason: sk.DeleteReason, deleteBy: sk.DeleteBy, invalidReason: sk.InvalidMsg}
		m.v2.keys[k.billingKey] = k
		m.v2.keyOrder = append(m.v2.keyOrder, k)
	}
	for _, id := range sv.IssueIDs {
		if strings.Contains(id, "\x00") {
			m.v2.issueIDs[id] = true
		}
	}
	for _, sa := range sv.Attempts {
		p := loadPayment(m, sa.Payment)
		p.v2 = &v2Attempt{scheduleID: sa.ScheduleID, vat: sa.Vat, customer: sa.Customer, noticeURLs: sa.NoticeURLs,
			pgCode: sa.PGCode, pgMessage: sa.PGMessage, ipAddress: sa.IPAddress, requestedAt: sa.RequestedAt,
			statusChangedAt: sa.StatusChangedAt}
		for _, c := range sa.Cancellations {
			p.v2.cancellations = append(p.v2.cancellations, &v2Cancellation{id: c.ID, pgID: c.PGID, status: c.Status, total: c.Total,
				taxFree: c.TaxFree, vat: c.Vat, reason: c.Reason, requester: c.Requester, requestedAt: c.RequestedAt,
				cancelledAt: c.CancelledAt, dueAt: c.DueAt, noticeURLs: c.NoticeURLs, skipWebhook: c.SkipWebhook, failLater: c.FailLater})
		}
		id := p.merchantUID
		if len(m.v2.attempts[id]) == 0 {
			m.v2.paymentIDs = append(m.v2.paymentIDs, id)
		}
		m.v2.attempts[id] = append(m.v2.attempts[id], p)
		m.v2.byTx[p.impUID] = p
		e.payments = append(e.payments, p)
	}
	for _, ss := range sv.Schedules {
		s := &v2Schedule{seq: ss.Seq, m: m, id: ss.ID, paymentID: ss.PaymentID, billingKey: ss.BillingKey, orderName: ss.OrderName,
			amount: ss.Amount, taxFree: ss.TaxFree, vat: ss.Vat, currency: ss.Currency, customData: ss.CustomData,
			naverUseCfm: ss.NaverUseCfm, status: ss.Status, customer: ss.Customer, noticeURLs: ss.NoticeURLs,
			timeToPay: ss.TimeToPay, createdAt: ss.CreatedAt, startedAt: ss.StartedAt, completedAt: ss.CompletedAt,
			revokedAt: ss.RevokedAt, payment: m.v2.byTx[ss.TransactionID]}
		m.v2.schedules = append(m.v2.schedules, s)
		m.v2.scheduleID[s.id] = s
	}
}
