-- The console's list of who is charged in the next 24 hours (DueWithinFirst) reads the first
-- 100 in (next_charge_at, subscription_id COLLATE "C") order, the order the queries use on
-- every server collation: with this index PostgreSQL walks it in order and stops there.
CREATE INDEX subscriptions_due_order ON subscriptions (next_charge_at, subscription_id COLLATE "C");
