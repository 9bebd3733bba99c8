package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// V2WebhookRoute is where PortOne V2 delivers webhooks (version 2024-04-25): the URL to set in
// PortOne's console is the public URL followed by this path.
const V2WebhookRoute = "/portone/v2/webhook"

// V2 webhook verdicts, beside the V1 ones (Deps.WebhookVerdict, metric label values).
const (
	// VerdictBadSignature: a delivery without valid Standard Webhooks headers or whose
	// signature matches no configured secret (forged, or a secret not configured here).
	VerdictBadSignature = "rejected_signature"
	// VerdictStale: webhook-timestamp outside the tolerance (a replay, or a clock off by more
	// than five minutes).
	VerdictStale = "rejected_stale"
	// VerdictUnknownType: a verified webhook of a type this edge does not know, ignored as
	// PortOne's compatibility rule asks.
	VerdictUnknownType = "ignored_unknown_type"
	// VerdictUnusedType: a verified webhook of a known type that nothing here acts on
	// (Transaction.Ready, BillingKey.Deleted, ...).
	VerdictUnusedType = "ignored_type"
	// VerdictUnknownKey: PortOne holds no issued billing key by the name the webhook gives.
	VerdictUnknownKey = "ignored_unknown_billing_key"
)

// V2 duplicate memory: a replayed delivery is refused by its timestamp once the tolerance is
// past, so remembering IDs for three tolerances covers every replay that could still verify.
// Beyond the bound the oldest are forgotten; a redelivery then is re-fetched and relayed once
// more, which is harmless.
const (
	v2SeenEntries = 8192
	v2SeenTTL     = 3 * V2WebhookTolerance
)

// maxV2IDLen bounds paymentId, transactionId and billingKey in a V2 webhook: PortOne's are a
// few dozen characters.
const maxV2IDLen = 200

// v2Webhook is a 2024-04-25 webhook body. Unknown fields are ignored (PortOne's compatibility
// rule says new ones will appear).
type v2Webhook struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		StoreID        string `json:"storeId"`
		PaymentID      string `json:"paymentId"`
		TransactionID  string `json:"transactionId"`
		CancellationID string `json:"cancellationId"`
		BillingKey     string `json:"billingKey"`
	} `json:"data"`
}

// v2Claims are the transaction types the edge relays, with the status PortOne's payment should
// show (in the gateway's words: a partial cancel leaves a payment paid).
var v2Claims = map[string]gateway.Status{
	"Transaction.Paid":             gateway.StatusPaid,
	"Transaction.Failed":           gateway.StatusFailed,
	"Transaction.Cancelled":        gateway.StatusCancelled,
	"Transaction.PartialCancelled": gateway.StatusPaid,
}

// v2KeyIssued is the billing-key type the edge relays.
const v2KeyIssued = "BillingKey.Issued"

// v2UnusedTypes are the other types PortOne documents (v2-api.md §8 and the server SDK's
// codegen). None changes what a subscription does: a pending or disputed transaction settles
// with a later Paid, Failed or Cancelled; a deleted key is found by the next charge.
var v2UnusedTypes = map[string]bool{
	"Transaction.Ready": true, "Transaction.VirtualAccountIssued": true, "Transaction.PayPending": true,
	"Transaction.CancelPending": true, "Transaction.DisputeCreated": true, "Transaction.DisputeResolved": true,
	"Transaction.Confirm": true, "BillingKey.Ready": true, "BillingKey.Failed": true, "BillingKey.Deleted": true,
	"BillingKey.Updated": true,
}

// v2Answer is what handling a verified V2 webhook decided.
type v2Answer struct {
	status  int
	verdict string
	answer  WebhookAnswer
}

func v2Ignored(verdict, reason string) v2Answer {
	return v2Answer{http.StatusOK, verdict, WebhookAnswer{Result: ResultIgnored, Reason: reason}}
}

func v2Rejected(status int, verdict, reason string) v2Answer {
	return v2Answer{status, verdict, WebhookAnswer{Result: ResultRejected, Reason: reason}}
}

