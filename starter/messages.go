package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
)

// msgFlags are the flags every message command shares.
type msgFlags struct {
	id        string
	signal    bool
	requestID string
	json      bool
}

func (m *msgFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.id, "id", "", "subscription ID (required)")
	fs.BoolVar(&m.signal, "signal", false, "send a fire-and-forget signal instead of an update (no answer, no validation feedback)")
	fs.StringVar(&m.requestID, "request-id", "", "idempotency key; a request ID the subscription already applied is not applied again (default: a fresh UUID)")
	fs.BoolVar(&m.json, "json", false, "print the receipt as JSON")
}

// message is one command to a subscription: its message name and its payload.
type message struct {
	name    string
	payload any
}

// messageCommand builds a message command. build turns the parsed flags into the message; it is
// validated here with the same rules as the workflow, so a malformed request never leaves the
// terminal.
func messageCommand(c *command, extra func(fs *flag.FlagSet) func(requestID string) (message, error)) *command {
	c.setup = func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
		var m msgFlags
		m.register(fs)
		build := extra(fs)
		return func(ctx context.Context) error {
			if err := checkID(m.id); err != nil {
				return err
			}
			if m.requestID == "" {
				m.requestID = uuid.NewString()
			}
			if len(m.requestID) > maxRequestIDLen {
				return refused("-request-id is %d characters; at most %d", len(m.requestID), maxRequestIDLen)
			}
			msg, err := build(m.requestID)
			if err != nil {
				return err
			}
			return a.send(ctx, m, msg)
		}
	}
	return c
}

// maxRequestIDLen is the workflow's limit on request IDs (billing's validateRequestID).
const maxRequestIDLen = 128

// checkID refuses a missing or malformed -id before dialing.
func checkID(id string) error {
	if id == "" {
		return refused("-id is required: the subscription ID (the workflow ID without %q)", billing.WorkflowIDPrefix)
	}
	if rest, ok := strings.CutPrefix(id, billing.WorkflowIDPrefix); ok {
		return refused("-id takes the subscription ID, not the workflow ID: use -id %s", rest)
	}
	if err := billing.ValidateSubscriptionID(id); err != nil {
		return refused("-id: %v", err)
	}
	return nil
}

// localRefusal names the flag behind a payload field the local validation refused.
func localRefusal(err error, fields map[string]string) error {
	var ie *billing.InputError
	if errors.As(err, &ie) {
		if fl, ok := fields[ie.Field]; ok {
			// Reasons are predicates ("is required: ..."), written to follow the field's name.
			return refused("%s %s", fl, ie.Reason)
		}
		return refused("%s", ie.Error())
	}
	return refused("%v", err)
}

