// Package calendar is the pure billing calendar of paycycle: it turns a
// subscription's interval, anchor and charge time into charge instants,
// service periods and pro-rata amounts, in Asia/Seoul.
//
// The package has no Temporal, no I/O and never reads the wall clock: every
// instant is passed in by the caller (in a workflow, from workflow.Now), so
// the same inputs give the same outputs on every worker and on every replay.
// The Asia/Seoul rules are embedded (time/tzdata) for the same reason.
//
// # Billing dates are KST civil dates
//
// A billing date is a local date in Asia/Seoul ([Date]), and a charge happens
// at a local time of day on that date ([TimeOfDay], by default 10:00 KST =
// 01:00 UTC). Dates are never taken from the UTC calendar: a customer who
// signs up at 2025-03-01 00:30 KST (2025-02-28 15:30 UTC) is a customer of
// the 1st, not of the 28th. Charging at 10:00 rather than at midnight keeps
// charges away from the day boundary and from late-night bank batch windows,
// and leaves the customer the rest of the day to fix a declined card.
//
// # Always derive from the anchor
//
// A monthly subscription keeps an anchor day (1..31) for its whole life.
// Charge i falls on (start month + i×count, min(anchor, days in that month)):
// an anchor of 31 gives Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30,
// May 31. Every charge date is computed directly from the start and the
// anchor, never from the previous (possibly clamped) charge date, because
// "Feb 28 + 1 month" is Mar 28 and the anchor would then drift to the 28th
// forever (Kill Bill #127). Computing directly also means no period can be
// skipped in a short month (Lago #1567) and any index can be reached in
// constant time. Yearly anchors work the same way: Feb 29 gives Feb 28 in
// common years and Feb 29 again in leap years. Daily and weekly intervals
// (for example the Korean "every 28 days") count local days from the start.
// The demo-only units [Second] and [Minute] count elapsed time from an origin
// instant instead of calendar dates.
//
// The service period of charge i is [ChargeDate(i), ChargeDate(i+1) − 1 day]
// in local dates; its last day is the NaverPay 이용완료일 (naverUseCfm).
//
// # Money and the rounding rule
//
// Amounts are whole Korean won (KRW has no minor unit) in int64. There is one
// rounding rule, used for charges and refunds alike:
//
//	pro-rata amount = floor(amount × part ÷ whole)
//
// computed exactly in 128-bit arithmetic (see [Prorate]). For a charge, part
// is the billed share, so the customer is never charged for a part they do not
// use; for a refund, part is the unused share, so a refund never exceeds the
// unused share. Usage is measured in whole KST calendar days for calendar
// units, and the day on which the customer cancels counts as used (see
// [Period.Usage]); for the short demo units it is measured in whole seconds,
// and the started second counts as used.
//
// A prorated first charge (a "stub", from sign-up to the first anchor date) is
// measured against the length of the regular period that the stub precedes,
// that is the period that would end on the day before the first anchor date,
// computed backwards from the anchor with the same rule (Period(-1)). For
// example a monthly plan on the 28th with a sign-up on 2025-02-10 has the stub
// Feb 10..Feb 27 (18 days) over Jan 28..Feb 27 (31 days). See [StubCharge].
//
// NaverPay refuses charges under 10 KRW; this package does not enforce that
// minimum, callers decide whether to skip or carry such tiny amounts.
package calendar
