package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// webhookSettings are the worker's merchant event stream settings (worker/webhooks.go), which
// every deployment shape documents at their defaults so that an operator finds them.
var webhookSettings = []string{"BILLING_WEBHOOK_URLS", "BILLING_WEBHOOK_TIMEOUT", "BILLING_WEBHOOK_DELIVERY_WINDOW", "BILLING_WEBHOOK_TASK_QUEUE", "BILLING_RENEWAL_NOTICE"}

// TestKustomizeWebhookSettings: the event stream's settings are in the ConfigMap, on towards the
// console's receiver only (the merchant's endpoints are the operator's to add), and its signing
// secrets are not: they belong to the Secret, which the ConfigMap's comment names.
func TestKustomizeWebhookSettings(t *testing.T) {
	for _, overlay := range overlays(t) {
		t.Run(filepath.Base(overlay), func(t *testing.T) {
			r := render(t, overlay)
			cm := r.configMaps["paycycle-config"]
			require.NotNil(t, cm)
			for _, k := range webhookSettings {
				require.Contains(t, cm.Data, k, "the ConfigMap documents %s", k)
			}
			// URLs need PAYCYCLE_WEBHOOK_SECRETS in the Secret, or the worker does not start: the
			// console's receiver is the one endpoint deployed with it (checkConsole checks the wiring).
			require.Equal(t, "http://paycycle-console/events", cm.Data["BILLING_WEBHOOK_URLS"])
			for name, c := range r.configMaps {
				for k := range c.Data {
					require.NotContains(t, k, "SECRET", "ConfigMap %s holds %s: secrets go to paycycle-secrets", name, k)
				}
			}
			for _, c := range r.deployments["paycycle-worker"].Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					require.NotEqual(t, "PAYCYCLE_WEBHOOK_SECRETS", e.Name, "the signing secrets come from the Secret, not a literal")
				}
			}
		})
	}
	raw, err := os.ReadFile(filepath.Join("k8s", "base", "config.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(raw), "PAYCYCLE_WEBHOOK_SECRETS", "the ConfigMap's comment lists the Secret's keys")
}

// TestComposeEnvExampleHasTheWebhookSettings: the env example names the signing secrets (empty:
// they are the operator's) and the settings, with the stream going to the console's receiver,
// where the console listens.
func TestComposeEnvExampleHasTheWebhookSettings(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "paycycle.env.example"))
	require.NoError(t, err)
	env := string(raw)
	require.Contains(t, env, "\nPAYCYCLE_WEBHOOK_SECRETS=\n", "the secret is listed, empty")
	require.Contains(t, env, "\nBILLING_WEBHOOK_URLS=http://console:7792/events\n", "the stream goes to the console in the example")
	for _, k := range webhookSettings {
		require.Contains(t, env, k)
	}
	for _, line := range strings.Split(env, "\n") {
		if strings.HasPrefix(line, "PAYCYCLE_WEBHOOK_SECRETS=") {
			require.Equal(t, "PAYCYCLE_WEBHOOK_SECRETS=", line, "no secret committed")
		}
	}
	p, err := loadCompose(t, testDotEnv)
	require.NoError(t, err)
	require.Contains(t, p.Services["worker"].Environment, "PAYCYCLE_WEBHOOK_SECRETS", "the worker gets the signing secrets from the env file")
	c := p.Services["console"]
	require.Contains(t, c.Environment, "PAYCYCLE_WEBHOOK_SECRETS", "the console verifies with the same secrets")
	require.Equal(t, "http://console:7792/events", *p.Services["worker"].Environment["BILLING_WEBHOOK_URLS"])
	require.Equal(t, "0.0.0.0:7792", *c.Environment["PAYCYCLE_CONSOLE_ADDR"], "the console listens where the worker posts")
	require.Contains(t, c.HealthCheck.Test, "http://127.0.0.1:7792/healthz")
}
