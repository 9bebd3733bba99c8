package deploy_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestPrometheusScrapeConfig: every scrape job of deploy/prometheus/prometheus.yml reaches a port
// its compose service listens on, every job the alerting rules and the dashboard name is scraped,
// and every Kubernetes Deployment Prometheus is told to scrape has the job of its name (the one
// the rules and panels filter on). promtool's own check is deploy/prometheus's test.
func TestPrometheusScrapeConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("prometheus", "prometheus.yml"))
	require.NoError(t, err)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	p, err := loadCompose(t, testDotEnv)
	require.NoError(t, err)
	listen := regexp.MustCompile(`0\.0\.0\.0:(\d+)`)
	jobs := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		jobs[sc.JobName] = true
		require.NotEmpty(t, sc.StaticConfigs, sc.JobName)
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				require.NoError(t, err, target)
				s, ok := p.Services[host]
				require.True(t, ok, "job %s scrapes %s, which is no compose service", sc.JobName, target)
				var ports []string
				for _, m := range listen.FindAllStringSubmatch(strings.Join(s.Command, " "), -1) {
					ports = append(ports, m[1])
				}
				for _, v := range s.Environment {
					if v != nil {
						for _, m := range listen.FindAllStringSubmatch(*v, -1) {
							ports = append(ports, m[1])
						}
					}
				}
				require.Contains(t, ports, port, "job %s: %s listens on %v", sc.JobName, host, ports)
			}
		}
	}
	named := regexp.MustCompile(`job(?:=|=~)\\?"([^"\\]+)\\?"`)
	for _, f := range []string{filepath.Join("prometheus", "alerts.yml"), filepath.Join("grafana", "paycycle.json")} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range named.FindAllStringSubmatch(string(b), -1) {
			for _, job := range strings.Split(m[1], "|") {
				require.True(t, jobs[job], "%s names job %s, which prometheus.yml does not scrape", f, job)
			}
		}
	}
	for _, overlay := range overlays(t) {
		r := render(t, overlay)
		for name, d := range r.deployments {
			if d.Spec.Template.Annotations["prometheus.io/scrape"] == "true" {
				require.True(t, jobs[name], "%s is scraped on Kubernetes: its job %s is in prometheus.yml", name, name)
			}
		}
	}
	require.True(t, jobs["paycycle-console"], "the console's gauges are scraped")
}