func v2Retry(verdict, reason string) v2Answer {
	return v2Answer{http.StatusServiceUnavailable, verdict, WebhookAnswer{Result: ResultRetry, Reason: reason}}
}

// handleV2Webhook is POST /portone/v2/webhook, PortOne V2's webhook (version 2024-04-25).
//
// Unlike V1's, V2 webhooks are signed (Standard Webhooks), so a verified one did come from
// PortOne; still nothing in it is relayed as a fact. The claimed payment or billing key is
// re-fetched from PortOne V2 and only PortOne's answer is relayed, as the signals V1's
// webhooks produce (payment_notification; registered with the billing key).
//
// Status codes:
//
//   - 404: V2 is not configured on this edge.
//   - 401 rejected: headers missing, no signature matching a configured secret, or
//     webhook-timestamp more than five minutes off the edge's clock either way.
//   - 413 rejected: body over MaxBodyBytes; 400 rejected: a verified body that is not a
//     2024-04-25 webhook (no type, undecodable data, an ID missing for its type).
//   - 200 accepted: re-fetched and relayed, or a webhook-id already handled (duplicate).
//   - 200 ignored: a type nothing here acts on (unknown types too, counted apart), another
//     store, a paymentId this project did not issue, a payment or key PortOne does not hold,
//     no subscription waiting for the key.
//   - 503 retry: PortOne V2 or Temporal failed. Only a 200 marks the webhook-id as handled, so
//     PortOne's retry of anything else is handled afresh.
func (s *Server) handleV2Webhook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.V2 == nil {
		writeJSON(w, http.StatusNotFound, WebhookAnswer{Result: ResultRejected,
			Reason: "PortOne V2 is not configured on this edge (PORTONE_V2_API_SECRET, PORTONE_V2_STORE_ID, PORTONE_V2_CHANNEL_KEY, PORTONE_V2_WEBHOOK_SECRETS)"})
		return
	}
	finish := func(a v2Answer) {
		s.verdict(a.verdict)
		writeJSON(w, a.status, a.answer)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.log.Warn("V2 webhook rejected: body too large", zap.Int("limit", MaxBodyBytes))
			finish(v2Rejected(http.StatusRequestEntityTooLarge, VerdictRejected, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes)))
			return
		}
		finish(v2Rejected(http.StatusBadRequest, VerdictRejected, "body could not be read"))
		return
	}
	id, err := s.cfg.V2.WebhookKeys.verify(r.Header, body, s.now())
	if err != nil {
		verdict := VerdictBadSignature
		if errors.Is(err, errStale) || errors.Is(err, errFuture) {
			verdict = VerdictStale
		}
		// Nothing of the body is logged: it is not known to come from PortOne.
		s.log.Warn("V2 webhook refused: not verified", zap.String("why", err.Error()))
		finish(v2Rejected(http.StatusUnauthorized, verdict, err.Error()))
		return
	}
	log := s.log.With(zap.String("webhook_id", id))
	if !s.v2Seen.reserve(id) {
		log.Info("V2 webhook duplicate: this webhook-id was handled already")
		finish(v2Answer{http.StatusOK, VerdictDuplicate, WebhookAnswer{Result: ResultAccepted, Reason: "duplicate: this webhook-id was handled already"}})
		return
	}
	a := s.handleVerifiedV2(r.Context(), log, body)
	if a.status != http.StatusOK {
		// Only a delivery answered 200 counts as handled: a 503's retry is handled afresh, and a
		// 400's gets the same 400 rather than a "duplicate" that would read as success.
		s.v2Seen.release(id)
	}
	finish(a)
}

