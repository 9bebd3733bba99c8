// Package reconcile is the nightly reconciliation (거래대사) of paycycle's subscriptions against
// PortOne's own records: only PortOne says what was really charged, so every night a Reconcile
// workflow, started by a Temporal Schedule, lists the previous KST day's payments at PortOne
// (plus a trailing overlap for late status changes), the merchant's pending schedules and the
// billing keys of active subscriptions, reads every subscription's state, and reports what
// disagrees as named findings with their evidence. Affected subscriptions are marked for a
// human (billing.MsgMarkAttention). It only reads from PortOne, except for the opt-in refund of
// a proven duplicate, which runs only after the evidence is recorded in the workflow's history.
// With a read model configured (Activities.Projection), the same states are also compared with
// the staff console's projection (projection.go): its differences are reported, never marked.
//
// The workflow is deterministic orchestration; everything that talks to Temporal's visibility,
// to subscription workflows or to PortOne is an activity (Activities).
package reconcile
