package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// rendered is one overlay's manifests, decoded into the Kubernetes API types.
type rendered struct {
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	accounts     map[string]*corev1.ServiceAccount
	ingresses    map[string]*networkingv1.Ingress
	netpols      map[string]*networkingv1.NetworkPolicy
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	secretsFound []string
}

// render runs kustomize on an overlay (as `kubectl kustomize` does) and decodes every
// manifest strictly: a field the API type does not have fails the test, so a typo such as
// `readinesProbe` cannot pass as "no probe".
func render(t *testing.T, overlay string) rendered {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), overlay)
	require.NoError(t, err, "kustomize build %s", overlay)
	r := rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		accounts: map[string]*corev1.ServiceAccount{}, ingresses: map[string]*networkingv1.Ingress{}, netpols: map[string]*networkingv1.NetworkPolicy{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}}
	for _, res := range rm.Resources() {
		b, err := res.AsYAML()
		require.NoError(t, err)
		kind, name := res.GetKind(), res.GetName()
		var target any
		switch kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			r.deployments[name], target = d, d
		case "Service":
			s := &corev1.Service{}
			r.services[name], target = s, s
		case "ConfigMap":
			c := &corev1.ConfigMap{}
			r.configMaps[name], target = c, c
		case "ServiceAccount":
			a := &corev1.ServiceAccount{}
			r.accounts[name], target = a, a
		case "Ingress":
			i := &networkingv1.Ingress{}
			r.ingresses[name], target = i, i
		case "NetworkPolicy":
			n := &networkingv1.NetworkPolicy{}
			r.netpols[name], target = n, n
		case "PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			r.pdbs[name], target = p, p
		case "HorizontalPodAutoscaler":
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			r.hpas[name], target = h, h
		case "Secret":
			r.secretsFound = append(r.secretsFound, name)
			continue
		default:
			t.Fatalf("%s: unexpected kind %s %s: add a strict decoder for it", overlay, kind, name)
		}
		require.NoError(t, yaml.UnmarshalStrict(b, target), "%s %s/%s does not decode strictly into the API type:\n%s", overlay, kind, name, b)
	}
	return r
}

func overlays(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join("k8s", "overlays", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	return dirs
}

func TestKustomizeOverlays(t *testing.T) {
	for _, overlay := range overlays(t) {
		t.Run(filepath.Base(overlay), func(t *testing.T) {
			r := render(t, overlay)
			require.Empty(t, r.secretsFound, "no Secret is committed: they are created out of band")
			require.Len(t, r.deployments, 3)
			for name, d := range r.deployments {
				checkDeployment(t, name, d, r)
			}
			checkConsole(t, r)

			w := r.deployments["paycycle-worker"]
			require.NotNil(t, w)
			wc := w.Spec.Template.Spec.Containers[0]
			stop, err := time.ParseDuration(flagValue(t, wc.Args, "-stop-timeout"))
			require.NoError(t, err)
			require.Greater(t, time.Duration(*w.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second, stop,
				"terminationGracePeriodSeconds must exceed the worker's -stop-timeout, or SIGKILL cuts running charges")
			// Worker Versioning: the build ID is the image's tag, so a build ID names exactly one image.
			tag := wc.Image[strings.LastIndex(wc.Image, ":")+1:]
			require.Equal(t, tag, envValue(t, wc, "BILLING_BUILD_ID"), "BILLING_BUILD_ID matches the image tag")
			require.NotEmpty(t, r.configMaps["paycycle-config"].Data["BILLING_DEPLOYMENT_NAME"])

			// Autoscaling: the edge by CPU, the worker deliberately not (see base/worker.yaml).
			require.Len(t, r.hpas, 1)
			h := r.hpas["paycycle-edge"]
			require.NotNil(t, h)
			require.Equal(t, "Deployment", h.Spec.ScaleTargetRef.Kind)
			require.Equal(t, "paycycle-edge", h.Spec.ScaleTargetRef.Name)
			require.GreaterOrEqual(t, *h.Spec.MinReplicas, int32(2), "the edge keeps two replicas for the PDB")

			// Edge Service and Ingress: only public paths, to the Service's named port.
			svc := r.services["paycycle-edge"]
			require.NotNil(t, svc)
			require.True(t, selects(svc.Spec.Selector, r.deployments["paycycle-edge"]), "the Service selects the edge pods")
			ing := r.ingresses["paycycle-edge"]
			require.NotNil(t, ing)
			require.NotEmpty(t, ing.Spec.TLS, "the edge is served over HTTPS")
			var paths []string
			for _, rule := range ing.Spec.Rules {
				for _, p := range rule.HTTP.Paths {
					paths = append(paths, p.Path)
					require.Equal(t, svc.Name, p.Backend.Service.Name)
					require.True(t, slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == p.Backend.Service.Port.Name }))
				}
			}
			require.Contains(t, paths, "/portone/webhook")
			require.Contains(t, paths, "/manage", "the customer's self-service cancel page is public")
			for _, p := range paths {
				require.NotContains(t, []string{"/", "/healthz", "/readyz", "/codec"}, p, "%s must not be public", p)
			}
		})
	}
}

