// Package portoneconf builds the PortOne client from configuration, in one place for the worker
// and the edge, so that the two can no longer disagree about the API origin, the timeout or
// whether test-channel payments are visible (they did: only the edge could see sandbox
// payments, so the worker's look-before-charge missed them).
package portoneconf

import (
	"errors"
	"fmt"
	"time"

	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/portone"
)

// Environment variables read by Register.
const (
	EnvBaseURL        = "PORTONE_BASE_URL"
	EnvTimeout        = "PORTONE_TIMEOUT"
	EnvIncludeSandbox = "PORTONE_INCLUDE_SANDBOX"
	EnvAPIKey         = "PORTONE_API_KEY"
	EnvAPISecret      = "PORTONE_API_SECRET"
)

// DefaultTimeout bounds one PortOne request unless PORTONE_TIMEOUT says otherwise.
const DefaultTimeout = 15 * time.Second

// Settings describe the PortOne client.
type Settings struct {
	// BaseURL is the API origin (-portone-url, PORTONE_BASE_URL); the emulator in development.
	BaseURL string
	// Timeout bounds one request (-portone-timeout, PORTONE_TIMEOUT).
	Timeout time.Duration
	// IncludeSandbox lets lookups see test-channel payments (-portone-include-sandbox,
	// PORTONE_INCLUDE_SANDBOX). PortOne hides them by default.
	IncludeSandbox bool
	// Credentials come from PORTONE_API_KEY and PORTONE_API_SECRET only; their formatting
	// never prints the secret.
	Credentials portone.Credentials
}

// Register adds -portone-url, -portone-timeout and -portone-include-sandbox to s and reads the
// key pair from the environment.
func (p *Settings) Register(s *config.Set) {
	s.URL(&p.BaseURL, "portone-url", EnvBaseURL, portone.DefaultBaseURL, "PortOne V1 API origin")
	s.Duration(&p.Timeout, "portone-timeout", EnvTimeout, DefaultTimeout, "timeout of one PortOne request")
	s.Bool(&p.IncludeSandbox, "portone-include-sandbox", EnvIncludeSandbox, false, "let payment lookups see test-channel payments")
	p.Credentials = portone.Credentials{Key: s.Secret(EnvAPIKey), Secret: s.Secret(EnvAPISecret)}
}

// ErrNoCredentials is returned by Validate and NewClient when the key pair is missing.
var ErrNoCredentials = errors.New(EnvAPIKey + " and " + EnvAPISecret + " must be set in the environment (never as flags: they would show in ps)")

// Validate checks the settings without building a client.
func (p Settings) Validate() error {
	if p.Credentials.Key == "" || p.Credentials.Secret == "" {
		return ErrNoCredentials
	}
	if p.Timeout <= 0 {
		return fmt.Errorf("-portone-timeout (%s) must be positive", p.Timeout)
	}
	return nil
}

// NewClient returns the PortOne client the settings describe; opts add to them (an observer for
// metrics).
func (p Settings) NewClient(opts ...portone.Option) (*portone.Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c, err := portone.NewClient(p.Credentials, append([]portone.Option{
		portone.WithBaseURL(p.BaseURL),
		portone.WithTimeout(p.Timeout),
		portone.WithIncludeSandbox(p.IncludeSandbox)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("PortOne client: %w", err)
	}
	return c, nil
}
