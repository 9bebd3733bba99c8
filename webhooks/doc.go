// Package webhooks delivers a subscription's merchant events to the merchant's webhook
// endpoints, signed with the Standard Webhooks scheme.
//
// The subscription workflow never talks to a receiver: it hands its events, numbered in order,
// to the subscription's outbox workflow (Publisher, a local activity that signals it), and the
// outbox delivers them one at a time from activities on a task queue of their own (Deliverer),
// retrying with backoff for a bounded window. A receiver that is slow, down or broken therefore
// delays only its own events, never a charge; the outbox keeps each event's delivery state
// (QueryDeliveries) and can deliver any of them again (UpdateRedeliver).
package webhooks
