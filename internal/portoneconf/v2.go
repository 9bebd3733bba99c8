package portoneconf

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/internal/config"
)

// Environment variables read by V2Settings.Register. Secrets (the API secret and the webhook
// secrets) come from the environment only; the store ID and channel key are not secret but
// are read the same way, so that one place holds a merchant's V2 identity.
const (
	EnvV2BaseURL        = "PORTONE_V2_BASE_URL"
	EnvV2Timeout        = "PORTONE_V2_TIMEOUT"
	EnvV2APISecret      = "PORTONE_V2_API_SECRET"
	EnvV2StoreID        = "PORTONE_V2_STORE_ID"
	EnvV2ChannelKey     = "PORTONE_V2_CHANNEL_KEY"
	EnvV2WebhookSecrets = "PORTONE_V2_WEBHOOK_SECRETS"
)

// MaxV2WebhookSecrets is how many webhook secrets PortOne keeps per environment at once (two,
// for rotation without downtime), and so how many the edge accepts.
const MaxV2WebhookSecrets = 2

// V2Settings describe PortOne V2. V2 is optional: with none of its variables set, Enabled is
// false and Validate accepts the settings; with any of them set, the secret is required and
// every variable must be well formed.
type V2Settings struct {
	// BaseURL is the V2 API origin (-portone-v2-url, PORTONE_V2_BASE_URL).
	BaseURL string
	// Timeout bounds one V2 request (-portone-v2-timeout, PORTONE_V2_TIMEOUT).
	Timeout time.Duration
	// StoreID is the store (PORTONE_V2_STORE_ID, "store-<uuid>"); "" for the secret's own.
	StoreID string
	// ChannelKey is NaverPay's V2 channel (PORTONE_V2_CHANNEL_KEY, "channel-key-<uuid>"), which
	// the browser SDK needs to issue a key and charges name when a key spans channels.
	ChannelKey string
	// secret and webhookSecrets are sealed behind closures so that no fmt verb prints them.
	secret         func() string
	webhookSecrets func() []string
	// set lists the V2 variables that were set, for Enabled and for errors.
	set []string
}

// Register adds -portone-v2-url and -portone-v2-timeout to s and reads the rest of V2's
// settings from the environment.
func (p *V2Settings) Register(s *config.Set) {
	s.URL(&p.BaseURL, "portone-v2-url", EnvV2BaseURL, portonev2.DefaultBaseURL, "PortOne V2 API origin")
	s.Duration(&p.Timeout, "portone-v2-timeout", EnvV2Timeout, DefaultTimeout, "timeout of one PortOne V2 request")
	secret := s.Secret(EnvV2APISecret)
	p.secret = func() string { return secret }
	p.StoreID = s.Secret(EnvV2StoreID)
	p.ChannelKey = s.Secret(EnvV2ChannelKey)
	var hooks []string
	if raw := s.Secret(EnvV2WebhookSecrets); raw != "" {
		hooks = strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	}
	p.webhookSecrets = func() []string { return append([]string(nil), hooks...) }
	p.set = nil
	for _, name := range []string{EnvV2APISecret, EnvV2StoreID, EnvV2ChannelKey, EnvV2WebhookSecrets} {
		if v, ok := s.Env(name); ok && v != "" {
			p.set = append(p.set, name)
		}
	}
}

// Enabled reports whether V2 was configured (any of its variables set).
func (p V2Settings) Enabled() bool { return len(p.set) > 0 }

// WebhookSecrets returns the Standard Webhooks secrets ("whsec_<base64>"), newest first as
// given; the edge verifies a V2 webhook against each.
func (p V2Settings) WebhookSecrets() []string {
	if p.webhookSecrets == nil {
		return nil
	}
	return p.webhookSecrets()
}

// String describes the settings without their secrets.
func (p V2Settings) String() string {
	return fmt.Sprintf("portoneconf.V2Settings{BaseURL:%s StoreID:%s ChannelKey:%s Secret:%s WebhookSecrets:%d}",
		p.BaseURL, p.StoreID, p.ChannelKey, redacted(p.secret != nil && p.secret() != ""), len(p.WebhookSecrets()))
}

// GoString is String, so that %#v does not print the secrets either.
func (p V2Settings) GoString() string { return p.String() }

