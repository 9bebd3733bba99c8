-- Covering indexes for the overview, the gauges and the upcoming charges: with 100,000
-- subscriptions, each aggregate reads a narrow index instead of the wide rows (measured by
-- BenchmarkReadModel: the overview went from 0.9 s to the figure in BENCHMARKS.md).
CREATE INDEX subscriptions_status_mrr ON subscriptions (status, mrr);
CREATE INDEX subscriptions_due ON subscriptions (next_charge_at, status, next_charge_amount);
DROP INDEX subscriptions_next_charge;
CREATE INDEX mrr_changes_at_delta ON mrr_changes (at, delta);
DROP INDEX mrr_changes_at;
CREATE INDEX ledger_at_kind_amount ON ledger (at, kind, amount);
DROP INDEX ledger_at;
CREATE INDEX dunning_ended_outcome ON dunning (ended_at, outcome);
DROP INDEX dunning_ended;
