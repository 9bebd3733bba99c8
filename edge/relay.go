package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/portone"
)

// relayOutcome is what happened to a signal the edge tried to send.
type relayOutcome int

const (
	// relayed: the workflow received the signal.
	relayed relayOutcome = iota
	// relayDuplicate: the same verified fact was relayed recently; nothing was sent.
	relayDuplicate
	// relayNoSubscription: no open workflow has this subscription's ID; retrying cannot help.
	relayNoSubscription
	// relayFailed: Temporal could not be reached or refused for a reason that may pass.
	relayFailed
)

// relay signals a subscription's workflow once per dedupe key. A failed relay forgets the key,
// so that PortOne's retry (or the buyer's reload) is relayed again.
func (s *Server) relay(ctx context.Context, subscriptionID, signal, key string, arg any) (relayOutcome, error) {
	key = signal + "|" + key
	if !s.relayed.reserve(key) {
		return relayDuplicate, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	workflowID := billing.WorkflowID(subscriptionID)
	if err := s.wf.SignalWorkflow(ctx, workflowID, "", signal, arg); err != nil {
		s.relayed.release(key)
		err = fmt.Errorf("signal %q to workflow %s: %w", signal, workflowID, err)
		if isWorkflowNotFound(err) {
			return relayNoSubscription, err
		}
		return relayFailed, err
	}
	return relayed, nil
}

// lookup fetches a payment from PortOne within the upstream timeout.
func (s *Server) lookup(ctx context.Context, impUID string) (*portone.Payment, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	p, err := s.pay.GetPayment(ctx, impUID)
	if err != nil {
		return nil, fmt.Errorf("look up imp_uid %q at PortOne: %w", impUID, err)
	}
	if p == nil {
		return nil, fmt.Errorf("look up imp_uid %q at PortOne: empty answer", impUID)
	}
	return p, nil
}

// isUnknownPayment reports whether PortOne said the imp_uid does not exist (or the client
// refused it as impossible): the notification or redirect names no real payment, so retrying
// cannot help.
func isUnknownPayment(err error) bool {
	var ve *portone.ValidationError
	return errors.Is(err, portone.ErrNotFound) || errors.As(err, &ve)
}

// isWorkflowNotFound reports whether Temporal has no open workflow with the ID. Signalling a
// closed workflow is answered the same way.
func isWorkflowNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// dedupeKey names a verified fact about a payment: the same imp_uid in the same status with the
// same refunded amount is the same news, however often PortOne delivers it.
func dedupeKey(p *portone.Payment) string {
	return p.ImpUID + "|" + string(p.Status) + "|" + strconv.FormatInt(int64(p.CancelAmount), 10)
}

// registrationSignal turns a verified registration record into the signal it calls for: a
// paid record with a billing key is a registration, a failed one a failed attempt. ok is false
// for anything else (ready, cancelled, or paid without a customer_uid), with the reason.
func registrationSignal(p *portone.Payment) (signal string, arg any, reason string, ok bool) {
	switch {
	case p.Status == portone.StatusPaid && p.CustomerUID != "":
		return billing.SignalRegistered, billing.RegisteredSignal{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID}, "", true
	case p.Status == portone.StatusPaid:
		return "", nil, "PortOne's record has no customer_uid, so no billing key was issued", false
	case p.Status == portone.StatusFailed:
		msg := p.FailReason
		if msg == "" {
			msg = "NaverPay registration failed (PortOne gave no reason)"
		}
		return billing.SignalRegistrationFailed, billing.RegistrationFailedSignal{MerchantUID: p.MerchantUID, Error: textfmt.Truncate(msg, maxErrorMsg)}, "", true
	default:
		return "", nil, fmt.Sprintf("PortOne's record is %q, not a finished registration", p.Status), false
	}
}

// maxErrorMsg bounds a NaverPay error message carried into a signal or a page; NaverPay's are
// one sentence.
const maxErrorMsg = 500

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