// handleVerifiedV2 decodes a verified body and acts on its type.
func (s *Server) handleVerifiedV2(ctx context.Context, log *zap.Logger, body []byte) v2Answer {
	var msg v2Webhook
	if err := json.Unmarshal(body, &msg); err != nil {
		log.Warn("V2 webhook rejected: verified but not a 2024-04-25 body", zap.Error(err))
		return v2Rejected(http.StatusBadRequest, VerdictRejected, "body is not a 2024-04-25 webhook: a JSON object {type, timestamp, data} of strings")
	}
	d := msg.Data
	if msg.Type == "" {
		return v2Rejected(http.StatusBadRequest, VerdictRejected, "type is required")
	}
	for name, v := range map[string]string{"data.paymentId": d.PaymentID, "data.transactionId": d.TransactionID, "data.billingKey": d.BillingKey} {
		if len(v) > maxV2IDLen {
			return v2Rejected(http.StatusBadRequest, VerdictRejected, fmt.Sprintf("%s is longer than %d characters", name, maxV2IDLen))
		}
	}
	log = log.With(zap.String("type", msg.Type))
	if d.StoreID != "" && d.StoreID != s.cfg.V2.StoreID {
		log.Info("V2 webhook ignored: another store's", zap.String("store_id", d.StoreID))
		return v2Ignored(VerdictForeign, "data.storeId is not this edge's store")
	}
	if claim, ok := v2Claims[msg.Type]; ok {
		if d.PaymentID == "" {
			return v2Rejected(http.StatusBadRequest, VerdictRejected, "data.paymentId is required for "+msg.Type)
		}
		return s.v2Transaction(ctx, log, msg, claim)
	}
	switch {
	case msg.Type == v2KeyIssued:
		if d.BillingKey == "" {
			return v2Rejected(http.StatusBadRequest, VerdictRejected, "data.billingKey is required for "+msg.Type)
		}
		return s.v2KeyIssued(ctx, log, d.BillingKey)
	case v2UnusedTypes[msg.Type]:
		log.Info("V2 webhook ignored: nothing acts on this type")
		return v2Ignored(VerdictUnusedType, msg.Type+" changes nothing here")
	default:
		// The type is PortOne's (the signature says so) but unknown here: a type added since.
		// It is bounded to a label-safe length only in the log; the metric counts it as one.
		log.Warn("V2 webhook ignored: unknown type")
		return v2Ignored(VerdictUnknownType, "unknown type")
	}
}

// v2Transaction re-fetches the payment a Transaction.* webhook names and relays PortOne's
// current state of it as a payment_notification.
func (s *Server) v2Transaction(ctx context.Context, log *zap.Logger, msg v2Webhook, claim gateway.Status) v2Answer {
	pid := msg.Data.PaymentID
	log = log.With(zap.String("payment_id", pid), zap.String("claimed_transaction_id", msg.Data.TransactionID))
	parsed, err := billing.ParseMerchantUID(pid)
	// An attempt's own paymentId (V2 runs before versionCyclePayment) or its cycle's, shared by
	// the cycle's attempts: either names the subscription.
	if err != nil || !parsed.OfCycle() {
		log.Info("V2 webhook ignored: paymentId not issued by this project")
		return v2Ignored(VerdictForeign, "paymentId was not issued by this billing orchestrator")
	}
	log = log.With(zap.String("subscription_id", parsed.SubscriptionID))
	ps, err := s.v2Payments(ctx, pid)
	switch {
	case err != nil && errors.Is(err, gateway.ErrInvalidRequest):
		log.Warn("V2 webhook ignored: PortOne refuses the paymentId", zap.Error(err))
		return v2Ignored(VerdictUnknownPayment, "PortOne does not know this paymentId")
	case err != nil:
		log.Error("V2 webhook not verified: PortOne V2 lookup failed; asking PortOne to retry", zap.Error(err))
		return v2Retry(VerdictPortOneDown, "the payment could not be verified with PortOne right now")
	case len(ps) == 0:
		log.Warn("V2 webhook ignored: PortOne holds no payment under the paymentId")
		return v2Ignored(VerdictUnknownPayment, "PortOne does not know this paymentId")
	}
	p := ps[len(ps)-1]
	if p.PaymentID != pid {
		log.Warn("V2 webhook ignored: PortOne answered another paymentId", zap.String("verified_payment_id", p.PaymentID))
		return v2Ignored(VerdictMismatch, "PortOne answered another paymentId")
	}
	var differs []string
	if p.Status != claim {
		differs = append(differs, fmt.Sprintf("%s claims %q, PortOne says %q", msg.Type, claim, p.Status))
	}
	if t := msg.Data.TransactionID; t != "" && t != p.TxID {
		differs = append(differs, "the claimed transactionId is not the payment's current attempt")
	}
	reason := ""
	if len(differs) > 0 {
		reason = strings.Join(differs, "; ") + "; relayed PortOne's"
		log.Warn("V2 webhook's claim differs from PortOne's payment; relaying PortOne's",
			zap.String("verified_status", string(p.Status)), zap.String("verified_transaction_id", p.TxID))
	}
	arg := billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: string(p.Status), Amount: p.Amount}
	key := "v2|" + p.PaymentID + "|" + p.TxID + "|" + string(p.Status) + "|" + strconv.FormatInt(p.Cancelled, 10)
	return s.v2Relay(ctx, log, parsed.SubscriptionID, billing.SignalPaymentNotification, key, arg, reason)
}

