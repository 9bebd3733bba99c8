package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/paycycle/paycycle/internal/signedlink"
)

// linkKeyFile is the data dir's link secret: the edge signs and verifies the registration and
// self-service links with it, and the banner's 'starter link' command reads it, so links minted
// from the terminal open pages of this stack, across restarts.
const linkKeyFile = "link.key"

// loadOrCreateLinkSecret returns the data dir's link secret, creating a random one (32 bytes,
// base64: signedlink's minimum) on first use.
func loadOrCreateLinkSecret(path string) (secret string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		secret = strings.TrimSpace(string(b))
		if _, perr := signedlink.ParseSecrets(secret); perr != nil {
			return "", false, fmt.Errorf("link secret file %s: %w (fix it, or start over with -reset)", path, perr)
		}
		return secret, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("read link secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("create link secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write link secret: %w", err)
	}
	return secret, true, nil
}
