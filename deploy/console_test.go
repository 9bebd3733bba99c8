package deploy_test

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paycycle/paycycle/webhooks"
)

// consoleSettings are the environment variables consoleserver reads, taken from its source and
// the packages that register its settings, so that a misspelt key in a manifest fails here.
func consoleSettings(t *testing.T) map[string]bool {
	t.Helper()
	files := []string{"consoleserver/main.go", "console/auth.go"}
	more, err := filepath.Glob(filepath.Join(repoRoot(t), "temporalconn", "*.go"))
	require.NoError(t, err)
	for _, f := range more {
		rel, err := filepath.Rel(repoRoot(t), f)
		require.NoError(t, err)
		files = append(files, rel)
	}
	out := map[string]bool{}
	re := regexp.MustCompile(`"((?:PAYCYCLE|TEMPORAL|LOG)_[A-Z_]+)"`)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), f))
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
	}
	require.True(t, out["PAYCYCLE_READMODEL_DSN"] && out["PAYCYCLE_CONSOLE_STAFF"] && out["TEMPORAL_ADDRESS"], "the settings were found: %v", out)
	return out
}

// containerPort is the number of a container's named port.
func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
	require.GreaterOrEqual(t, i, 0, "%s has a port named %s", c.Name, name)
	return c.Ports[i].ContainerPort
}

// portOf is the port of a host:port setting.
func portOf(t *testing.T, hostPort string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	require.NoError(t, err, hostPort)
	n, err := strconv.Atoi(p)
	require.NoError(t, err, hostPort)
	return int32(n)
}

// allows reports whether a NetworkPolicy rule's peers select the Deployment's pods (a pod
// selector in the policy's own namespace) and its ports include port.
func allows(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, d *appsv1.Deployment, port int32) bool {
	peer := slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool {
		return p.NamespaceSelector == nil && p.PodSelector != nil &&
			labels.SelectorFromSet(p.PodSelector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels))
	})
	return peer && slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.IntVal == port })
}

