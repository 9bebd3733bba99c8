// Package rulebook is the executable specification of paycycle's billing rules, kept apart from
// the code it checks. It is the README's prose ("Calendar and money rules", resume, dunning,
// trials and consent, messages) written a second time as a plain simulation: given a
// subscription's input, the bank's answer to each charge attempt and a timeline of messages, Run
// says what must be charged (when, how much, with which tax_free and naverUseCfm), what must be
// refunded, which messages must be refused and how the subscription ends.
//
// Its only user is the randomized sweep (workflows/sweep_test.go), which runs the same timelines
// through the real workflow, the real activities and the PortOne emulator and compares. For that
// comparison to find anything, the rulebook shares no code with the workflow: it imports only the
// standard library (internal/archtest enforces it), has its own types for the input, the messages
// and the result (the sweep translates), its own KST calendar (dates.go), its own money
// arithmetic (money.go) and its own validity rules (validity.go). A bug in package calendar or
// billing therefore shows as a disagreement instead of being copied into the expectation.
//
// One concern per file, so that a new rule is a new small file plus an entry or a call:
//
//	types.go     input, messages, timeline and result
//	dates.go     the KST calendar: dates, anchors, clamping, charge instants, periods
//	money.go     floor proration, stubs, tax_free, refunds, restart credits
//	refund.go    what a period is worth, the credit chain a refund follows, pending credit
//	validity.go  defaults and which inputs and messages are refused
//	messages.go  one rule per message: its validity, its effect, whether it waits for a charge
//	dunning.go   retries, grace and the final action
//	ceilings.go  the attempt ceilings per billing key: withheld, held, parked
//	consent.go   price rises, the consent window of the first known rise, no consent
//	trial.go     free trials, the date of their first charge, end_trial
//	changenow.go change_plan "when": "now": split, credit, consent
//	resume.go    pause and resume (keep, restart)
//	simulate.go  the event loop: due actions, messages, charges in flight
//	hooks.go     what it does not model (see there)
//	summary.go   the comparable text form of a result
//
// It covers again mode with plans whose billing key is registered from the start; schedule mode
// and registration are tested elsewhere. It is blind to the gateway (PortOne V1 or V2) but for
// the one rule that differs, NaverPay's minimum charge (Input.MinCharge: 10 KRW on V1, 100 on V2).
package rulebook
