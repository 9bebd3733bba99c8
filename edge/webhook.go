package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
)

// Webhook answer results, the "result" field of POST /portone/webhook's JSON answer.
const (
	// ResultAccepted means the notification was verified and relayed (or had just been).
	ResultAccepted = "accepted"
	// ResultIgnored means the notification was understood and deliberately dropped: it names
	// no real payment, a payment this project did not create, or an unknown subscription.
	ResultIgnored = "ignored"
	// ResultRejected means the request was malformed (HTTP 400 or 413).
	ResultRejected = "rejected"
	// ResultRetry means verification or relaying failed for a reason that may pass (HTTP 503),
	// so PortOne should deliver again.
	ResultRetry = "retry"
)

// Webhook verdicts, finer than the answer's result, reported to Deps.WebhookVerdict. Bounded:
// they are metric label values.
const (
	VerdictAccepted        = "accepted"
	VerdictDuplicate       = "duplicate"
	VerdictRejected        = "rejected"
	VerdictForeign         = "ignored_foreign"
	VerdictUnknownPayment  = "ignored_unknown_payment"
	VerdictMismatch        = "ignored_mismatch"
	VerdictUnfinished      = "ignored_unfinished_registration"
	VerdictNoSubscription  = "ignored_no_subscription"
	VerdictPortOneDown     = "retry_portone"
	VerdictTemporalFailure = "retry_temporal"
)

// WebhookAnswer is the JSON body of every answer to POST /portone/webhook. PortOne only looks
// at the status code; the body is for people reading PortOne's delivery log.
type WebhookAnswer struct {
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// notification is a webhook body as claimed by whoever sent it.
type notification struct {
	ImpUID         string `json:"imp_uid"`
	MerchantUID    string `json:"merchant_uid"`
	Status         string `json:"status"`
	CancellationID string `json:"cancellation_id"`
}

// maxIDLen bounds imp_uid and merchant_uid in a webhook; PortOne's own limits are 32 and 40.
const maxIDLen = 100

// badRequest is a malformed webhook body, answered with status (400 or 413).
type badRequest struct {
	status int
	msg    string
}

func (e *badRequest) Error() string { return e.msg }

// readNotification decodes a webhook body, JSON or form-encoded as chosen in PortOne's console.
func readNotification(r *http.Request) (notification, error) {
	var n notification
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return n, &badRequest{http.StatusBadRequest, "Content-Type must be application/json or application/x-www-form-urlencoded"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return n, &badRequest{http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes)}
		}
		return n, &badRequest{http.StatusBadRequest, "body could not be read"}
	}
	switch mediaType {
	case "application/json":
		if err := json.Unmarshal(body, &n); err != nil {
			return n, &badRequest{http.StatusBadRequest, "body is not a JSON object of strings"}
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return n, &badRequest{http.StatusBadRequest, "body is not valid form encoding"}
		}
		n = notification{
			ImpUID:         form.Get("imp_uid"),
			MerchantUID:    form.Get("merchant_uid"),
			Status:         form.Get("status"),
			CancellationID: form.Get("cancellation_id"),
		}
	default:
		return n, &badRequest{http.StatusBadRequest, "Content-Type must be application/json or application/x-www-form-urlencoded"}
	}
	n.ImpUID = strings.TrimSpace(n.ImpUID)
	n.MerchantUID = strings.TrimSpace(n.MerchantUID)
	n.Status = strings.TrimSpace(n.Status)
	switch {
	case n.ImpUID == "" || n.MerchantUID == "":
		return n, &badRequest{http.StatusBadRequest, "imp_uid and merchant_uid are required"}
	case len(n.ImpUID) > maxIDLen || len(n.MerchantUID) > maxIDLen:
		return n, &badRequest{http.StatusBadRequest, "imp_uid or merchant_uid is too long"}
	}
	return n, nil
}