// send delivers a message as an update (default: validated by the workflow, answered with a
// receipt) or as a plain signal. Never signal-with-start: on an ended subscription that would
// start a new one.
func (a *app) send(ctx context.Context, m msgFlags, msg message) error {
	if err := checkPayload(msg); err != nil {
		return err
	}
	c, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	wfID := billing.WorkflowID(m.id)
	if m.signal {
		if err := c.SignalWorkflow(ctx, wfID, "", msg.name, msg.payload); err != nil {
			return a.messageError(ctx, c, err, m, msg)
		}
		if m.json {
			return writeJSON(a.stdout, map[string]string{"sent": "signal", "message": msg.name, "workflow_id": wfID, "request_id": m.requestID})
		}
		fmt.Fprintf(a.stdout, "Signal %s sent to %s (request ID %s).\n", msg.name, wfID, m.requestID)
		fmt.Fprintf(a.stdout, "A signal gets no answer: if the subscription refuses it, the refusal is only recorded in its audit trail (kind \"refused\").\n"+
			"Check with: starter show -id %s\nTo be told at once, send it without -signal: the update of the same name answers the refusal.\n", m.id)
		return nil
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wfID,
		UpdateName: msg.name,
		// The update ID derives from the request ID, so re-running a command with the same
		// -request-id fetches the first answer instead of applying it again; the message name is
		// part of it so that one request ID reused for another command cannot return a wrong answer.
		UpdateID:     msg.name + ":" + m.requestID,
		Args:         []any{msg.payload},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var receipt billing.Receipt
	if err == nil {
		err = h.Get(ctx, &receipt)
	}
	if err != nil {
		return a.messageError(ctx, c, err, m, msg)
	}
	if m.json {
		return writeJSON(a.stdout, receipt)
	}
	renderReceipt(a.stdout, a.cmd.name, m.id, receipt, m.requestID, a.now())
	return nil
}

// checkPayload refuses, before dialing, a payload that would reach the subscription as JSON null
// (a nil payload or nil pointer): the subscription refuses null, and a command that built one is
// a bug here, not the operator's mistake.
func checkPayload(msg message) error {
	b, err := json.Marshal(msg.payload)
	if err != nil {
		return failed("encode the %s payload: %v; nothing was sent", msg.name, err)
	}
	if billing.IsNullPayload(b) {
		return failed("the %s payload is null (a bug in starter); nothing was sent", msg.name)
	}
	return nil
}

// messageError explains a failed message. A NotFound may mean the subscription has ended, which
// deserves a different answer than "no such subscription". A timeout says how to get the answer
// later without applying the request twice.
func (a *app) messageError(ctx context.Context, c client.Client, err error, m msgFlags, msg message) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		if derr := a.describeEnded(ctx, c, m.id); derr != nil {
			return derr
		}
	}
	what := "update " + msg.name
	if m.signal {
		what = "signal " + msg.name
	}
	e := a.explain(err, m.id, what)
	if !m.signal && (isUpdateTimeout(err) || isDeadline(err) || errors.Is(err, context.DeadlineExceeded)) {
		var ce *cliError
		if errors.As(e, &ce) {
			ce.msg += fmt.Sprintf("\nThe request may still be applied when a worker picks it up. To get its answer without applying it twice, re-run with -request-id %s", m.requestID)
		}
	}
	return e
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return failed("encode JSON: %v", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func cancelCommand() *command {
	return messageCommand(&command{
		name:    "cancel",
		summary: "cancel at the period's end (default) or now, optionally refunding",
		usage:   "starter cancel -id ID -reason TEXT [-now [-refund none|prorata|full]] [flags]",
		about: `Cancel a subscription. By default it ends at the end of the paid period and nothing more is
charged; 'starter undo-cancel' withdraws that. With -now it ends at once, and -refund can refund
the current period pro rata (unused whole KST days) or in full. NaverPay's review requires the
real reason and who asked (-requester) on every cancel.`,
		examples: []string{
			`starter cancel -id sub-1001 -reason "고객 요청: 서비스 불만족"`,
			`starter cancel -id sub-1001 -now -refund prorata -requester customer -reason "고객 요청 즉시 해지"`,
			`starter cancel -id sub-1001 -now -reason "fraud" -signal        # fire and forget`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		now := fs.Bool("now", false, "cancel now instead of at the end of the paid period")
		refund := fs.String("refund", "none", "with -now: none, prorata (unused whole days) or full")
		reason := fs.String("reason", "", "why (required; NaverPay's review requires the real reason)")
		requester := fs.String("requester", "admin", "who asked: customer or admin")
		return func(requestID string) (message, error) {
			req := billing.CancelRequest{RequestID: requestID, Reason: *reason, Requester: billing.Requester(*requester), Refund: billing.RefundPolicy(*refund)}
			if *now {
				req.When = billing.Now
			}
			req.Normalize()
			fields := map[string]string{"reason": "-reason", "refund": "-refund", "requester": "-requester", "when": "-now", "request_id": "-request-id"}
			if err := req.Validate(); err != nil {
				var ie *billing.InputError
				if errors.As(err, &ie) && ie.Field == "refund" && req.When == billing.AtPeriodEnd && req.Refund != billing.RefundNone {
					return message{}, refused("-refund %s needs -now: a cancel at period end leaves nothing unused to refund", req.Refund)
				}
				return message{}, localRefusal(err, fields)
			}
			return message{name: billing.MsgCancel, payload: req}, nil
		}
	})
}

func undoCancelCommand() *command {
	return messageCommand(&command{
		name:     "undo-cancel",
		summary:  "withdraw a pending cancel-at-period-end",
		usage:    "starter undo-cancel -id ID [-reason TEXT] [flags]",
		about:    `Withdraw a cancel that waits for the end of the period; billing continues as before.`,
		examples: []string{`starter undo-cancel -id sub-1001 -reason "customer changed their mind"`},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		reason := fs.String("reason", "", "why (recorded in the subscription's events)")
		return func(requestID string) (message, error) {
			return message{name: billing.MsgUndoCancel, payload: billing.UndoCancelRequest{RequestID: requestID, Reason: *reason}}, nil
		}
	})
}

func pauseCommand() *command {
	return messageCommand(&command{
		name:    "pause",
		summary: "pause at the period's end (default) or now, optionally until a date",
		usage:   "starter pause -id ID [-now] [-resume-at TIME] [-reason TEXT] [flags]",
		about: `Pause an active subscription: no charge and no access while paused. By default the pause starts
at the end of the paid period; -now pauses at once. -resume-at resumes automatically, keeping the
billing anchor; give an RFC 3339 time or a date (00:00 KST that day).`,
		examples: []string{
			`starter pause -id sub-1001 -reason "military service"`,
			`starter pause -id sub-1001 -now -resume-at 2026-03-01 -reason "customer travels"`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		now := fs.Bool("now", false, "pause now instead of at the end of the paid period")
		resumeAt := fs.String("resume-at", "", `resume automatically at this time: RFC 3339 or "2006-01-02" (00:00 KST)`)
		reason := fs.String("reason", "", "why (recorded in the subscription's events)")
		return func(requestID string) (message, error) {
			req := billing.PauseRequest{RequestID: requestID, Reason: *reason}
			if *now {
				req.When = billing.Now
			}
			if *resumeAt != "" {
				t, err := parseResumeAt(*resumeAt)
				if err != nil {
					return message{}, refused("-resume-at: %v", err)
				}
				req.ResumeAt = t
			}
			req.Normalize()
			fields := map[string]string{"when": "-now", "request_id": "-request-id"}
			if err := req.Validate(); err != nil {
				return message{}, localRefusal(err, fields)
			}
			return message{name: billing.MsgPause, payload: req}, nil
		}
	})
}

func resumeCommand() *command {
	return messageCommand(&command{
		name:    "resume",
		summary: "end a pause (or withdraw a pending one)",
		usage:   "starter resume -id ID [-restart] [-reason TEXT] [flags]",
		about: `Resume a paused subscription. By default access resumes now and the next charge falls on the
next anchor date; with -restart a full cycle is charged now and today becomes the new anchor. On a
subscription whose pause is still pending, resume withdraws the pending pause.`,
		examples: []string{
			`starter resume -id sub-1001`,
			`starter resume -id sub-1001 -restart -reason "back from travel"`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		restart := fs.Bool("restart", false, "charge a full cycle now and make today the new anchor")
		reason := fs.String("reason", "", "why (recorded in the subscription's events)")
		return func(requestID string) (message, error) {
			req := billing.ResumeRequest{RequestID: requestID, Reason: *reason}
			if *restart {
				req.Anchor = billing.ResumeRestartAnchor
			}
			req.Normalize()
			fields := map[string]string{"anchor": "-restart", "request_id": "-request-id"}
			if err := req.Validate(); err != nil {
				return message{}, localRefusal(err, fields)
			}
			return message{name: billing.MsgResume, payload: req}, nil
		}
	})
}

func changeCommand() *command {
	return messageCommand(&command{
		name:    "change",
		summary: "change the plan's name, code, amount or tax-free part from the next cycle, or now",
		usage:   "starter change -id ID [-name NAME] [-code CODE] [-amount KRW] [-tax-free KRW] [-reason TEXT] [-now [-consent-* flags]] [flags]",
		about: `Change the plan from the next cycle on (the current, paid cycle is not re-priced). Omitted flags
keep their current value. Before the first charge the change applies at once. The new plan is
validated by the subscription against its current plan (amount at least 10 KRW, tax-free not
above the amount, ...).

With -now the change applies at once: an upgrade charges the rest of the current period (from
tomorrow, KST) at the new price less the unused part of what was paid for it; a decrease is
credited to the next charge. A rise needs the customer's consent to the change dated today, in
the -consent-* flags (as 'starter consent' takes them). Refused during a free trial, introductory
cycles, dunning, a pause, a pending cancel or pause, and in a pro-rata period.`,
		examples: []string{
			`starter change -id sub-1001 -amount 12,900 -reason "2026 price increase"`,
			`starter change -id sub-1001 -name "Pro monthly (annual price lock)" -code pro-lock`,
			`starter change -id sub-1001 -now -name Max -amount 19,900 -consent-at 2026-12-01T14:03:00+09:00 -consent-channel app -consent-shown-text "오늘부터 월 19,900원(현재 9,900원)" -consent-amount-before 9900 -consent-amount-after 19900 -consent-change-date 2026-12-01 -consent-record-id cst-88124`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		name := fs.String("name", "", "new plan name (order name the buyer sees)")
		code := fs.String("code", "", "new product code")
		amount := fs.String("amount", "", "new price per cycle in whole KRW")
		taxFree := fs.String("tax-free", "", "new tax-exempt part in KRW (0 allowed)")
		reason := fs.String("reason", "", "why (recorded in the subscription's events)")
		now := fs.Bool("now", false, "change at once (the rest of the period re-priced) instead of from the next cycle")
		cf := addConsentFlags(fs, "consent-", false)
		return func(requestID string) (message, error) {
			req := billing.ChangePlanRequest{RequestID: requestID, Name: *name, Code: *code, Reason: *reason}
			if *now {
				req.When = billing.Now
			}
			if cf.given() {
				if !*now {
					return message{}, refused("-consent-*: a consent goes with -now; a rise at period end is consented to with 'starter consent' inside its window")
				}
				c, err := cf.request()
				if err != nil {
					return message{}, err
				}
				req.Consent = &c
			}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			if set["amount"] {
				n, err := parseAmount(*amount)
				if err != nil {
					return message{}, refused("-amount: %v", err)
				}
				if n == 0 {
					return message{}, refused("-amount: must be at least %d KRW (NaverPay minimum), got 0", billing.MinAmountKRW)
				}
				req.Amount = n
			}
			if set["tax-free"] {
				n, err := parseAmount(*taxFree)
				if err != nil {
					return message{}, refused("-tax-free: %v", err)
				}
				req.TaxFree = &n
			}
			if req.Name == "" && req.Code == "" && req.Amount == 0 && req.TaxFree == nil {
				return message{}, refused("nothing to change: give -name, -code, -amount or -tax-free")
			}
			if err := req.Consent.ValidateImmediate(); err != nil {
				return message{}, localRefusal(err, consentFlagNames)
			}
			// The full check (against the current plan) is the workflow's: only it knows the plan.
			return message{name: billing.MsgChangePlan, payload: req}, nil
		}
	})
}

func replaceKeyCommand() *command {
	return messageCommand(&command{
		name:    "replace-key",
		summary: "switch to a newly registered billing key (customer_uid, or a PortOne V2 key); retries at once when past due",
		usage:   "starter replace-key -id ID (-customer UID | -v2-key KEY [-issue-id ID]) [-keep-old] [-reason TEXT] [flags]",
		about: `Switch the subscription to another billing key, after the customer registered it through the
NaverPay recurring window. The subscription first checks at PortOne that the key exists. When the
subscription is past due or needs a payment method, the unpaid cycle is retried at once. The old
key is deleted at PortOne unless -keep-old.

-v2-key names a key PortOne V2 issued (requestIssueBillingKey's billingKey) under -issue-id (default:
the subscription's customer_uid): a V1 subscription moves onto PortOne V2 from the next charge on,
once PortOne V2 confirmed the key (issued, NaverPay's, that issueId). It is a new NaverPay
registration with the customer's new consent; nothing moves back to V1.`,
		examples: []string{
			`starter replace-key -id sub-1001 -customer cust-1001-v2 -reason "결제수단 변경"`,
			`starter replace-key -id sub-1001 -customer cust-1001-v2 -keep-old`,
			`starter replace-key -id sub-1001 -v2-key billing-key-0190… -issue-id cust-1001 -reason "네이버페이 재등록"`,
		},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		customer := fs.String("customer", "", "the new customer_uid (a key of the subscription's own gateway)")
		v2Key := fs.String("v2-key", "", "a PortOne V2 billing key instead of -customer (moves a V1 subscription onto V2)")
		issueID := fs.String("issue-id", "", "with -v2-key: the issueId it was issued under (default: the subscription's customer_uid)")
		keepOld := fs.Bool("keep-old", false, "do not delete the previous billing key at PortOne")
		reason := fs.String("reason", "", "why (sent to PortOne when deleting the old key)")
		return func(requestID string) (message, error) {
			req := billing.ReplaceBillingKeyRequest{RequestID: requestID, CustomerUID: *customer, Reason: *reason, BillingKey: *v2Key, IssueID: *issueID}
			if *v2Key != "" {
				req.Gateway = billing.GatewayPortOneV2
			}
			if *keepOld {
				f := false
				req.DeleteOld = &f
			}
			fields := map[string]string{"customer_uid": "-customer", "request_id": "-request-id", "billing_key": "-v2-key", "issue_id": "-issue-id"}
			if err := req.Validate(); err != nil {
				return message{}, localRefusal(err, fields)
			}
			return message{name: billing.MsgReplaceBillingKey, payload: req}, nil
		}
	})
}

func retryCommand() *command {
	return messageCommand(&command{
		name:    "retry",
		summary: "retry an unpaid (past due) cycle now",
		usage:   "starter retry -id ID [flags]",
		about: `Charge the unpaid cycle of a past-due subscription now instead of waiting for the next dunning
retry (message charge_now). The subscription refuses when nothing is due; after a hard decline it
asks for 'starter replace-key' instead.`,
		examples: []string{`starter retry -id sub-1001`},
	}, func(fs *flag.FlagSet) func(string) (message, error) {
		return func(requestID string) (message, error) {
			return message{name: billing.MsgChargeNow, payload: billing.ChargeNowRequest{RequestID: requestID}}, nil
		}
	})
}
