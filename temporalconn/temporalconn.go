// Package temporalconn turns the settings every binary shares (Temporal address, namespace,
// payload-encryption keys) into a Temporal client, from flags with environment defaults
// (12-factor).
package temporalconn

import (
	"context"
	"flag"
	"fmt"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/codec"
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
}

// Env returns the environment variable's value or def.
func Env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// RegisterFlags adds -temporal-address and -namespace to fs, defaulting from the environment.
// Codec keys come from the environment only (PAYCYCLE_CODEC_KEYS), so they never show in ps.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Address, "temporal-address", Env("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&c.Namespace, "namespace", Env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	c.CodecKeys = os.Getenv("PAYCYCLE_CODEC_KEYS")
}

// Codec returns the payload codec, or nil when no key is configured.
func (c Config) Codec() (*codec.Codec, error) {
	if c.CodecKeys == "" {
		return nil, nil
	}
	keys, err := codec.ParseKeys(c.CodecKeys)
	if err != nil {
		return nil, fmt.Errorf("PAYCYCLE_CODEC_KEYS: %w", err)
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
		// Failure messages and stack traces are encoded too, in case one quotes a payload.
		opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter: opts.DataConverter, EncodeCommonAttributes: true,
		})
	}
	return opts, nil
}

// Dial connects to Temporal and checks the connection.
func (c Config) Dial(ctx context.Context, logger log.Logger) (client.Client, error) {
	opts, err := c.Options(logger)
	if err != nil {
		return nil, err
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %q): %w", c.Address, c.Namespace, err)
	}
	return cl, nil
}
