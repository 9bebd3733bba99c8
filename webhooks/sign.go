package webhooks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Signer signs event deliveries with every configured secret: during a rotation the new and
// the old secret both sign, so receivers verifying with either accept the delivery, and the
// old one is removed once every receiver has the new one.
type Signer struct {
	keys []*standardwebhooks.Webhook
}

// minSecretBytes is the shortest secret accepted: an HMAC-SHA256 key shorter than 24 random
// bytes is guessable in principle, and Standard Webhooks recommends 24 to 64.
const minSecretBytes = 24

// ParseSecrets reads whitespace- or comma-separated Standard Webhooks secrets ("whsec_" and
// base64). It refuses an empty list, a secret that is not base64 and one shorter than 24 bytes,
// naming its position but never echoing it.
func ParseSecrets(list string) (*Signer, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, errors.New("no webhook signing secret")
	}
	s := &Signer{}
	for i, f := range fields {
		if !strings.HasPrefix(f, "whsec_") {
			return nil, fmt.Errorf("webhook secret %d must start with whsec_ (Standard Webhooks format: whsec_ and base64)", i+1)
		}
		raw, err := decodeSecret(f)
		if err != nil {
			return nil, fmt.Errorf("webhook secret %d is not base64 after whsec_", i+1)
		}
		if len(raw) < minSecretBytes {
			return nil, fmt.Errorf("webhook secret %d is %d bytes; at least %d random bytes are needed", i+1, len(raw), minSecretBytes)
		}
		wh, err := standardwebhooks.NewWebhook(f)
		if err != nil {
			return nil, fmt.Errorf("webhook secret %d: unusable", i+1)
		}
		s.keys = append(s.keys, wh)
	}
	return s, nil
}

// Headers returns the three Standard Webhooks headers of a delivery of body with message ID id
// at instant at: webhook-id, webhook-timestamp and webhook-signature (one "v1,…" per secret,
// space-separated).
func (s *Signer) Headers(id string, at time.Time, body []byte) (http.Header, error) {
	sigs := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		sig, err := k.Sign(id, at, body)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}
