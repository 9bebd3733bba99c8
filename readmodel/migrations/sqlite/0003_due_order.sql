-- The console's list of who is charged in the next 24 hours (DueWithinFirst) reads the first
-- 100 in (next_charge_at, subscription_id) order: with this index SQLite walks it in order and
-- stops there, instead of reading and sorting a bill day's thousands of wide rows.
CREATE INDEX subscriptions_due_order ON subscriptions (next_charge_at, subscription_id);
