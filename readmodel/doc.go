// Package readmodel keeps a projection of every subscription in a SQL database, for the staff
// console, the stock gauges and the questions the per-cycle search attributes answer (who is
// charged within the next day, at which cycle).
//
// The projection is fed by the subscriptions' own merchant events (billing.MerchantEvent), as
// the webhooks outbox delivers them to Receiver, and applied idempotently by (subscription,
// stream, sequence): a redelivery or a replay changes nothing, and an event that arrives after
// a gap is held and applied once the gap fills (or once a workflow state at or past it is
// applied with ApplyState). It never decides money: the workflows stay the authority, and
// Compare says where a row and a workflow's state disagree.
//
// The database is SQLite (pure Go, "sqlite:<path>") for `make run` and tests, or PostgreSQL
// ("postgres://…") in production; the schema is versioned migrations embedded in the binary and
// applied by Open. See docs/readmodel.md.
package readmodel
