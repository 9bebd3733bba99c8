package rulebook

// What the rulebook does not model, and where it would go. Each is a small rule file plus a line
// or two elsewhere, as the issue-20 rules were (trial.go, ceilings.go, changenow.go, consent.go,
// refund.go).
//
//   - Schedule mode (PortOne's scheduler, its revocation before a change, a credit's cycle
//     charged through again) and registration: tested elsewhere; the sweep runs again mode with a
//     key registered from the start.
//   - The 7-day notices and consent.required events: not in what the sweep compares (charges,
//     refunds, refusals of updates, the end); the dates they hang on are (consent.go).
//   - PortOne's 리커버리 (issue 20 item 8): an emulator fault, not a billing rule.
//   - Worker settings other than the defaults (the ceilings are the README's 10 and 20).
