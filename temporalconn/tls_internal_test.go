package temporalconn

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/testcerts"
)

func TestClientCertificateIsReloadedWhenTheFilesRotate(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "rotation CA")
	first := ca.Issue(t, testcerts.Options{CommonName: "worker-1"})
	certPath, keyPath := first.Write(t, dir, "client")
	r := &certReloader{certPath: certPath, keyPath: keyPath}
	now := time.Now()
	got, err := r.get(now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Certificate[0], first.TLS.Certificate[0]) {
		t.Fatal("first load returned another certificate")
	}

	second := ca.Issue(t, testcerts.Options{CommonName: "worker-1"})
	// Half a rotation: the new certificate next to the old key is refused, the old pair kept.
	if err := os.WriteFile(certPath, second.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * certReloadCheckInterval)
	if got, err = r.get(now); err != nil || !bytes.Equal(got.Certificate[0], first.TLS.Certificate[0]) {
		t.Fatalf("during a half-written rotation: err %v, want the old certificate kept", err)
	}
	if err := os.WriteFile(keyPath, second.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// Within the check interval the cached pair is served without touching the disk.
	if got, _ = r.get(now.Add(certReloadCheckInterval / 2)); !bytes.Equal(got.Certificate[0], first.TLS.Certificate[0]) {
		t.Fatal("reloaded before the check interval passed")
	}
	now = now.Add(2 * certReloadCheckInterval)
	if got, err = r.get(now); err != nil || !bytes.Equal(got.Certificate[0], second.TLS.Certificate[0]) {
		t.Fatalf("after the rotation: err %v, want the new certificate", err)
	}
}

func TestTLSSettingsFromTheCLIsVariables(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "CA")
	caPath := ca.WriteCA(t, dir, "ca")
	certPath, keyPath := ca.Issue(t, testcerts.Options{CommonName: "c"}).Write(t, dir, "client")
	expiredCert, expiredKey := ca.Issue(t, testcerts.Options{CommonName: "old", NotBefore: time.Now().Add(-48 * time.Hour),
		NotAfter: time.Now().Add(-24 * time.Hour)}).Write(t, dir, "expired")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantTLS bool
		wantErr string
	}{
		{"plaintext by default", nil, false, ""},
		{"mTLS from the long names", map[string]string{EnvTLSCA: caPath, EnvTLSCert: certPath, EnvTLSKey: keyPath, EnvTLSServerName: "temporal.internal"}, true, ""},
		{"mTLS from the short names", map[string]string{"TEMPORAL_TLS_CA": caPath, "TEMPORAL_TLS_CERT": certPath, "TEMPORAL_TLS_KEY": keyPath}, true, ""},
		{"API key turns TLS on", map[string]string{EnvAPIKey: "k"}, true, ""},
		{"TEMPORAL_TLS=false keeps an API key in plaintext", map[string]string{EnvAPIKey: "k", EnvTLS: "false"}, false, ""},
		{"TEMPORAL_TLS=yes is refused", map[string]string{EnvTLS: "yes"}, false, `TEMPORAL_TLS="yes"`},
		{"cert without key", map[string]string{EnvTLSCert: certPath}, false, "needs both -tls-cert-path (TEMPORAL_TLS_CLIENT_CERT_PATH) and -tls-key-path"},
		{"CA file without PEM", map[string]string{EnvTLSCA: notPEM}, false, "holds no PEM certificate"},
		{"expired client certificate", map[string]string{EnvTLSCert: expiredCert, EnvTLSKey: expiredKey}, false, "is not valid now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			s := config.New(fs, config.MapLookup(tt.env))
			var c Config
			c.Register(s)
			err := s.Parse(nil)
			if err == nil {
				var opts client.Options
				opts, err = c.Options(nil)
				if err == nil {
					if got := opts.ConnectionOptions.TLS != nil; got != tt.wantTLS {
						t.Fatalf("TLS on = %v, want %v", got, tt.wantTLS)
					}
					if sn := tt.env[EnvTLSServerName]; sn != "" && opts.ConnectionOptions.TLS.ServerName != sn {
						t.Fatalf("server name %q, want %q", opts.ConnectionOptions.TLS.ServerName, sn)
					}
					if (tt.env[EnvAPIKey] != "") != (opts.Credentials != nil) {
						t.Fatalf("credentials %v with API key %q", opts.Credentials, tt.env[EnvAPIKey])
					}
				}
			}
			check(t, err, tt.wantErr)
		})
	}
}

func check(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	var ce *ClientCertExpiredError
	if strings.Contains(want, "not valid now") && !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ClientCertExpiredError", err)
	}
}
