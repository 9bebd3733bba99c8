package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/temporalconn"
)

// testCluster is PostgreSQL, the Temporal server process, the namespace with the search
// attributes, the emulator and the edge; workers are started by each test.
type testCluster struct {
	bins, logDir       string
	pg                 *cluster.Postgres
	sc                 *cluster.ServerConfig
	serverBin, cfgFile string
	serverLog          string
	server             *cluster.Process
	client             client.Client
	dc                 converter.DataConverter
	emulator, edge     string
	// emulatorV2 is the emulator's PortOne V2 API (at the root of its own listener).
	emulatorV2           string
	workerEnv            []string
	workersFrom          time.Time
	namespace, codecKeys string
}

// startTestCluster brings up everything but the workers, recording each step's time in ph.
func startTestCluster(ctx context.Context, t *testing.T, ph *phases) *testCluster {
	tc := &testCluster{bins: binDir(t), namespace: "billing"}
	tc.logDir = filepath.Join(artifactsDir(t), "cluster", t.Name())
	require.NoError(t, os.MkdirAll(tc.logDir, 0o755))
	t.Logf("process logs in %s", tc.logDir)

	t0 := time.Now()
	pg, err := cluster.StartPostgres(ctx)
	require.NoError(t, err)
	tc.pg = pg
	t.Cleanup(func() {
		_ = copyFile(pg.LogFile(), filepath.Join(tc.logDir, "postgres.log"))
		if err := pg.Stop(); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
	})
	ph.add("initdb + start PostgreSQL 15", time.Since(t0), pg.Addr())

	// The schema from nothing to current with Temporal's own tool, then once more: the second
	// run is what an upgrade (or a re-run of the compose job) does on an existing database,
	// and must be a no-op.
	sqlTool := tool(t, tc.bins, cluster.SQLToolBinary)
	t0 = time.Now()
	out, err := cluster.SetupSchema(ctx, sqlTool, pg)
	require.NoError(t, err)
	ph.add("create + upgrade schema (temporal-sql-tool)", time.Since(t0))
	t0 = time.Now()
	again, err := cluster.SetupSchema(ctx, sqlTool, pg)
	require.NoError(t, err, "re-running the schema tool on a current database")
	ph.add("re-run schema tool on the current schema", time.Since(t0))
	require.NoError(t, os.WriteFile(filepath.Join(tc.logDir, "schema.log"), []byte(out+again), 0o644))

	tc.sc = &cluster.ServerConfig{Postgres: pg, HistoryShards: 4, Dir: t.TempDir()}
	tc.cfgFile, err = tc.sc.WriteFiles()
	require.NoError(t, err)
	tc.serverBin = tool(t, tc.bins, cluster.ServerBinary)
	tc.serverLog = filepath.Join(tc.logDir, "temporal-server.log")
	t0 = time.Now()
	tc.server, err = cluster.StartServer(ctx, tc.serverBin, tc.cfgFile, tc.sc.FrontendAddr(), tc.serverLog)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tc.server.Stop(30 * time.Second) })
	ph.add("start Temporal server (4 shards)", time.Since(t0), tc.sc.FrontendAddr())

	t0 = time.Now()
	require.NoError(t, cluster.RegisterNamespace(ctx, tc.sc.FrontendAddr(), tc.namespace, 24*time.Hour))
	tc.codecKeys, err = codec.NewKeyString("cluster")
	require.NoError(t, err)
	tc.dc = dataConverter(t, tc.codecKeys)
	tc.client, err = client.DialContext(ctx, client.Options{HostPort: tc.sc.FrontendAddr(), Namespace: tc.namespace, DataConverter: tc.dc})
	require.NoError(t, err)
	t.Cleanup(tc.client.Close)
	require.NoError(t, temporalconn.RegisterSearchAttributes(ctx, tc.client, tc.namespace))
	ph.add("register namespace + search attributes", time.Since(t0))

	t0 = time.Now()
	tc.emulator, tc.emulatorV2 = startEmulator(t, tc.bins, tc.logDir)
	// Every process speaks both PortOne generations, as a merchant moving to V2 runs them.
	common := []string{
		"TEMPORAL_ADDRESS=" + tc.sc.FrontendAddr(), "TEMPORAL_NAMESPACE=" + tc.namespace,
		"PORTONE_BASE_URL=" + tc.emulator, "PORTONE_API_KEY=" + portonetest.DefaultKey, "PORTONE_API_SECRET=" + portonetest.DefaultSecret,
		"PORTONE_V2_BASE_URL=" + tc.emulatorV2, "PORTONE_V2_API_SECRET=" + portonetest.DefaultV2Secret,
		"PORTONE_V2_STORE_ID=" + portonetest.DefaultStoreID, "PORTONE_V2_CHANNEL_KEY=" + portonetest.DefaultV2ChannelKey,
		"PORTONE_V2_WEBHOOK_SECRETS=" + portonetest.DefaultV2WebhookSecret,
		"PAYCYCLE_CODEC_KEYS=" + tc.codecKeys, "BILLING_DEMO_MODE=true", "LOG_FORMAT=json",
	}
	tc.edge = startEdge(t, tc.bins, tc.logDir, common)
	// The activity timeout must cover a V2 charge and its read (two V2 timeouts).
	tc.workerEnv = append(slices.Clone(common), "PORTONE_TIMEOUT=3s", "PORTONE_V2_TIMEOUT=2s", "BILLING_ACTIVITY_TIMEOUT=5s",
		"BILLING_NOTICE_URL="+tc.edge+"/portone/webhook", "BILLING_V2_NOTICE_URL="+tc.edge+"/portone/v2/webhook", "BILLING_SCHEDULE_SETTLE_DELAY=3s")
	ph.add("start emulator and edge", time.Since(t0))
	tc.workersFrom = time.Now()
	return tc
}

// startWorker starts bin/worker with the cluster's settings plus extra environment.
func (tc *testCluster) startWorker(t *testing.T, name string, extraEnv ...string) *cluster.Process {
	return startWorker(t, tc.bins, tc.logDir, name, append(slices.Clone(tc.workerEnv), extraEnv...))
}
