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
		cf := addConsentFlags(fs, "", true)
		return func(requestID string) (message, error) {
			req, err := cf.request()
			if err != nil {
				return message{}, err
			}
			req.RequestID = requestID
			if err := req.Validate(); err != nil {
				return message{}, refused("%v", err)
			}
			return message{name: billing.MsgConsent, payload: req}, nil
		}
	})
}

// consentFlags are the flags of a consent's evidence: the consent command's own, or prefixed
// with "consent-" on the commands that carry a consent to a change dated now (end-trial,
// change -now).
type consentFlags struct {
	fs                                                                              *flag.FlagSet
	prefix                                                                          string
	granted, at, channel, shownText, shownHash, before, after, changeDate, recordID *string
}

func addConsentFlags(fs *flag.FlagSet, prefix string, withGranted bool) *consentFlags {
	cf := &consentFlags{fs: fs, prefix: prefix}
	if withGranted {
		cf.granted = fs.String("granted", "", "true: consented; false: refused (required)")
	}
	cf.at = fs.String(prefix+"at", "", "when the customer answered, RFC 3339 (required)")
	cf.channel = fs.String(prefix+"channel", "", "where: app, web, sms, kakao, email, phone … (required)")
	cf.shownText = fs.String(prefix+"shown-text", "", "exactly what the customer was shown")
	cf.shownHash = fs.String(prefix+"shown-sha256", "", "or its SHA-256 in hex")
	cf.before = fs.String(prefix+"amount-before", "", "the price before the change in KRW (0 after a free trial) (required)")
	cf.after = fs.String(prefix+"amount-after", "", "the new price in KRW (required)")
	cf.changeDate = fs.String(prefix+"change-date", "", "the date of the change, YYYY-MM-DD in KST (required)")
	cf.recordID = fs.String(prefix+"record-id", "", "the consent record's ID in your systems (required)")
	return cf
}

// given reports whether any of the flags was set.
func (cf *consentFlags) given() bool {
	set := false
	cf.fs.Visit(func(f *flag.Flag) { set = set || (cf.prefix != "" && strings.HasPrefix(f.Name, cf.prefix)) })
	return set
}

// request builds the consent from the flags (granted from -granted, or true for a consent
// carried by a change), naming the flag of a malformed value.
func (cf *consentFlags) request() (billing.ConsentRequest, error) {
	p := "-" + cf.prefix
	req := billing.ConsentRequest{Channel: *cf.channel, ShownText: *cf.shownText, ShownSHA256: *cf.shownHash, RecordID: *cf.recordID}
	if cf.granted == nil {
		req.Granted = ptrBool(true)
	} else {
		switch strings.ToLower(strings.TrimSpace(*cf.granted)) {
		case "true", "yes":
			req.Granted = ptrBool(true)
		case "false", "no":
			req.Granted = ptrBool(false)
		default:
			return req, refused("-granted: want true or false (silence is not consent), got %q", *cf.granted)
		}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(*cf.at))
	if err != nil {
		return req, refused("%sat: want an RFC 3339 time, got %q", p, *cf.at)
	}
	req.At = t
	if req.AmountBefore, err = parseAmount(*cf.before); err != nil {
		return req, refused("%samount-before: %v", p, err)
	}
	if req.AmountAfter, err = parseAmount(*cf.after); err != nil {
		return req, refused("%samount-after: %v", p, err)
	}
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(*cf.changeDate), calendar.Seoul)
	if err != nil {
		return req, refused("%schange-date: want YYYY-MM-DD, got %q", p, *cf.changeDate)
	}
	req.ChangeDate = calendar.DateOf(d)
	return req, nil
}

// endTrialCommand ends a free trial now.
func endTrialCommand() *command {
	return messageCommand(&command{
		name:    "end-trial",
		summary: "end a free trial now (with the customer's consent to be charged from today)",
		usage:   "starter end-trial -id ID [-reason TEXT] [-consent-at TIME -consent-channel CH (-consent-shown-text TEXT | -consent-shown-sha256 HEX) -consent-amount-before 0 -consent-amount-after N -consent-change-date TODAY -consent-record-id REC] [flags]",
		about: `Start billing now instead of at the trial's end, when the customer asks to. The consent to be
charged must be on record ('starter consent', inside the 30 days before the trial's end), or come
with this command in the -consent-* flags: a consent to amount-before 0 → the first price, dated
today (KST); the trial's own window need not be open.`,
		examples: []string{
			`starter end-trial -id sub-1001 -reason "customer wants the full plan now"`,
			`starter end-trial -id sub-1001 -reason "지금 시작" -consent-at 2026-12-01T14:03:00+09:00 -consent-channel app -consent-shown-text "오늘부터 월 9,900원이 네이버페이로 결제됩니다." -consent-amount-before 0 -consent-amount-after 9900 -consent-change-date 2026-12-01 -consent-record-id cst-88123`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		reason := fs.String("reason", "", "why (recorded in the subscription's events)")
		cf := addConsentFlags(fs, "consent-", false)
		return func(requestID string) (message, error) {
			req := billing.EndTrialRequest{RequestID: requestID, Reason: *reason}
			if cf.given() {
				c, err := cf.request()
				if err != nil {
					return message{}, err
				}
				req.Consent = &c
			}
			if err := req.Validate(); err != nil {
				return message{}, localRefusal(err, consentFlagNames)
			}
			return message{name: billing.MsgEndTrial, payload: req}, nil
		}
	})
}

// consentFlagNames maps a carried consent's fields to their flags.
var consentFlagNames = map[string]string{
	"consent.at": "-consent-at", "consent.channel": "-consent-channel",
	"consent.shown_text": "-consent-shown-text", "consent.shown_sha256": "-consent-shown-sha256",
	"consent.amount_after": "-consent-amount-after", "consent.change_date": "-consent-change-date",
	"consent.record_id": "-consent-record-id", "request_id": "-request-id", "reason": "-reason",
}

func ptrBool(b bool) *bool { return &b }
