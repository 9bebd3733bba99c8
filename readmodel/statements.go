package readmodel

// The statements a transaction runs for every event, prepared once per connection (parsing them
// was half the time of applying an event on SQLite). Open prepares them all; see Store.exec.
var (
	sqlLoadRow     = `SELECT ` + rowColumns + ` FROM subscriptions WHERE subscription_id = ?`
	sqlInsertEvent = `INSERT INTO events (subscription_id, stream, seq, event_id, type, ts, received_at, applied_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (subscription_id, stream, seq) DO NOTHING`
	sqlStreamApplied        = `SELECT COUNT(*) FROM events WHERE subscription_id = ? AND stream = ? AND applied_at <> 0`
	sqlMarkApplied          = `UPDATE events SET applied_at = ? WHERE subscription_id = ? AND stream = ? AND seq = ?`
	sqlNextHeld             = `SELECT event_id, type, ts, data FROM events WHERE subscription_id = ? AND stream = ? AND seq = ? AND applied_at = 0`
	sqlPaymentKnown         = `SELECT COUNT(*) FROM ledger WHERE subscription_id = ? AND stream = ? AND imp_uid = ? AND kind = 'charge'`
	sqlRefundedPaymentKnown = `SELECT COUNT(*) FROM ledger WHERE subscription_id = ? AND imp_uid = ? AND kind IN ('charge', 'duplicate')`
	sqlInsertLedger         = `INSERT INTO ledger (subscription_id, stream, seq, kind, at, month, amount, tax_free, imp_uid, merchant_uid, cycle)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subscription_id, stream, seq, kind) DO NOTHING`
	sqlAddRevenue = `INSERT INTO revenue_months (month, gross, refunds, tax_free_gross, tax_free_refunds, charges, refund_count)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (month) DO UPDATE SET gross = revenue_months.gross + excluded.gross,
		refunds = revenue_months.refunds + excluded.refunds, tax_free_gross = revenue_months.tax_free_gross + excluded.tax_free_gross,
		tax_free_refunds = revenue_months.tax_free_refunds + excluded.tax_free_refunds, charges = revenue_months.charges + excluded.charges,
		refund_count = revenue_months.refund_count + excluded.refund_count`
	sqlAddMRRChange = `INSERT INTO mrr_changes (subscription_id, stream, seq, at, delta) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (subscription_id, stream, seq) DO UPDATE SET delta = mrr_changes.delta + excluded.delta`
	sqlOpenDunning = `INSERT INTO dunning (subscription_id, stream, cycle, started_at, ended_at, outcome) VALUES (?, ?, ?, ?, 0, 'open')
			ON CONFLICT (subscription_id, stream, cycle) DO NOTHING`
	sqlEndDunning        = `UPDATE dunning SET ended_at = ?, outcome = ? WHERE subscription_id = ? AND stream = ? AND cycle = ? AND outcome = 'open'`
	sqlEndDunningByState = `UPDATE dunning SET ended_at = ?, outcome = 'ended' WHERE subscription_id = ? AND stream = ? AND cycle = ? AND outcome = 'open'`
)

// hotStatements lists them for Open.
var hotStatements = []string{sqlLoadRow, upsertRow, sqlInsertEvent, sqlStreamApplied, sqlMarkApplied, sqlNextHeld, sqlPaymentKnown, sqlRefundedPaymentKnown, sqlInsertLedger, sqlAddRevenue, sqlAddMRRChange, sqlOpenDunning, sqlEndDunning, sqlEndDunningByState}