// checkConsole checks the console's wiring: its settings are consoleserver's, its database DSN
// and the OIDC client secret come from its own Secret, the worker's event stream reaches its
// /events through the Service and both NetworkPolicies, its ports are the ones it listens on and
// Prometheus scrapes, and its Ingress keeps a browser on the replica that holds its session.
func checkConsole(t *testing.T, r rendered) {
	t.Helper()
	d := r.deployments["paycycle-console"]
	require.NotNil(t, d, "the console's Deployment")
	c := d.Spec.Template.Spec.Containers[0]
	cfg := r.configMaps["paycycle-console-config"]
	require.NotNil(t, cfg)
	known := consoleSettings(t)

	var consoleSecret bool
	var maps []string
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == "paycycle-console" {
			consoleSecret = true
		}
		if ef.ConfigMapRef != nil {
			maps = append(maps, ef.ConfigMapRef.Name)
		}
	}
	require.True(t, consoleSecret, "the DSN and the OIDC client secret come from the Secret paycycle-console")
	require.Contains(t, maps, "paycycle-console-config")
	for k := range cfg.Data {
		require.True(t, known[k], "paycycle-console-config sets %s, which consoleserver does not read", k)
	}
	for _, m := range maps {
		for _, k := range []string{"PAYCYCLE_READMODEL_DSN", "PAYCYCLE_CONSOLE_OIDC_CLIENT_SECRET", "PAYCYCLE_CONSOLE_STAFF", "PAYCYCLE_WEBHOOK_SECRETS"} {
			require.NotContains(t, r.configMaps[m].Data, k, "%s is a secret, not a setting of ConfigMap %s", k, m)
		}
	}
	// The very secrets the worker signs and encrypts with, and only those of paycycle-secrets.
	fromShared := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			require.Equal(t, "paycycle-secrets", e.ValueFrom.SecretKeyRef.Name, e.Name)
			require.Equal(t, e.Name, e.ValueFrom.SecretKeyRef.Key)
			fromShared[e.Name] = true
		}
	}
	require.True(t, fromShared["PAYCYCLE_WEBHOOK_SECRETS"] && fromShared["PAYCYCLE_CODEC_KEYS"], "%v", fromShared)
	require.NotContains(t, fromShared, "PORTONE_API_SECRET", "the console does not get PortOne's keys")

	// Ports: what it listens on is what the probes, the Service and Prometheus use.
	httpPort, metricsPort := containerPort(t, c, "http"), containerPort(t, c, "metrics")
	require.Equal(t, httpPort, portOf(t, cfg.Data["PAYCYCLE_CONSOLE_ADDR"]))
	require.Equal(t, metricsPort, portOf(t, cfg.Data["PAYCYCLE_CONSOLE_METRICS_ADDR"]))
	ann := d.Spec.Template.Annotations
	require.Equal(t, "true", ann["prometheus.io/scrape"])
	require.Equal(t, strconv.Itoa(int(metricsPort)), ann["prometheus.io/port"])
	require.Equal(t, "/metrics", ann["prometheus.io/path"])

	// The event stream: one of the worker's endpoints is the console's /events, through its
	// Service to the http port, allowed out of the worker and into the console.
	svc := r.services["paycycle-console"]
	require.NotNil(t, svc)
	require.True(t, selects(svc.Spec.Selector, d), "the Service selects the console's pods")
	eps, err := webhooks.ParseEndpoints(r.configMaps["paycycle-config"].Data["BILLING_WEBHOOK_URLS"])
	require.NoError(t, err)
	var wired bool
	for _, ep := range eps {
		u, err := url.Parse(ep.URL)
		require.NoError(t, err)
		if u.Hostname() != svc.Name {
			continue
		}
		require.Equal(t, "/events", u.Path, ep.URL)
		port := int32(80)
		if u.Port() != "" {
			port = portOf(t, u.Host)
		}
		i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port })
		require.GreaterOrEqual(t, i, 0, "%s: the Service has port %d", ep.URL, port)
		require.Equal(t, "http", svc.Spec.Ports[i].TargetPort.StrVal, "%s reaches the console's http port", ep.URL)
		wired = true
	}
	require.True(t, wired, "BILLING_WEBHOOK_URLS lists the console's receiver (http://%s/events)", svc.Name)
	worker := r.deployments["paycycle-worker"]
	var out, in, scrape bool
	for _, n := range r.netpols {
		if selects(n.Spec.PodSelector.MatchLabels, worker) {
			for _, e := range n.Spec.Egress {
				out = out || allows(e.To, e.Ports, d, httpPort)
			}
		}
		if selects(n.Spec.PodSelector.MatchLabels, d) {
			for _, i := range n.Spec.Ingress {
				in = in || allows(i.From, i.Ports, worker, httpPort)
				scrape = scrape || slices.ContainsFunc(i.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.IntVal == metricsPort })
			}
		}
	}
	require.True(t, out, "the worker's NetworkPolicy lets it reach the console on %d", httpPort)
	// The worker's nightly reconciliation compares the console's database with the workflows:
	// the same DSN from the console's Secret, and the same way out to PostgreSQL.
	wc := worker.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(wc.Env, func(e corev1.EnvVar) bool { return e.Name == "PAYCYCLE_READMODEL_DSN" })
	require.GreaterOrEqual(t, i, 0, "the worker gets the read model's DSN")
	ref := wc.Env[i].ValueFrom.SecretKeyRef
	require.Equal(t, "paycycle-console", ref.Name)
	require.Equal(t, "PAYCYCLE_READMODEL_DSN", ref.Key)
	require.True(t, ref.Optional != nil && *ref.Optional, "without the console, the worker still starts (the check is skipped)")
	dbPorts := func(d *appsv1.Deployment) []int32 {
		var out []int32
		for _, n := range r.netpols {
			if selects(n.Spec.PodSelector.MatchLabels, d) {
				for _, e := range n.Spec.Egress {
					for _, p := range e.Ports {
						if p.Port != nil && p.Port.IntVal == 5432 {
							out = append(out, p.Port.IntVal)
						}
					}
				}
			}
		}
		return out
	}
	require.NotEmpty(t, dbPorts(d), "the console reaches PostgreSQL")
	require.NotEmpty(t, dbPorts(worker), "the worker reaches the read model's PostgreSQL")
	require.True(t, in, "the console's NetworkPolicy lets the worker in on %d", httpPort)
	require.True(t, scrape, "the console's NetworkPolicy lets Prometheus in on %d", metricsPort)

	// Staff reach it over HTTPS at its public URL; OIDC is configured; the browser stays with
	// the replica that holds its session.
	pub, err := url.Parse(cfg.Data["PAYCYCLE_CONSOLE_PUBLIC_URL"])
	require.NoError(t, err)
	require.Equal(t, "https", pub.Scheme, "an https public URL makes the cookies Secure")
	iss, err := url.Parse(cfg.Data["PAYCYCLE_CONSOLE_OIDC_ISSUER"])
	require.NoError(t, err)
	require.Equal(t, "https", iss.Scheme)
	require.NotEmpty(t, cfg.Data["PAYCYCLE_CONSOLE_OIDC_CLIENT_ID"])
	ing := r.ingresses["paycycle-console"]
	require.NotNil(t, ing)
	require.Len(t, ing.Spec.Rules, 1)
	require.Equal(t, pub.Host, ing.Spec.Rules[0].Host, "the Ingress serves the public URL's host")
	require.NotEmpty(t, ing.Spec.TLS)
	require.Contains(t, ing.Spec.TLS[0].Hosts, pub.Host)
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		require.Equal(t, svc.Name, p.Backend.Service.Name)
		require.Equal(t, "http", p.Backend.Service.Port.Name, "the gauges' port is not routed")
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas > 1 {
		require.Equal(t, "cookie", ing.Annotations["nginx.ingress.kubernetes.io/affinity"],
			"sessions live in a replica's memory: several replicas need sticky sessions")
	}
}
