package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Names of the Temporal binaries built from go.temporal.io/server at the version pinned in
// go.mod (`make cluster-tools` puts them in bin/).
const (
	ServerBinary  = "temporal-server"   // go.temporal.io/server/cmd/server
	SQLToolBinary = "temporal-sql-tool" // go.temporal.io/server/cmd/tools/sql
)

// Embedded schema names understood by temporal-sql-tool's --schema-name, one per database.
var schemas = []struct{ database, schema string }{
	{"temporal", "postgresql/v12/temporal"},
	{"temporal_visibility", "postgresql/v12/visibility"},
}

// Tool returns the path of a binary in binDir, or an error naming the make target that builds it.
func Tool(binDir, name string) (string, error) {
	p := filepath.Join(binDir, name)
	if !isExec(p) {
		return "", fmt.Errorf("%s: %w in %s (run `make cluster-tools`)", name, errNoTool, binDir)
	}
	return p, nil
}

// SetupSchema creates both Temporal databases and brings their schema from nothing to the
// newest version this server knows, the way an operator does it: setup-schema at 0.0, then
// update-schema through every versioned step. It returns the tool's output for the log.
func SetupSchema(ctx context.Context, sqlTool string, pg *Postgres) (string, error) {
	var log strings.Builder
	for _, s := range schemas {
		for _, args := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "--schema-name", s.schema},
		} {
			full := append([]string{"--plugin", "postgres12", "--ep", pg.Host, "-p", itoa(pg.Port), "-u", pg.User, "--db", s.database}, args...)
			cmd := exec.CommandContext(ctx, sqlTool, full...)
			// The password travels in the environment, never on the command line (ps).
			cmd.Env = append(os.Environ(), "SQL_PASSWORD="+pg.Password)
			out, err := cmd.CombinedOutput()
			fmt.Fprintf(&log, "$ temporal-sql-tool --db %s %s\n%s", s.database, strings.Join(args, " "), out)
			if err != nil {
				return log.String(), fmt.Errorf("temporal-sql-tool --db %s %s: %w\n%s", s.database, args[0], err, out)
			}
		}
	}
	return log.String(), nil
}

// ServerConfig is what the Temporal server process needs to know.
type ServerConfig struct {
	// Postgres is the database.
	Postgres *Postgres
	// HistoryShards is fixed for the cluster's lifetime (the Helm chart says the same).
	HistoryShards int
	// Dir receives the config files and logs.
	Dir string
	// FrontendPort, if zero, is chosen free.
	FrontendPort int
	ports        map[string]int
}

// FrontendAddr is the gRPC frontend's host:port.
func (c *ServerConfig) FrontendAddr() string { return "127.0.0.1:" + itoa(c.FrontendPort) }

// WriteFiles writes the server's YAML config and dynamic config into c.Dir and returns the
// config file's path. The config holds the database password, so it is 0600.
func (c *ServerConfig) WriteFiles() (string, error) {
	if c.Postgres == nil {
		return "", errors.New("cluster: ServerConfig.Postgres is required")
	}
	if c.HistoryShards <= 0 {
		return "", fmt.Errorf("cluster: ServerConfig.HistoryShards must be positive, got %d", c.HistoryShards)
	}
	c.ports = map[string]int{}
	for _, k := range []string{"frontend", "frontendMembership", "frontendHTTP", "history", "historyMembership", "matching", "matchingMembership", "worker", "workerMembership", "metrics"} {
		if k == "frontend" && c.FrontendPort != 0 {
			c.ports[k] = c.FrontendPort
			continue
		}
		p, err := FreeLowPort()
		for tries := 0; err == nil && slices.Contains(slices.Collect(maps.Values(c.ports)), p) && tries < 20; tries++ {
			p, err = FreeLowPort() // a port this config already uses
		}
		if err != nil {
			return "", err
		}
		c.ports[k] = p
	}
	c.FrontendPort = c.ports["frontend"]
	dyn := filepath.Join(c.Dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfig), 0o600); err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, "temporal.yaml")
	return path, os.WriteFile(path, []byte(c.yaml(dyn)), 0o600)
}

// MetricsAddr is the server's Prometheus endpoint.
func (c *ServerConfig) MetricsAddr() string { return "127.0.0.1:" + itoa(c.ports["metrics"]) }

// dynamicConfig: visibility reads of new search attributes right after registration (as the
// embedded dev server does), and nothing else changed from the defaults, so that what is
// measured is a stock server.
const dynamicConfig = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
`

func (c *ServerConfig) yaml(dynamicConfigFile string) string {
	pg := c.Postgres
	store := func(db string, conns int) string {
		return fmt.Sprintf(`      sql:
        pluginName: "postgres12"
        databaseName: %q
        connectAddr: %q
        connectProtocol: "tcp"
        user: %q
        password: %q
        maxConns: %d
        maxIdleConns: %d
        maxConnLifetime: "1h"
`, db, pg.Addr(), pg.User, pg.Password, conns, conns)
	}
	svc := func(name string) string {
		s := fmt.Sprintf("  %s:\n    rpc:\n      grpcPort: %d\n      membershipPort: %d\n      bindOnIP: 127.0.0.1\n", name, c.ports[name], c.ports[name+"Membership"])
		if name == "frontend" {
			s += fmt.Sprintf("      httpPort: %d\n", c.ports["frontendHTTP"])
		}
		return s
	}
	return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ` + itoa(c.HistoryShards) + `
  datastores:
    postgres-default:
` + store("temporal", 20) + `    postgres-visibility:
` + store("temporal_visibility", 10) + `global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "` + c.MetricsAddr() + `"
services:
` + svc("frontend") + svc("history") + svc("matching") + svc("worker") + `clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "` + c.FrontendAddr() + `"
dcRedirectionPolicy:
  policy: "noop"
archival:
  history:
    state: "disabled"
  visibility:
    state: "disabled"
namespaceDefaults:
  archival:
    history:
      state: "disabled"
    visibility:
      state: "disabled"
dynamicConfigClient:
  filepath: "` + dynamicConfigFile + `"
  pollInterval: "10s"
`
}

// StartServer starts the Temporal server process on configFile and waits until its frontend
// answers health checks.
func StartServer(ctx context.Context, serverBin, configFile, frontendAddr, logFile string) (*Process, error) {
	cmd := exec.Command(serverBin, "--config-file", configFile, "--allow-no-auth", "start")
	p, err := StartProcess("temporal-server", cmd, logFile)
	if err != nil {
		return nil, err
	}
	if err := WaitFrontend(ctx, p, frontendAddr, 90*time.Second); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// WaitFrontend polls the frontend's health check until it serves.
func WaitFrontend(ctx context.Context, p *Process, addr string, timeout time.Duration) error {
	return p.WaitFor(timeout, "the frontend at "+addr+" to be healthy", func() bool {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c, err := client.DialContext(cctx, client.Options{HostPort: addr, Namespace: "temporal-system"})
		if err != nil {
			return false
		}
		defer c.Close()
		_, err = c.CheckHealth(cctx, &client.CheckHealthRequest{})
		return err == nil
	})
}

// RegisterNamespace registers ns (unless it exists) and waits until the frontend serves it:
// the server's namespace cache refreshes on its own schedule, and a worker that polls before
// then is refused.
func RegisterNamespace(ctx context.Context, addr, ns string, retention time.Duration) error {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr})
	if err != nil {
		return err
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(retention)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %q: %w", ns, err)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: ns})
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: ns})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %q registered but not served after 60s: %w", ns, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