// handleWebhook is POST /portone/webhook, PortOne's payment notification.
//
// The body is never trusted: V1 webhooks are unsigned, so anyone who knows the URL can post
// anything. The edge parses the claimed merchant_uid only to skip what this project did not
// issue, fetches the payment by imp_uid from PortOne, requires PortOne's merchant_uid to match
// the claim, and relays PortOne's own status and amount, never the claimed ones.
//
// Status codes (PortOne retries on 5xx when retries are enabled for the merchant, so only a
// failure that may pass gets one):
//
//   - 400 malformed: unsupported Content-Type, undecodable body, imp_uid or merchant_uid
//     missing or absurdly long; 413 body over MaxBodyBytes. Retrying the same body cannot help.
//   - 200 {"result":"accepted"}: verified and relayed, or relayed recently (duplicate). A
//     claimed status that differs from PortOne's is logged as a warning and PortOne's is
//     relayed.
//   - 200 {"result":"ignored"}: understood and dropped: a merchant_uid this project did not
//     issue, an imp_uid PortOne does not know, a merchant_uid that does not match PortOne's,
//     a registration record that is not finished, or no open workflow for the subscription.
//   - 503 {"result":"retry"}: PortOne or Temporal could not be reached (or failed) within
//     the upstream timeout.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	n, err := readNotification(r)
	if err != nil {
		status := http.StatusBadRequest
		var br *badRequest
		if errors.As(err, &br) {
			status = br.status
		}
		s.log.Info("webhook rejected as malformed", zap.Int("status", status), zap.String("reason", err.Error()))
		s.verdict(VerdictRejected)
		writeJSON(w, status, WebhookAnswer{Result: ResultRejected, Reason: err.Error()})
		return
	}
	log := s.log.With(zap.String("imp_uid", n.ImpUID), zap.String("merchant_uid", n.MerchantUID), zap.String("claimed_status", n.Status))
	ignore := func(verdict, reason string) {
		s.verdict(verdict)
		writeJSON(w, http.StatusOK, WebhookAnswer{Result: ResultIgnored, Reason: reason})
	}

	parsed, err := billing.ParseMerchantUID(n.MerchantUID)
	if err != nil {
		// Other systems may share the console's webhook URL; their notifications are not ours.
		log.Info("webhook ignored: merchant_uid not issued by this project")
		ignore(VerdictForeign, "merchant_uid was not issued by this billing orchestrator")
		return
	}
	log = log.With(zap.String("subscription_id", parsed.SubscriptionID))

	p, err := s.lookup(r.Context(), n.ImpUID)
	switch {
	case err != nil && isUnknownPayment(err):
		log.Warn("webhook ignored: PortOne does not know the imp_uid (forged, or from another account)", zap.Error(err))
		ignore(VerdictUnknownPayment, "PortOne does not know this imp_uid")
		return
	case err != nil:
		log.Error("webhook not verified: PortOne lookup failed; asking PortOne to retry", zap.Error(err))
		s.verdict(VerdictPortOneDown)
		writeJSON(w, http.StatusServiceUnavailable, WebhookAnswer{Result: ResultRetry, Reason: "the payment could not be verified with PortOne right now"})
		return
	}
	if p.MerchantUID != n.MerchantUID {
		log.Warn("webhook ignored: merchant_uid does not match PortOne's record of the imp_uid (forged?)",
			zap.String("verified_merchant_uid", p.MerchantUID))
		ignore(VerdictMismatch, "merchant_uid does not match PortOne's record of this imp_uid")
		return
	}
	reason := ""
	if n.Status != "" && n.Status != string(p.Status) {
		log.Warn("webhook's claimed status differs from PortOne's; relaying PortOne's",
			zap.String("verified_status", string(p.Status)))
		reason = fmt.Sprintf("claimed status %q differs from PortOne's %q; relayed PortOne's", n.Status, p.Status)
	}

	var signal string
	var arg any
	switch parsed.Kind {
	case billing.KindRegistration:
		var why string
		var ok bool
		signal, arg, why, ok = registrationSignal(p)
		if !ok {
			log.Info("webhook ignored: registration record not finished", zap.String("verified_status", string(p.Status)), zap.String("why", why))
			ignore(VerdictUnfinished, why)
			return
		}
	default:
		signal = billing.SignalPaymentNotification
		arg = billing.PaymentNotification{
			ImpUID:      p.ImpUID,
			MerchantUID: p.MerchantUID,
			Status:      string(p.Status),
			Amount:      int64(p.Amount),
		}
	}

	outcome, err := s.relay(r.Context(), parsed.SubscriptionID, signal, dedupeKey(p), arg)
	switch outcome {
	case relayNoSubscription:
		log.Warn("webhook ignored: no open workflow for the subscription", zap.Error(err))
		ignore(VerdictNoSubscription, "no open subscription workflow "+billing.WorkflowID(parsed.SubscriptionID))
	case relayFailed:
		log.Error("webhook verified but not relayed: Temporal failed; asking PortOne to retry", zap.Error(err))
		s.verdict(VerdictTemporalFailure)
		writeJSON(w, http.StatusServiceUnavailable, WebhookAnswer{Result: ResultRetry, Reason: "the subscription could not be reached right now"})
	case relayDuplicate:
		log.Info("webhook duplicate: already relayed", zap.String("verified_status", string(p.Status)))
		s.verdict(VerdictDuplicate)
		writeJSON(w, http.StatusOK, WebhookAnswer{Result: ResultAccepted, Reason: joinReasons("duplicate: already relayed", reason)})
	default:
		log.Info("webhook verified and relayed", zap.String("signal", signal), zap.String("verified_status", string(p.Status)))
		s.verdict(VerdictAccepted)
		writeJSON(w, http.StatusOK, WebhookAnswer{Result: ResultAccepted, Reason: reason})
	}
}

func joinReasons(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// verdict reports a webhook's verdict to the metrics hook, if any.
func (s *Server) verdict(v string) {
	if s.onVerdict != nil {
		s.onVerdict(v)
	}
}
