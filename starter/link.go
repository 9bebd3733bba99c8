package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/signedlink"
)

// Environment variables of 'starter link'. The public URL is the edge's own variable, so one
// environment file serves both; the secret is the edge's too and never a flag.
const (
	envEdgePublicURL = "BILLING_EDGE_PUBLIC_URL"
	envLinkSecret    = signedlink.EnvSecret
)

// defaultLinkTTL is a week: long enough for an e-mail read on the weekend, short enough that a
// forwarded or leaked link soon opens nothing.
const defaultLinkTTL = 7 * 24 * time.Hour

// linkAnswer is 'starter link -json' output.
type linkAnswer struct {
	URL            string    `json:"url"`
	Purpose        string    `json:"purpose"`
	SubscriptionID string    `json:"subscription_id"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// linkCommand mints the signed links the edge opens, with the edge's scheme and secret, for the
// merchant's systems (a "manage your subscription" e-mail, a registration request). It never
// contacts Temporal: minting is pure, so a batch of links costs nothing and works offline.
func linkCommand() *command {
	return &command{
		name:    "link",
		summary: "print a signed, expiring link to a subscription's self-service or registration page",
		usage:   "starter link -subscription <id> [-purpose manage|register] [-ttl 168h] [-public-url URL] [flags]",
		about: `Print a signed link (HMAC-SHA256 over purpose, subscription and expiry) that opens the edge's
self-service cancel page (-purpose manage, the default) or NaverPay registration page
(-purpose register) for one subscription. The secret comes from ` + envLinkSecret + ` (the edge's;
comma-separated for rotation, the first one signs) and never from a flag. The link is a bearer
credential: send it to the customer only. Temporal is not contacted, so the subscription is not
checked here; the page says so when it does not exist.`,
		examples: []string{
			`starter link -subscription sub-1001`,
			`starter link -subscription sub-1001 -purpose register -ttl 72h -public-url https://billing.example.com`,
			`starter link -subscription sub-1001 -o json`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			var (
				id, purpose, publicURL string
				ttl                    time.Duration
			)
			fs.StringVar(&id, "subscription", "", "subscription ID (required)")
			fs.StringVar(&id, "id", "", "same as -subscription")
			fs.StringVar(&purpose, "purpose", string(signedlink.Manage), "manage (self-service cancel page) or register (NaverPay registration page)")
			a.env.Duration(&ttl, "ttl", "", defaultLinkTTL, fmt.Sprintf("how long the link opens its page (at most %s)", signedlink.MaxTTL))
			a.env.String(&publicURL, "public-url", envEdgePublicURL, "", "the edge's public base URL, e.g. https://billing.example.com (required)")
			asJSON := fs.Bool("json", false, "print url, purpose, subscription_id and expires_at as JSON")
			secret := a.env.Secret(envLinkSecret)
			return func(context.Context) error {
				id = strings.TrimSpace(id)
				if id == "" {
					return refused("-subscription is required")
				}
				if err := billing.ValidateSubscriptionID(id); err != nil {
					return refused("-subscription: %v", err)
				}
				p, err := signedlink.ParsePurpose(purpose)
				if err != nil {
					return refused("-purpose: %v", err)
				}
				if ttl <= 0 || ttl > signedlink.MaxTTL {
					return refused("-ttl %s: want more than 0 and at most %s", ttl, signedlink.MaxTTL)
				}
				publicURL = strings.TrimRight(strings.TrimSpace(publicURL), "/")
				if !strings.HasPrefix(publicURL, "http://") && !strings.HasPrefix(publicURL, "https://") {
					return refused("-public-url (or %s) must be the edge's absolute http(s) base URL, got %q", envEdgePublicURL, publicURL)
				}
				if secret == "" {
					return refused("%s is not set: it must hold the edge's link secret (environment only)", envLinkSecret)
				}
				keys, err := signedlink.ParseSecrets(secret)
				if err != nil {
					return refused("%v", err)
				}
				now := a.now()
				// Whole seconds: the token carries Unix seconds, and the printed expiry must be
				// the one the edge will enforce.
				expires := now.Add(ttl).Truncate(time.Second)
				token, err := keys.Sign(p, id, expires, now)
				if err != nil {
					return refused("%v", err)
				}
				link := signedlink.URL(publicURL, p, token)
				if *asJSON {
					return writeJSON(a.stdout, linkAnswer{URL: link, Purpose: string(p), SubscriptionID: id, ExpiresAt: expires.UTC()})
				}
				fmt.Fprintln(a.stdout, link)
				fmt.Fprintf(a.stderr, "%s link for %s, valid until %s\n", p, id, expires.UTC().Format(time.RFC3339))
				return nil
			}
		},
	}
}
