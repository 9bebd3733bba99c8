package temporalconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/paycycle/paycycle/internal/config"
)

// TLS variables: the temporal CLI's and the SDK envconfig's names. The shorter
// TEMPORAL_TLS_CA/CERT/KEY (older CLI spellings) are read when the long ones are unset.
const (
	EnvTLS                   = "TEMPORAL_TLS"
	EnvTLSCA                 = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
	EnvTLSCert               = "TEMPORAL_TLS_CLIENT_CERT_PATH"
	EnvTLSKey                = "TEMPORAL_TLS_CLIENT_KEY_PATH"
	EnvTLSServerName         = "TEMPORAL_TLS_SERVER_NAME"
	EnvTLSDisableHostVerify  = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"
	envTLSCAShort            = "TEMPORAL_TLS_CA"
	envTLSCertShort          = "TEMPORAL_TLS_CERT"
	envTLSKeyShort           = "TEMPORAL_TLS_KEY"
	certReloadCheckInterval  = time.Second
	diagnoseHandshakeTimeout = 5 * time.Second
)

// TLS is how the connection to the Temporal frontend is secured. Certificates and keys are read
// from files (mounted secrets), never from flags' values; the client certificate is re-read when
// its files change, so a rotated certificate is used from the next connection on, without a
// restart.
type TLS struct {
	// Enabled turns TLS on (-tls, TEMPORAL_TLS). Any of the paths below, or an API key, turns it
	// on too; TEMPORAL_TLS=false with an API key keeps it off (a plaintext test server).
	Enabled bool
	// CAPath is a PEM file of CAs that sign the server's certificate (-tls-ca-path,
	// TEMPORAL_TLS_SERVER_CA_CERT_PATH); empty means the system roots.
	CAPath string
	// CertPath and KeyPath are the client certificate and key for mutual TLS (-tls-cert-path,
	// -tls-key-path, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH).
	CertPath, KeyPath string
	// ServerName overrides the name checked in the server's certificate (-tls-server-name,
	// TEMPORAL_TLS_SERVER_NAME), for an address that is an IP or a load balancer.
	ServerName string
	// DisableHostVerification skips checking the server's certificate altogether
	// (-tls-disable-host-verification); for tests only.
	DisableHostVerification bool

	explicitOff bool
}

func (t *TLS) register(s *config.Set) {
	pick := func(long, short string) string {
		if _, ok := s.Env(long); !ok {
			if _, ok := s.Env(short); ok {
				return short
			}
		}
		return long
	}
	s.Bool(&t.Enabled, "tls", EnvTLS, false, "connect to Temporal over TLS")
	if v, ok := s.Env(EnvTLS); ok && (strings.EqualFold(v, "false") || v == "0") {
		t.explicitOff = true
	}
	s.String(&t.CAPath, "tls-ca-path", pick(EnvTLSCA, envTLSCAShort), "", "PEM file of the CA that signs the Temporal server's certificate (default: system roots)")
	s.String(&t.CertPath, "tls-cert-path", pick(EnvTLSCert, envTLSCertShort), "", "client certificate (PEM) for mutual TLS; re-read when the file changes")
	s.String(&t.KeyPath, "tls-key-path", pick(EnvTLSKey, envTLSKeyShort), "", "client private key (PEM) for mutual TLS; re-read when the file changes")
	s.String(&t.ServerName, "tls-server-name", EnvTLSServerName, "", "name expected in the server's certificate (default: the address's host)")
	s.Bool(&t.DisableHostVerification, "tls-disable-host-verification", EnvTLSDisableHostVerify, false, "do not verify the server's certificate (tests only)")
}

// on reports whether TLS is used.
func (t TLS) on(apiKey bool) bool {
	if t.explicitOff && !t.Enabled {
		return false
	}
	return t.Enabled || t.CAPath != "" || t.CertPath != "" || t.KeyPath != "" || t.ServerName != "" || apiKey
}

// clientConfig returns the client's tls.Config, or nil for a plaintext connection.
func (t TLS) clientConfig(apiKey bool) (*tls.Config, error) {
	if !t.on(apiKey) {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.DisableHostVerification} //nolint:gosec // opt-in, for tests
	if t.CAPath != "" {
		pem, err := os.ReadFile(t.CAPath)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca-path (%s): %w", EnvTLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-tls-ca-path (%s) %s holds no PEM certificate", EnvTLSCA, t.CAPath)
		}
		conf.RootCAs = pool
	}
	switch {
	case t.CertPath == "" && t.KeyPath == "":
	case t.CertPath == "" || t.KeyPath == "":
		return nil, fmt.Errorf("mutual TLS needs both -tls-cert-path (%s) and -tls-key-path (%s)", EnvTLSCert, EnvTLSKey)
	default:
		r := &certReloader{certPath: t.CertPath, keyPath: t.KeyPath}
		if _, err := r.get(time.Now()); err != nil {
			return nil, err
		}
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return r.get(time.Now()) }
	}
	return conf, nil
}