// v2Relay signals one subscription and turns the outcome into the answer.
func (s *Server) v2Relay(ctx context.Context, log *zap.Logger, subscriptionID, signal, key string, arg any, reason string) v2Answer {
	outcome, err := s.relay(ctx, subscriptionID, signal, key, arg)
	switch outcome {
	case relayNoSubscription:
		log.Warn("V2 webhook ignored: no open workflow for the subscription", zap.Error(err))
		return v2Ignored(VerdictNoSubscription, "no open subscription workflow "+billing.WorkflowID(subscriptionID))
	case relayFailed:
		log.Error("V2 webhook verified but not relayed: Temporal failed; asking PortOne to retry", zap.Error(err))
		return v2Retry(VerdictTemporalFailure, "the subscription could not be reached right now")
	case relayDuplicate:
		log.Info("V2 webhook: the same verified fact was relayed already")
		return v2Answer{http.StatusOK, VerdictDuplicate, WebhookAnswer{Result: ResultAccepted, Reason: joinReasons("duplicate: already relayed", reason)}}
	default:
		log.Info("V2 webhook verified and relayed", zap.String("signal", signal))
		return v2Answer{http.StatusOK, VerdictAccepted, WebhookAnswer{Result: ResultAccepted, Reason: reason}}
	}
}

// v2KeyIssued re-fetches the billing key a BillingKey.Issued webhook names, finds the
// subscriptions waiting for a V2 key issued under its issueId (their customer_uid), and signals
// each `registered` with the key. Each workflow verifies the key at PortOne itself (issued,
// NaverPay, its own issueId): the webhook only wakes it up.
func (s *Server) v2KeyIssued(ctx context.Context, log *zap.Logger, key string) v2Answer {
	k, err := s.v2Key(ctx, key)
	switch {
	case err != nil && (errors.Is(err, gateway.ErrKeyNotFound) || errors.Is(err, gateway.ErrInvalidRequest)):
		log.Warn("V2 webhook ignored: PortOne holds no issued billing key by that name", zap.Error(err))
		return v2Ignored(VerdictUnknownKey, "PortOne holds no issued billing key by that name")
	case err != nil:
		log.Error("V2 webhook not verified: PortOne V2 billing-key lookup failed; asking PortOne to retry", zap.Error(err))
		return v2Retry(VerdictPortOneDown, "the billing key could not be verified with PortOne right now")
	case k.IssueID == "":
		log.Warn("V2 webhook ignored: the billing key has no issueId, so it names no subscription")
		return v2Ignored(VerdictMismatch, "the billing key carries no issueId")
	}
	subs, err := s.v2AwaitingRegistration(ctx, k.IssueID)
	if err != nil {
		log.Error("V2 webhook verified but the subscription could not be found: Temporal failed; asking PortOne to retry", zap.Error(err))
		return v2Retry(VerdictTemporalFailure, "the subscription could not be found right now")
	}
	if len(subs) == 0 {
		log.Info("V2 webhook ignored: no V2 subscription is awaiting registration under the key's issueId")
		return v2Ignored(VerdictNoSubscription, "no V2 subscription awaits registration under this issueId")
	}
	// One answer for all: a retry when any subscription could not be told (the others'
	// signals are then deduplicated on the retry), else accepted when any was told.
	var answer v2Answer
	for i, sub := range subs {
		a := s.v2Relay(ctx, log.With(zap.String("subscription_id", sub)), sub, billing.SignalRegistered,
			"v2key|"+sub+"|"+k.Key, billing.RegisteredSignal{BillingKey: k.Key}, "")
		if i == 0 || v2Rank[a.verdict] > v2Rank[answer.verdict] {
			answer = a
		}
	}
	return answer
}

