// Package edge is the inbound HTTP side of the billing orchestrator: the one place where the
// outside world (PortOne's webhooks, the buyer's browser coming back from the NaverPay window,
// load balancers) talks to the subscription workflows.
//
// It serves:
//
//   - POST /portone/webhook: PortOne's payment notifications. V1 webhooks are unsigned, so the
//     body is only a hint: the payment is fetched from PortOne by imp_uid and only the verified
//     data is relayed to the subscription's workflow.
//   - POST /portone/v2/webhook: PortOne V2's webhooks, signed (Standard Webhooks, verified with
//     up to two secrets and a 5-minute tolerance, duplicates by webhook-id dropped), and still
//     only a hint: the payment or billing key is re-fetched through the V2 gateway first.
//   - GET and POST /registration/v2/complete: the end of a V2 registration
//     (PortOne.requestIssueBillingKey), the key re-fetched and matched to the linked
//     subscription's customer_uid (its issueId) before `registered` is signalled.
//   - GET and POST /registration/complete, GET /registration/result: the end of the NaverPay
//     recurring-payment registration (redirect and popup modes), verified the same way.
//   - GET /register/{token}: a minimal registration page that opens the NaverPay window through
//     PortOne's browser SDK (IMP.init, IMP.request_pay), behind a signed link.
//   - GET /manage/{token}, GET /manage/{token}/confirm, POST /manage/{token}/cancel: the
//     customer's self-service cancel page (일반해지 and 중도해지 side by side), behind a signed
//     link, sending the workflow's own cancel update.
//   - GET /register/new and POST /register/start (demo mode only): start a subscription from
//     a plan catalog, so the whole flow can be shown without the Temporal Web UI.
//   - GET /healthz and GET /readyz: liveness and readiness.
//
// The package holds no state that matters: the workflows own every decision, and a
// notification only wakes a workflow, which settles charges by its own PortOne lookup. That is
// why duplicated, reordered or replayed deliveries are harmless, and why several edge replicas
// can run side by side.
//
// Build a Server with New for tests and embedding, or with Flags (flags with environment
// defaults) for binaries; see README.md for the routes, the status-code policy and the flags.
package edge