// certReloader re-reads the client certificate and key when either file changes. While a
// rotation is half written (new certificate, old key) the previous pair is kept.
type certReloader struct {
	certPath, keyPath string

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string
	checkedAt time.Time
}

func fileStamp(paths ...string) (string, error) {
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

func (r *certReloader) get(now time.Time) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil && now.Sub(r.checkedAt) < certReloadCheckInterval {
		return r.cert, nil
	}
	r.checkedAt = now
	stamp, err := fileStamp(r.certPath, r.keyPath)
	if err == nil && stamp == r.stamp && r.cert != nil {
		return r.cert, nil
	}
	cert, lerr := loadClientCert(r.certPath, r.keyPath, now)
	if err == nil {
		err = lerr
	}
	if err != nil {
		if r.cert != nil {
			return r.cert, nil // keep the working pair until the rotation is complete
		}
		return nil, err
	}
	r.cert, r.stamp = cert, stamp
	return cert, nil
}

// ClientCertExpiredError says the client certificate is outside its validity period.
type ClientCertExpiredError struct {
	Path      string
	NotBefore time.Time
	NotAfter  time.Time
}

// Error names the file and the validity period.
func (e *ClientCertExpiredError) Error() string {
	return fmt.Sprintf("client certificate %s (-tls-cert-path, %s) is not valid now: valid from %s until %s",
		e.Path, EnvTLSCert, e.NotBefore.UTC().Format(time.RFC3339), e.NotAfter.UTC().Format(time.RFC3339))
}

func loadClientCert(certPath, keyPath string, now time.Time) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s and key %s (%s, %s): %w", certPath, keyPath, EnvTLSCert, EnvTLSKey, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", certPath, err)
		}
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, &ClientCertExpiredError{Path: certPath, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}
	}
	return &cert, nil
}

// TLSError explains why a TLS connection to Temporal failed, in terms of the settings.
type TLSError struct {
	// Reason is the explanation; Err the handshake error.
	Reason string
	Err    error
}

// Error returns the reason and the underlying error.
func (e *TLSError) Error() string { return e.Reason + ": " + e.Err.Error() }

// Unwrap returns the handshake error.
func (e *TLSError) Unwrap() error { return e.Err }

// diagnose repeats the TLS handshake outside gRPC, whose errors arrive flattened into a
// status string, to say which setting is wrong. It returns nil when TLS is off or the
// handshake works (the failure was something else).
func (t TLS) diagnose(ctx context.Context, addr string, conf *tls.Config) error {
	if conf == nil {
		return nil
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil
		}
		conf.ServerName = host
	}
	conf.NextProtos = []string{"h2"}
	ctx, cancel := context.WithTimeout(ctx, diagnoseHandshakeTimeout)
	defer cancel()
	d := tls.Dialer{Config: conf}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		// In TLS 1.3 the server checks the client certificate after the client has finished
		// its side of the handshake; its verdict arrives as an alert on the first read.
		tc := conn.(*tls.Conn)
		_ = tc.SetReadDeadline(time.Now().Add(time.Second))
		_, err = tc.Read(make([]byte, 1))
		_ = conn.Close()
		var ne net.Error
		if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
	}
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		rec       tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA):
		where := "the system roots"
		if t.CAPath != "" {
			where = "the CA in " + t.CAPath + " (-tls-ca-path, " + EnvTLSCA + ")"
		}
		return &TLSError{Reason: "the Temporal server's certificate is not signed by " + where + ": wrong CA", Err: err}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &TLSError{Reason: "the Temporal server's certificate has expired or is not yet valid", Err: err}
	case errors.As(err, &hostname):
		return &TLSError{Reason: fmt.Sprintf("the Temporal server's certificate is not for %q: set -tls-server-name (%s)", conf.ServerName, EnvTLSServerName), Err: err}
	case errors.As(err, &rec):
		return &TLSError{Reason: "the Temporal server does not speak TLS at " + addr + ": unset -tls and the TLS paths, or use the TLS port", Err: err}
	case strings.Contains(msg, "certificate required"):
		return &TLSError{Reason: fmt.Sprintf("the Temporal server requires a client certificate (mutual TLS): set -tls-cert-path (%s) and -tls-key-path (%s)", EnvTLSCert, EnvTLSKey), Err: err}
	case strings.Contains(msg, "expired certificate"):
		return &TLSError{Reason: "the Temporal server refused the client certificate " + t.CertPath + " as expired", Err: err}
	case strings.Contains(msg, "unknown certificate authority"), strings.Contains(msg, "bad certificate"):
		return &TLSError{Reason: "the Temporal server does not trust the client certificate " + t.CertPath + " (signed by a CA it does not know?)", Err: err}
	}
	return &TLSError{Reason: "TLS handshake with the Temporal server failed", Err: err}
}
