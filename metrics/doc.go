// Package metrics is the project's Prometheus instrumentation: one registry per process served
// at /metrics, the Temporal SDK's own metrics through an SDK metrics handler backed by that
// registry (SDKHandler), and the billing metrics (charges, amounts, lateness, PortOne requests,
// queue waits, webhooks, parked subscriptions).
//
// Labels are bounded on purpose: outcome, decline class, route template, result class, verdict,
// activity type, attention kind. No subscription ID, customer_uid, merchant_uid, imp_uid or any
// other personal or per-subscription value ever becomes a label; values outside a label's known
// set are folded into "other" so that a bug cannot blow up the series count.
package metrics