// checkDeployment asserts what every Deployment needs: probes, requests and limits, non-root,
// read-only root, no privilege escalation, a PDB, a NetworkPolicy, and the Secret and
// ConfigMap references.
func checkDeployment(t *testing.T, name string, d *appsv1.Deployment, r rendered) {
	t.Helper()
	ps := d.Spec.Template.Spec
	require.NotNil(t, ps.SecurityContext, name)
	require.True(t, ps.SecurityContext.RunAsNonRoot != nil && *ps.SecurityContext.RunAsNonRoot, "%s: runAsNonRoot", name)
	require.True(t, ps.SecurityContext.RunAsUser != nil && *ps.SecurityContext.RunAsUser != 0, "%s: a non-zero UID", name)
	require.False(t, ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken, "%s: no API token mounted", name)
	require.Contains(t, r.accounts, ps.ServiceAccountName, name)
	require.True(t, selects(d.Spec.Selector.MatchLabels, d), "%s: the selector matches its own pods", name)
	for _, c := range ps.Containers {
		where := fmt.Sprintf("%s/%s", name, c.Name)
		require.NotNil(t, c.ReadinessProbe, "%s: readiness probe", where)
		require.NotNil(t, c.LivenessProbe, "%s: liveness probe", where)
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			require.NotNil(t, p.HTTPGet, "%s: HTTP probes", where)
			require.True(t, slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal }),
				"%s: probe port %q is a named container port", where, p.HTTPGet.Port.String())
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			require.False(t, c.Resources.Requests.Name(res, "").IsZero(), "%s: %s request", where, res)
			require.False(t, c.Resources.Limits.Name(res, "").IsZero(), "%s: %s limit", where, res)
		}
		sc := c.SecurityContext
		require.NotNil(t, sc, where)
		require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "%s: read-only root filesystem", where)
		require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "%s: no privilege escalation", where)
		require.Contains(t, sc.Capabilities.Drop, corev1.Capability("ALL"), where)
		require.NotContains(t, c.Image, ":latest", where)
		require.Contains(t, c.Image, ":", "%s: a tagged image", where)

		var cm, secret bool
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				require.Contains(t, r.configMaps, ef.ConfigMapRef.Name, where)
				cm = true
			}
			if ef.SecretRef != nil && ef.SecretRef.Name == "paycycle-secrets" {
				secret = true
			}
		}
		for _, e := range c.Env {
			for _, s := range []string{"SECRET", "PASSWORD", "CODEC_KEYS", "API_KEY", "DSN", "STAFF"} {
				require.False(t, strings.Contains(e.Name, s) && e.Value != "", "%s: %s has a literal value", where, e.Name)
			}
			// Or only the keys it needs, one by one.
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "paycycle-secrets" {
				secret = true
			}
		}
		require.True(t, cm && secret, "%s: settings from the ConfigMap, secrets from the Secret paycycle-secrets", where)
		// TLS to Temporal: the three files come from the mounted Secret.
		mount := ""
		for _, vm := range c.VolumeMounts {
			if vm.Name == "temporal-tls" {
				mount = vm.MountPath
				require.True(t, vm.ReadOnly, where)
			}
		}
		require.NotEmpty(t, mount, "%s: the Temporal TLS Secret is mounted", where)
		for _, env := range []string{"TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY"} {
			require.True(t, strings.HasPrefix(envValue(t, c, env), mount+"/"), "%s: %s points into %s", where, env, mount)
		}
		require.NotEmpty(t, r.configMaps["paycycle-config"].Data["TEMPORAL_TLS_SERVER_NAME"], where)
	}
	var tlsVolume bool
	for _, v := range ps.Volumes {
		if v.Name == "temporal-tls" {
			require.NotNil(t, v.Secret, "%s: the TLS volume is a Secret", name)
			tlsVolume = true
		}
	}
	require.True(t, tlsVolume, name)

	var pdb, netpol bool
	for _, p := range r.pdbs {
		if selects(p.Spec.Selector.MatchLabels, d) {
			require.True(t, p.Spec.MinAvailable != nil || p.Spec.MaxUnavailable != nil, p.Name)
			pdb = true
		}
	}
	for _, n := range r.netpols {
		if selects(n.Spec.PodSelector.MatchLabels, d) {
			require.Contains(t, n.Spec.PolicyTypes, networkingv1.PolicyTypeEgress, n.Name)
			require.Contains(t, n.Spec.PolicyTypes, networkingv1.PolicyTypeIngress, n.Name)
			netpol = true
		}
	}
	require.True(t, pdb, "%s: a PodDisruptionBudget selects it", name)
	require.True(t, netpol, "%s: a NetworkPolicy selects it", name)
}

// selects reports whether a label selector picks the Deployment's pods.
func selects(sel map[string]string, d *appsv1.Deployment) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels))
}

func envValue(t *testing.T, c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	t.Fatalf("%s: no %s in env", c.Name, name)
	return ""
}

// TestStrictDecodingCatchesTypos proves the decoder above is strict, so a misspelt field
// cannot pass the checks as an absent one.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: x
          image: x:1
          readinesProbe: {httpGet: {path: /healthz, port: 80}}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d.yaml"), []byte(manifest), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [d.yaml]\n"), 0o600))
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err)
	b, err := rm.Resources()[0].AsYAML()
	require.NoError(t, err)
	err = yaml.UnmarshalStrict(b, &appsv1.Deployment{})
	require.ErrorContains(t, err, "readinesProbe")
}
