// Package temporalconn turns the settings every binary shares (Temporal address, namespace,
// TLS or API-key authentication, payload-encryption keys) into a Temporal client, from flags
// with environment defaults (12-factor). The variable names are the ones the temporal CLI and
// the SDK's envconfig read, so operators configure paycycle as they configure the CLI.
package temporalconn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/internal/config"
)

// Environment variables read by Register. The TLS and API-key names are the temporal CLI's.
const (
	EnvAddress   = "TEMPORAL_ADDRESS"
	EnvNamespace = "TEMPORAL_NAMESPACE"
	EnvCodecKeys = "PAYCYCLE_CODEC_KEYS"
	EnvAPIKey    = "TEMPORAL_API_KEY"
)

// Config is how to reach Temporal.
type Config struct {
	// Address is the frontend host:port (TEMPORAL_ADDRESS, default 127.0.0.1:7233).
	Address string
	// Namespace is the Temporal namespace (TEMPORAL_NAMESPACE, default "default").
	Namespace string
	// CodecKeys encrypt payloads ("id:base64[,id:base64]", PAYCYCLE_CODEC_KEYS). Empty means
	// payloads are stored in clear, which is only acceptable without personal data.
	CodecKeys string
	// Identity names this process in Temporal (defaults to the SDK's pid@host).
	Identity string
	// MetricsHandler receives the SDK's client and worker metrics (and the workflow's own
	// counters); nil means none. See metrics.Registry.SDKHandler.
	MetricsHandler client.MetricsHandler
	// TLS secures the connection (see TLS).
	TLS TLS
	// APIKey authenticates to Temporal Cloud or any server with an API-key authorizer
	// (TEMPORAL_API_KEY, environment only). It turns TLS on unless TEMPORAL_TLS=false.
	APIKey string
}

// Register adds -temporal-address, -namespace and the -tls-* flags to s, defaulting from the
// environment. Codec keys and the API key come from the environment only, so they never show
// in ps.
func (c *Config) Register(s *config.Set) {
	s.String(&c.Address, "temporal-address", EnvAddress, "127.0.0.1:7233", "Temporal frontend host:port")
	s.String(&c.Namespace, "namespace", EnvNamespace, "default", "Temporal namespace")
	c.TLS.register(s)
	c.CodecKeys = s.Secret(EnvCodecKeys)
	c.APIKey = s.Secret(EnvAPIKey)
}

// ErrNoCodecKeys is returned by RequireCodec when PAYCYCLE_CODEC_KEYS is unset.
var ErrNoCodecKeys = errors.New(EnvCodecKeys + " is not set: payloads, buyer data included, would be stored in clear")

// CodecKeyError reports a PAYCYCLE_CODEC_KEYS value that does not parse.
type CodecKeyError struct{ Err error }

// Error names the variable.
func (e *CodecKeyError) Error() string { return EnvCodecKeys + ": " + e.Err.Error() }

// Unwrap returns the parse error.
func (e *CodecKeyError) Unwrap() error { return e.Err }

// Codec returns the payload codec, or nil when no key is configured.
func (c Config) Codec() (*codec.Codec, error) {
	if c.CodecKeys == "" {
		return nil, nil
	}
	keys, err := codec.ParseKeys(c.CodecKeys)
	if err != nil {
		return nil, &CodecKeyError{Err: err}
	}
	return codec.New(keys)
}

// Options returns client options; logger may be nil.
func (c Config) Options(logger log.Logger) (client.Options, error) {
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace, Logger: logger, Identity: c.Identity, MetricsHandler: c.MetricsHandler}
	cd, err := c.Codec()
	if err != nil {
		return client.Options{}, err
	}
	if cd != nil {
		opts.DataConverter = cd.DataConverter()
		opts.FailureConverter = cd.FailureConverter()
	}
	tlsConf, err := c.TLS.clientConfig(c.APIKey != "")
	if err != nil {
		return client.Options{}, err
	}
	opts.ConnectionOptions.TLS = tlsConf
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return opts, nil
}

// Dial connects to Temporal and checks the connection. A TLS failure is diagnosed: the error
// says whether the server's certificate is not signed by the configured CA, has expired, names
// another host, or whether the server wants a client certificate or refused ours.
func (c Config) Dial(ctx context.Context, logger log.Logger) (client.Client, error) {
	opts, err := c.Options(logger)
	if err != nil {
		return nil, err
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		// The dial may have used up ctx; the diagnosis has its own short bound.
		if diag := c.TLS.diagnose(context.WithoutCancel(ctx), c.Address, opts.ConnectionOptions.TLS); diag != nil {
			err = diag
		} else if opts.ConnectionOptions.TLS == nil && strings.Contains(err.Error(), "server preface") {
			// A TLS server closes a plaintext connection without a word; gRPC reports only EOF.
			err = fmt.Errorf("%w (the server closed a plaintext connection: does it require TLS? set -tls or %s=true, and %s for a private CA)", err, EnvTLS, EnvTLSCA)
		}
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %q): %w", c.Address, c.Namespace, err)
	}
	return cl, nil
}