// v2Rank orders relay outcomes for the one answer of a webhook that reached several
// subscriptions.
var v2Rank = map[string]int{VerdictNoSubscription: 1, VerdictDuplicate: 2, VerdictAccepted: 3, VerdictTemporalFailure: 4}

// maxV2Candidates bounds the subscriptions one issueId may wake: NaverPay refuses a second
// issuance of one issueId per Naver account, so more than one open V2 subscription with the same
// customer_uid is a merchant's mistake, and each verifies the key itself anyway.
const maxV2Candidates = 10

// v2AwaitingRegistration returns the V2 subscriptions awaiting registration whose customer_uid
// is issueID: found through the CustomerUID search attribute, then confirmed by each
// workflow's own state (visibility lags a moment, and V1 subscriptions share the attribute).
func (s *Server) v2AwaitingRegistration(ctx context.Context, issueID string) ([]string, error) {
	lister, ok := s.wf.(WorkflowLister)
	if !ok {
		return nil, errors.New("the Temporal client cannot list workflows")
	}
	lctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	query := fmt.Sprintf("WorkflowType=%s AND %s=%s AND ExecutionStatus='Running'",
		visibilityQuote(billing.WorkflowType), billing.SACustomerUID.GetName(), visibilityQuote(issueID))
	resp, err := lister.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: maxV2Candidates})
	if err != nil {
		return nil, fmt.Errorf("list subscriptions by customer_uid: %w", err)
	}
	var subs []string
	var lastErr error
	for _, e := range resp.GetExecutions() {
		id, ok := billing.SubscriptionIDFromWorkflowID(e.GetExecution().GetWorkflowId())
		if !ok {
			continue
		}
		st, err := s.queryState(ctx, id)
		switch {
		case err != nil && isWorkflowNotFound(err):
			continue
		case err != nil:
			lastErr = err
			continue
		}
		if st.Gateway.IsV2() && st.Status == billing.StatusAwaitingRegistration && st.CustomerUID == issueID {
			subs = append(subs, id)
		}
	}
	if len(subs) == 0 && lastErr != nil {
		return nil, lastErr
	}
	return subs, nil
}

// visibilityQuote quotes a value for a Temporal visibility query.
func visibilityQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// v2Payments fetches a payment from PortOne V2 within the upstream timeout.
func (s *Server) v2Payments(ctx context.Context, paymentID string) ([]gateway.Payment, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	ps, err := s.payV2.Payments(ctx, paymentID)
	if err != nil {
		return nil, fmt.Errorf("look up paymentId %q at PortOne V2: %w", paymentID, err)
	}
	return ps, nil
}

// v2Key fetches a billing key from PortOne V2 within the upstream timeout.
func (s *Server) v2Key(ctx context.Context, key string) (gateway.BillingKey, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	k, err := s.payV2.BillingKey(ctx, key)
	if err != nil {
		return k, fmt.Errorf("look up a billing key at PortOne V2: %w", err)
	}
	return k, nil
}
