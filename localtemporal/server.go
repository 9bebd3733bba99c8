package localtemporal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/primitives/timestamp"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const clusterName = "active"

// sqlitePragmas are applied on every connection. WAL lets readers (the sqlite3 shell, a backup)
// work while the server writes; synchronous=NORMAL is durable across process crashes in WAL mode
// and much faster than FULL (only an OS crash or power loss can lose the last transactions, an
// acceptable trade for a local server); busy_timeout waits for a lock instead of failing when an
// outside reader holds one.
var sqlitePragmas = map[string]string{
	"journal_mode": "wal",
	"synchronous":  "1",
	"busy_timeout": "5000",
}

// sqlConfig is the SQLite datastore config for the data dir's database file.
func (s *Server) sqlConfig() *config.SQL {
	attrs := map[string]string{"mode": "rwc"}
	for k, v := range sqlitePragmas {
		attrs[k] = v
	}
	// The server's SQLite plugin keeps one connection per database for the whole process (its
	// pool never closes them), so one connection it is: writes are serialized, which is what
	// SQLite wants anyway.
	return &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      s.dbFile,
		ConnectAttributes: attrs,
		MaxConns:          1,
		MaxIdleConns:      1,
	}
}

// prepareDatabase creates the schema in a new database file and the namespace (with the search
// attributes) when missing. Both happen before the server starts, so a fresh namespace is usable
// the moment the frontend answers; an existing namespace is left as it is here and reconciled
// through the API after start (prepareNamespace).
func (s *Server) prepareDatabase(sqlConf *config.SQL) error {
	if _, err := os.Stat(s.dbFile); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlConf); err != nil {
			// Leave no half-initialised file behind: the next start would skip the schema.
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(s.dbFile + suffix)
			}
			return fmt.Errorf("localtemporal: create SQLite schema in %s: %w", s.dbFile, err)
		}
	} else if err != nil {
		return fmt.Errorf("localtemporal: database file: %w", err)
	}
	types, err := searchAttributeTypes(s.opts.SearchAttributes)
	if err != nil {
		return err
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, s.opts.Namespace, false, types)
	if err != nil {
		return fmt.Errorf("localtemporal: namespace %q: %w", s.opts.Namespace, err)
	}
	ns.Detail.Config.Retention = timestamp.DurationPtr(s.opts.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return fmt.Errorf("localtemporal: create namespace %q in %s: %w", s.opts.Namespace, s.dbFile, err)
	}
	return nil
}

// newTemporalServer builds the server: all four services in this process, static membership
// (no gossip ports), the frontend on the fixed address and the other services on free loopback
// ports, no metrics or pprof listeners, no archival, no HTTP API.
func (s *Server) newTemporalServer() (temporal.Server, error) {
	sqlConf := s.sqlConfig()
	if err := s.prepareDatabase(sqlConf); err != nil {
		return nil, err
	}
	host, portStr, _ := net.SplitHostPort(s.frontendAddr)
	frontendPort, _ := strconv.Atoi(portStr)

	services := map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: frontendPort, BindOnIP: host}},
	}
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(s.frontendAddr),
	}
	for _, name := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		port, err := freeLoopbackPort(host)
		if err != nil {
			return nil, fmt.Errorf("localtemporal: no free port for the %s service: %w", name, err)
		}
		services[string(name)] = config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: host}}
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(port)))
	}

	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host},
		},
		Persistence: config.Persistence{
			DefaultStore:     "sqlite-default",
			VisibilityStore:  "sqlite-default",
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: s.frontendAddr},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		PublicClient:        config.PublicClient{HostPort: s.frontendAddr},
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"

	logger := s.logs.logger
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("localtemporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("localtemporal: claim mapper: %w", err)
	}

	dyn := dynamicconfig.StaticClient{}
	for k, v := range DefaultDynamicConfig() {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	for k, v := range s.opts.DynamicConfig {
		dyn[dynamicconfig.MakeKey(k)] = v
	}

	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("localtemporal: build Temporal server: %w", err)
	}
	return srv, nil
}