func redacted(set bool) string {
	if set {
		return "[REDACTED]"
	}
	return ""
}

var (
	// PortOne's identifiers are a prefix and a UUID (as the console shows them).
	storeIDPattern    = regexp.MustCompile(`^store-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	channelKeyPattern = regexp.MustCompile(`^channel-key-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// An API secret is printable ASCII without spaces (it goes into a header as is).
	secretPattern = regexp.MustCompile(`^[!-~]{16,512}$`)
)

// minWebhookSecretBytes is the least key length accepted for a webhook secret (Standard
// Webhooks' secrets are 24 to 64 random bytes).
const minWebhookSecretBytes = 16

// ErrV2NoSecret is returned by Validate when V2 variables are set without the API secret.
var ErrV2NoSecret = errors.New(EnvV2APISecret + " must be set in the environment when any PORTONE_V2_ variable is (never as a flag: it would show in ps)")

// Validate checks every V2 setting and names each malformed variable (never its value when it
// is a secret). Settings without any V2 variable are valid: V2 is off.
func (p V2Settings) Validate() error {
	if !p.Enabled() {
		return nil
	}
	var errs []error
	secret := ""
	if p.secret != nil {
		secret = p.secret()
	}
	switch {
	case secret == "":
		errs = append(errs, ErrV2NoSecret)
	case !secretPattern.MatchString(secret):
		errs = append(errs, fmt.Errorf("%s is malformed: want 16 to 512 printable ASCII characters without spaces (the value is not shown)", EnvV2APISecret))
	}
	if p.StoreID != "" && !storeIDPattern.MatchString(p.StoreID) {
		errs = append(errs, &config.EnvError{Name: EnvV2StoreID, Value: p.StoreID, Want: `"store-" and a UUID, as the console shows it`})
	}
	if p.ChannelKey != "" && !channelKeyPattern.MatchString(p.ChannelKey) {
		errs = append(errs, &config.EnvError{Name: EnvV2ChannelKey, Value: p.ChannelKey, Want: `"channel-key-" and a UUID, as the console shows it`})
	}
	hooks := p.WebhookSecrets()
	if len(hooks) > MaxV2WebhookSecrets {
		errs = append(errs, fmt.Errorf("%s holds %d secrets: PortOne keeps at most %d at once (the current and the next, while rotating)",
			EnvV2WebhookSecrets, len(hooks), MaxV2WebhookSecrets))
	}
	for i, h := range hooks {
		if err := checkWebhookSecret(h); err != nil {
			errs = append(errs, fmt.Errorf("%s: secret %d of %d is malformed: %w (the value is not shown)", EnvV2WebhookSecrets, i+1, len(hooks), err))
		}
	}
	if p.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("-portone-v2-timeout (%s) must be positive", p.Timeout))
	}
	return errors.Join(errs...)
}

// checkWebhookSecret accepts Standard Webhooks' "whsec_<base64 key>".
func checkWebhookSecret(s string) error {
	key, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return errors.New(`want "whsec_" followed by the base64 key`)
	}
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return errors.New("the part after whsec_ is not base64")
	}
	if len(b) < minWebhookSecretBytes {
		return fmt.Errorf("the key is %d bytes; want at least %d", len(b), minWebhookSecretBytes)
	}
	return nil
}

// NewV2Gateway returns the V2 gateway the settings describe; an error when they are invalid
// or V2 is off.
func (p V2Settings) NewV2Gateway() (*portonev2.Gateway, error) { return p.NewObservedV2Gateway(nil) }

// NewObservedV2Gateway is NewV2Gateway with observe (nil: none) called once per HTTP exchange
// (metrics.Registry.ObservePortOneV2).
func (p V2Settings) NewObservedV2Gateway(observe func(portonev2.Exchange)) (*portonev2.Gateway, error) {
	if !p.Enabled() {
		return nil, errors.New("PortOne V2 is not configured: set " + EnvV2APISecret)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	g, err := portonev2.New(portonev2.Config{BaseURL: p.BaseURL, Secret: p.secret(), StoreID: p.StoreID, ChannelKey: p.ChannelKey, Timeout: p.Timeout, Observer: observe})
	if err != nil {
		return nil, fmt.Errorf("PortOne V2 gateway: %w", err)
	}
	return g, nil
}
