package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// webhookKeyFile is the data dir's merchant-webhook signing secret: the worker signs the event
// stream with it and the console's /events verifies it, across restarts.
const webhookKeyFile = "webhook.key"

// readModelFile is the console's read model (SQLite) in the data dir.
const readModelFile = "readmodel.db"

// envWebhookSecrets is the variable of the signing secrets, the worker's and the console's.
const envWebhookSecrets = "PAYCYCLE_WEBHOOK_SECRETS"

// The console's demo login. The whole dev stack listens on 127.0.0.1 only and has no other
// authentication (the codec endpoint decrypts for whoever asks), so a printed password adds
// no exposure; it shows the login page as staff will see it.
const (
	demoLogin    = "demo"
	demoPassword = "paycycle-demo"
)

// demoStaff is PAYCYCLE_CONSOLE_STAFF for the demo login: every role, so that every action and
// the buyer's details can be tried.
func demoStaff() (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("console demo login: %w", err)
	}
	return demoLogin + ":operator+pii:" + string(h), nil
}

// loadOrCreateWebhookSecret returns the data dir's signing secret, creating one in the
// Standard Webhooks form (whsec_ and 32 random bytes, base64, as `starter webhook-secret`
// prints) on first use.
func loadOrCreateWebhookSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		secret := strings.TrimSpace(string(b))
		raw, derr := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || derr != nil || len(raw) < 24 {
			return "", fmt.Errorf("webhook secret file %s: want whsec_ and base64 (fix it, or start over with -reset)", path)
		}
		return secret, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read webhook secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("create webhook secret: %w", err)
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write webhook secret: %w", err)
	}
	return secret, nil
}
