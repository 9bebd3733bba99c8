package edge

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// V2 webhook verification limits.
const (
	// V2WebhookTolerance is how far a V2 webhook's webhook-timestamp may be from the edge's
	// clock, either way: PortOne's own verifier (server-sdk webhook.ts) and Standard Webhooks
	// both use five minutes.
	V2WebhookTolerance = 5 * time.Minute
	// MaxV2WebhookSecrets is how many V2 webhook secrets PortOne keeps per environment at once
	// (the current one and the next, while rotating).
	MaxV2WebhookSecrets = 2
	// minV2SecretBytes is the least key length accepted (internal/portoneconf's rule).
	minV2SecretBytes = 16
	// maxWebhookIDLen bounds webhook-id, which the duplicate memory keeps: Standard Webhooks'
	// IDs ("msg_" and a few dozen characters) are far shorter.
	maxWebhookIDLen = 200
)

// V2WebhookKeys are the parsed Standard Webhooks secrets that verify PortOne V2 webhooks. The
// secrets are kept only as HMAC keys inside the verifier, so printing a Config never shows one.
type V2WebhookKeys struct {
	keys []*standardwebhooks.Webhook
}

// ParseV2WebhookSecrets reads one or two secrets in PortOne's console format, "whsec_" and the
// base64 key. Errors name the secret's position, never its value.
func ParseV2WebhookSecrets(secrets []string) (*V2WebhookKeys, error) {
	switch {
	case len(secrets) == 0:
		return nil, errors.New("no V2 webhook secret")
	case len(secrets) > MaxV2WebhookSecrets:
		return nil, fmt.Errorf("%d V2 webhook secrets: PortOne keeps at most %d at once", len(secrets), MaxV2WebhookSecrets)
	}
	k := &V2WebhookKeys{}
	for i, s := range secrets {
		rest, ok := strings.CutPrefix(strings.TrimSpace(s), "whsec_")
		if !ok {
			return nil, fmt.Errorf("V2 webhook secret %d must start with whsec_ (the value is not shown)", i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("V2 webhook secret %d is not base64 after whsec_ (the value is not shown)", i+1)
		}
		if len(raw) < minV2SecretBytes {
			return nil, fmt.Errorf("V2 webhook secret %d is %d bytes; want at least %d", i+1, len(raw), minV2SecretBytes)
		}
		wh, err := standardwebhooks.NewWebhookRaw(raw)
		if err != nil {
			return nil, fmt.Errorf("V2 webhook secret %d is unusable", i+1)
		}
		k.keys = append(k.keys, wh)
	}
	return k, nil
}

// String says how many secrets there are, and nothing else.
func (k *V2WebhookKeys) String() string {
	if k == nil {
		return "no V2 webhook secrets"
	}
	return fmt.Sprintf("%d V2 webhook secret(s)", len(k.keys))
}

// GoString is String, so that %#v shows no key either.
func (k *V2WebhookKeys) GoString() string { return k.String() }

// Len is the number of secrets.
func (k *V2WebhookKeys) Len() int { return len(k.keys) }

// Verification failures. errStale and errFuture are told apart from a bad signature in the
// verdict, because they point at a clock (or a replay), not at a forger or a wrong secret.
var (
	errUnsigned  = errors.New("webhook-id, webhook-timestamp and webhook-signature are required (Standard Webhooks)")
	errBadID     = fmt.Errorf("webhook-id is longer than %d characters", maxWebhookIDLen)
	errBadTime   = errors.New("webhook-timestamp is not a Unix time in seconds")
	errStale     = fmt.Errorf("webhook-timestamp is more than %s old", V2WebhookTolerance)
	errFuture    = fmt.Errorf("webhook-timestamp is more than %s in the future", V2WebhookTolerance)
	errSignature = errors.New("no webhook-signature entry matches any configured secret")
)

// verify checks a V2 delivery the way Standard Webhooks (and PortOne's own SDK) does: the
// three headers present, webhook-timestamp within V2WebhookTolerance of now either way, and one
// of the space-separated "v1,<base64>" entries equal (constant-time) to HMAC-SHA256 over
// "{id}.{timestamp}.{body}" under any configured secret. It returns the webhook-id.
//
// The timestamp is checked here, on the edge's clock, and the signatures by the Standard
// Webhooks reference library (the one webhooks/sign.go signs our own stream with), asked to skip
// its own timestamp check, which reads the wall clock and could not be tested.
func (k *V2WebhookKeys) verify(h http.Header, body []byte, now time.Time) (string, error) {
	id := h.Get(standardwebhooks.HeaderWebhookID)
	ts := h.Get(standardwebhooks.HeaderWebhookTimestamp)
	sig := h.Get(standardwebhooks.HeaderWebhookSignature)
	if id == "" || ts == "" || sig == "" {
		return "", errUnsigned
	}
	if len(id) > maxWebhookIDLen {
		return "", errBadID
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return "", errBadTime
	}
	at := time.Unix(sec, 0)
	switch {
	case now.Sub(at) > V2WebhookTolerance:
		return "", errStale
	case at.Sub(now) > V2WebhookTolerance:
		return "", errFuture
	}
	for _, key := range k.keys {
		if key.VerifyIgnoringTimestamp(body, h) == nil {
			return id, nil
		}
	}
	return "", errSignature
}
