package webhooks

import (
	"errors"
	"net/http"
)

// ErrBadSignature is a delivery that no configured secret signed (or whose timestamp is
// outside the five-minute tolerance against replays).
var ErrBadSignature = errors.New("webhooks: no valid signature")

// Verify checks a received delivery's Standard Webhooks headers against the body with every
// secret of the Signer: any one of them verifying accepts it, so a receiver keeps accepting
// through a rotation (configure the new secret beside the old one, then drop the old one).
func (s *Signer) Verify(body []byte, h http.Header) error {
	for _, k := range s.keys {
		if k.Verify(body, h) == nil {
			return nil
		}
	}
	return ErrBadSignature
}
