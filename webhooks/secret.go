package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

func decodeSecret(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
}

// NewSecret returns a fresh random signing secret in the Standard Webhooks format, for
// `starter webhook-secret` and tests.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
