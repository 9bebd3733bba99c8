package rulebook

// Behaviours the README is gaining in issue 20 that the rulebook does not know yet, and where
// each goes, so that each is a small rule file plus a line or two elsewhere. Their exact rules
// are written here from the README once they are merged, not guessed before.
//
//   - Consent windows known in advance (item 1): consent.go's endsForNoConsent is the one place a
//     rise is met. A rule file keeps the pending rise (its date and amounts) from the moment its
//     date is known, its 30-day window and 7-day notice; a `consent` message is one more entry in
//     messageRules (malformed: its payload rules in validity.go; refused: outside the window or
//     not naming the pending change; apply: record it), and endsForNoConsent asks whether a
//     valid consent is on record. The sweep's generator then sends consents.
//   - Early conversion (item 2): an `end_trial` entry in messageRules; trials add a Trial to
//     Plan (types.go) and their start to startBilling (simulate.go).
//   - change_plan "when": "now" (item 2): a When field on ChangePlan, its payload rule in
//     changePlanProblem, and an apply that charges or credits through money.go (unusedShare,
//     stubAmount) and records the cycle in Result.Periods for the no-day-twice invariant.
//   - Attempt ceilings (item 6): charge (simulate.go) is the one place an attempt is made, for a
//     cycle, a retry, a new key or charge_now alike; a ceilings.go rule counts the attempts per
//     key from res.Charges (Customer, At, Outcome) and withholds the attempt, and dunning.go
//     waits or parks.
//   - Null payloads (item 7): validity.go already refuses a missing payload for every message
//     that has one; the generator does not send one until the workflow refuses them too.
