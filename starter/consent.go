package main

import (
	"flag"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// consentCommand records the customer's consent (or refusal) to a pending price rise, as the
// merchant's own channel collected it (전자상거래법 §13⑥; README "Trials, introductory prices
// and the consent gate").
func consentCommand() *command {
	return messageCommand(&command{
		name:    "consent",
		summary: "record the customer's consent (or refusal) to a pending price rise",
		usage:   "starter consent -id ID -granted true|false -at TIME -channel CH (-shown-text TEXT | -shown-sha256 HEX) -amount-before N -amount-after N -change-date DATE -record-id REC [flags]",
		about: `Send the consent update: what the customer answered, when and where, exactly what they were
shown (its text, kept only as a SHA-256, or the hash), and the amounts and date they agreed to.
The subscription refuses a consent that does not name its pending change ('starter show' lists it),
one given at or before sign-up, and one outside the 30 days before the change. Without a granted
consent the higher price is never charged: the subscription ends on the change date (no_consent).`,
		examples: []string{
			`starter consent -id sub-1001 -granted true -at 2026-12-01T14:03:00+09:00 -channel app -shown-text "12월 15일부터 월 12,900원(현재 9,900원)이 네이버페이로 결제됩니다." -amount-before 9900 -amount-after 12900 -change-date 2026-12-15 -record-id cst-88121`,
			`starter consent -id sub-1001 -granted false -at 2026-12-01T14:03:00+09:00 -channel sms -shown-sha256 9f86d0… -amount-before 0 -amount-after 9900 -change-date 2026-12-15 -record-id cst-88122`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		granted := fs.String("granted", "", "true: consented; false: refused (required)")
		at := fs.String("at", "", "when the customer answered, RFC 3339 (required)")
		channel := fs.String("channel", "", "where: app, web, sms, kakao, email, phone … (required)")
		shownText := fs.String("shown-text", "", "exactly what the customer was shown")
		shownHash := fs.String("shown-sha256", "", "or its SHA-256 in hex")
		before := fs.String("amount-before", "", "the price before the change in KRW (0 after a free trial) (required)")
		after := fs.String("amount-after", "", "the new price in KRW (required)")
		changeDate := fs.String("change-date", "", "the date of the change, YYYY-MM-DD in KST (required)")
		recordID := fs.String("record-id", "", "the consent record's ID in your systems (required)")
		return func(requestID string) (message, error) {
			req := billing.ConsentRequest{RequestID: requestID, Channel: *channel, ShownText: *shownText, ShownSHA256: *shownHash, RecordID: *recordID}
			switch strings.ToLower(strings.TrimSpace(*granted)) {
			case "true", "yes":
				req.Granted = ptrBool(true)
			case "false", "no":
				req.Granted = ptrBool(false)
			default:
				return message{}, refused("-granted: want true or false (silence is not consent), got %q", *granted)
			}
			t, err := time.Parse(time.RFC3339, strings.TrimSpace(*at))
			if err != nil {
				return message{}, refused("-at: want an RFC 3339 time, got %q", *at)
			}
			req.At = t
			if req.AmountBefore, err = parseAmount(*before); err != nil {
				return message{}, refused("-amount-before: %v", err)
			}
			if req.AmountAfter, err = parseAmount(*after); err != nil {
				return message{}, refused("-amount-after: %v", err)
			}
			d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(*changeDate), calendar.Seoul)
			if err != nil {
				return message{}, refused("-change-date: want YYYY-MM-DD, got %q", *changeDate)
			}
			req.ChangeDate = calendar.DateOf(d)
			if err := req.Validate(); err != nil {
				return message{}, refused("%v", err)
			}
			return message{name: billing.MsgConsent, payload: req}, nil
		}
	})
}

// endTrialCommand ends a free trial now.
func endTrialCommand() *command {
	return messageCommand(&command{
		name:     "end-trial",
		summary:  "end a free trial now (its consent must be on record)",
		usage:    "starter end-trial -id ID [-reason TEXT] [flags]",
		about:    `Start billing now instead of at the trial's end, when the customer asks to; the consent to be charged must already be on record ('starter consent').`,
		examples: []string{`starter end-trial -id sub-1001 -reason "customer wants the full plan now"`},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		reason := fs.String("reason", "", "why (recorded in the subscription's events)")
		return func(requestID string) (message, error) {
			return message{name: billing.MsgEndTrial, payload: billing.EndTrialRequest{RequestID: requestID, Reason: *reason}}, nil
		}
	})
}

func ptrBool(b bool) *bool { return &b }
