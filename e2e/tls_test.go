package e2e

import (
	"context"
	"crypto/tls"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/rpc/encryption"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/testcerts"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/workflows"
)

// dialFromEnv configures and dials Temporal exactly as every binary does: temporalconn's flags
// with the environment (the temporal CLI's variable names) as defaults.
func dialFromEnv(t *testing.T, env map[string]string) (client.Client, error) {
	t.Helper()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := config.New(fs, config.MapLookup(env))
	var c temporalconn.Config
	c.Register(s)
	require.NoError(t, s.Parse(nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Dial(ctx, nil)
}

// TestWorkerOverMutualTLSRunsASubscription starts a real Temporal server that accepts only
// mutual TLS with certificates made here, runs the billing worker through it, and checks that
// each wrong setting fails with an error saying which.
func TestWorkerOverMutualTLSRunsASubscription(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "paycycle test CA")
	serverCert := ca.Issue(t, testcerts.Options{CommonName: "temporal-frontend", Server: true})
	systemCert := ca.Issue(t, testcerts.Options{CommonName: "temporal-system-worker"})
	caPath := ca.WriteCA(t, dir, "ca")
	certPath, keyPath := ca.Issue(t, testcerts.Options{CommonName: "paycycle-worker"}).Write(t, dir, "worker")

	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(temporal.WithTLSConfigFactory(
		&encryption.FixedTLSConfigProvider{
			FrontendServerConfig: &tls.Config{
				Certificates: []tls.Certificate{serverCert.TLS}, ClientCAs: ca.Pool(),
				ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
			},
			// The server's own system workers dial its frontend too.
			FrontendClientConfig: &tls.Config{Certificates: []tls.Certificate{systemCert.TLS}, RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12},
		})))
	key, err := codec.NewKeyString("tls")
	require.NoError(t, err)
	env := map[string]string{
		"TEMPORAL_ADDRESS":                 ts.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE":               ts.GetDefaultNamespace(),
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH": caPath,
		"TEMPORAL_TLS_CLIENT_CERT_PATH":    certPath,
		"TEMPORAL_TLS_CLIENT_KEY_PATH":     keyPath,
		"PAYCYCLE_CODEC_KEYS":              key,
	}
	with := func(changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}

	t.Run("mutual TLS runs a subscription", func(t *testing.T) {
		c, err := dialFromEnv(t, env)
		require.NoError(t, err)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, temporalconn.RegisterSearchAttributes(ctx, c, ts.GetDefaultNamespace()))

		emu, emuSrv := portonetest.NewServer(t, portonetest.Options{})
		_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "tls-cust", CustomerTel: "010-9876-5432"})
		require.NoError(t, err)
		gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
			portone.WithBaseURL(emuSrv.URL), portone.WithTimeout(3*time.Second))
		require.NoError(t, err)
		w := worker.New(c, billing.TaskQueue, worker.Options{})
		workflows.Register(w, &activities.Activities{Gateway: portonev1.New(gw), Config: activities.Config{DemoMode: true, ActivityTimeout: 10 * time.Second}})
		require.NoError(t, w.Start())
		defer w.Stop()

		in := demoInput("tls-1", "tls-cust", 30*time.Second)
		_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(in.SubscriptionID), TaskQueue: billing.TaskQueue,
			WorkflowExecutionErrorWhenAlreadyStarted: true}, billing.WorkflowType, in)
		require.NoError(t, err)
		eventually(t, 20*time.Second, "the first charge paid over mutual TLS", func() bool {
			for _, e := range emu.Ledger() {
				if strings.HasPrefix(e.MerchantUID, "tls-1-") && e.Status == "paid" {
					return true
				}
			}
			return false
		})
	})

	other := testcerts.NewCA(t, "some other CA")
	expiredCert, expiredKey := ca.Issue(t, testcerts.Options{CommonName: "paycycle-worker",
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}).Write(t, dir, "expired")
	strangerCert, strangerKey := other.Issue(t, testcerts.Options{CommonName: "paycycle-worker"}).Write(t, dir, "stranger")
	failures := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong CA", with(map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": other.WriteCA(t, dir, "other")}),
			"the Temporal server's certificate is not signed by the CA in " + dir + "/other.pem"},
		{"expired client certificate", with(map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": expiredCert, "TEMPORAL_TLS_CLIENT_KEY_PATH": expiredKey}),
			"client certificate " + expiredCert + " (-tls-cert-path, TEMPORAL_TLS_CLIENT_CERT_PATH) is not valid now"},
		{"missing client certificate", with(map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": ""}),
			"the Temporal server requires a client certificate (mutual TLS)"},
		{"client certificate from an unknown CA", with(map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": strangerCert, "TEMPORAL_TLS_CLIENT_KEY_PATH": strangerKey}),
			"the Temporal server does not trust the client certificate " + strangerCert},
		{"plaintext to a TLS server", with(map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": ""}),
			"does it require TLS? set -tls or TEMPORAL_TLS=true"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dialFromEnv(t, tt.env)
			if err == nil {
				c.Close()
				t.Fatal("connected with a wrong TLS setting")
			}
			require.Contains(t, err.Error(), tt.want)
			t.Logf("%s: %v", tt.name, err)
		})
	}
}
