-- The projection's first schema. Times are Unix nanoseconds (0: none), amounts whole KRW,
-- booleans 0/1: the same on SQLite and PostgreSQL, so that both answer identically.

-- One row per subscription ID: its latest incarnation (stream).
CREATE TABLE subscriptions (
	subscription_id TEXT PRIMARY KEY,
	stream TEXT NOT NULL,
	last_seq BIGINT NOT NULL,
	status TEXT NOT NULL,
	status_reason TEXT NOT NULL DEFAULT '',
	plan_name TEXT NOT NULL DEFAULT '',
	plan_code TEXT NOT NULL DEFAULT '',
	price BIGINT NOT NULL DEFAULT 0,
	currency TEXT NOT NULL DEFAULT '',
	interval_unit TEXT NOT NULL DEFAULT '',
	interval_count INTEGER NOT NULL DEFAULT 0,
	mrr BIGINT NOT NULL DEFAULT 0,
	cycle INTEGER NOT NULL DEFAULT 0,
	next_charge_at BIGINT NOT NULL DEFAULT 0,
	next_charge_amount BIGINT NOT NULL DEFAULT 0,
	announced_at BIGINT NOT NULL DEFAULT 0,
	announced_amount BIGINT NOT NULL DEFAULT 0,
	paid_through BIGINT NOT NULL DEFAULT 0,
	cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
	customer_uid_masked TEXT NOT NULL DEFAULT '',
	last_charge_at BIGINT NOT NULL DEFAULT 0,
	last_charge_amount BIGINT NOT NULL DEFAULT 0,
	last_charge_outcome TEXT NOT NULL DEFAULT '',
	last_decline_reason TEXT NOT NULL DEFAULT '',
	dunning_cycle INTEGER NOT NULL DEFAULT 0,
	dunning_attempts INTEGER NOT NULL DEFAULT 0,
	dunning_next_retry_at BIGINT NOT NULL DEFAULT 0,
	dunning_grace_ends_at BIGINT NOT NULL DEFAULT 0,
	dunning_hard INTEGER NOT NULL DEFAULT 0,
	past_due_since BIGINT NOT NULL DEFAULT 0,
	consent_status TEXT NOT NULL DEFAULT '',
	consent_deadline BIGINT NOT NULL DEFAULT 0,
	consent_amount_after BIGINT NOT NULL DEFAULT 0,
	consent_why TEXT NOT NULL DEFAULT '',
	attention_kind TEXT NOT NULL DEFAULT '',
	attention_finding TEXT NOT NULL DEFAULT '',
	attention_detail TEXT NOT NULL DEFAULT '',
	attention_at BIGINT NOT NULL DEFAULT 0,
	total_paid BIGINT NOT NULL DEFAULT 0,
	total_refunded BIGINT NOT NULL DEFAULT 0,
	total_tax_free BIGINT NOT NULL DEFAULT 0,
	started_at BIGINT NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_status ON subscriptions (status, subscription_id);
CREATE INDEX subscriptions_next_charge ON subscriptions (next_charge_at);
CREATE INDEX subscriptions_consent ON subscriptions (consent_status, consent_deadline);
CREATE INDEX subscriptions_attention ON subscriptions (attention_kind, attention_at);

-- Every event received, applied or held (applied_at 0) behind a gap.
CREATE TABLE events (
	subscription_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	seq BIGINT NOT NULL,
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	ts BIGINT NOT NULL,
	received_at BIGINT NOT NULL,
	applied_at BIGINT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (subscription_id, stream, seq)
);
CREATE INDEX events_applied ON events (applied_at);
CREATE INDEX events_held ON events (applied_at, subscription_id) WHERE applied_at = 0;

-- Money: one row per payment (kind charge, or duplicate for a second payment known only from
-- its refund) and per refund, by the event that reported it.
CREATE TABLE ledger (
	subscription_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	seq BIGINT NOT NULL,
	kind TEXT NOT NULL,
	at BIGINT NOT NULL,
	month TEXT NOT NULL,
	amount BIGINT NOT NULL,
	tax_free BIGINT NOT NULL,
	imp_uid TEXT NOT NULL,
	merchant_uid TEXT NOT NULL,
	cycle INTEGER NOT NULL,
	PRIMARY KEY (subscription_id, stream, seq, kind)
);
CREATE INDEX ledger_at ON ledger (at);
CREATE INDEX ledger_imp ON ledger (subscription_id, imp_uid);

-- The ledger summed per KST month, kept in the same transactions.
CREATE TABLE revenue_months (
	month TEXT PRIMARY KEY,
	gross BIGINT NOT NULL,
	refunds BIGINT NOT NULL,
	tax_free_gross BIGINT NOT NULL,
	tax_free_refunds BIGINT NOT NULL,
	charges INTEGER NOT NULL,
	refund_count INTEGER NOT NULL
);

-- Every change of a subscription's MRR, so that MRR at any past instant is a sum.
CREATE TABLE mrr_changes (
	subscription_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	seq BIGINT NOT NULL,
	at BIGINT NOT NULL,
	delta BIGINT NOT NULL,
	PRIMARY KEY (subscription_id, stream, seq)
);
CREATE INDEX mrr_changes_at ON mrr_changes (at);

-- Dunning episodes: outcome open, recovered, final_action or ended (left dunning otherwise).
CREATE TABLE dunning (
	subscription_id TEXT NOT NULL,
	stream TEXT NOT NULL,
	cycle INTEGER NOT NULL,
	started_at BIGINT NOT NULL,
	ended_at BIGINT NOT NULL,
	outcome TEXT NOT NULL,
	PRIMARY KEY (subscription_id, stream, cycle)
);
CREATE INDEX dunning_ended ON dunning (ended_at);
