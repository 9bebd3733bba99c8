package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

const composeFile = "docker-compose.temporal.yml"

// testDotEnv is a .env with every variable the compose file requires.
const testDotEnv = "POSTGRES_PASSWORD=x\nCONSOLE_DB_PASSWORD=y\n"

// repoRoot is the checkout's top directory (this package is deploy/).
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	return root
}

// modVersion returns a module's version from go.mod without the leading v.
func modVersion(t *testing.T, module string) string {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindSubmatch(b)
	require.NotNil(t, m, "%s in go.mod", module)
	return string(m[1])
}

// loadCompose loads the compose file the way `docker compose` does, from a copy of the
// checkout's compose file and env examples in a temp dir (the real env files are not
// committed), with the given variables in .env and the given profiles.
func loadCompose(t *testing.T, dotEnv string, profiles ...string) (*types.Project, error) {
	dir := t.TempDir()
	root := repoRoot(t)
	copyTo := func(from, to string) {
		b, err := os.ReadFile(filepath.Join(root, from))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, to)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, to), b, 0o600))
	}
	copyTo(composeFile, composeFile)
	copyTo("deploy/paycycle.env.example", "deploy/paycycle.env")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotEnv), 0o600))
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, composeFile)},
		cli.WithWorkingDirectory(dir), cli.WithEnv(nil), cli.WithEnvFiles(), cli.WithDotEnv, cli.WithProfiles(profiles))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

func TestComposeNeedsTheDatabasePasswordFromTheEnvFile(t *testing.T) {
	_, err := loadCompose(t, "")
	require.ErrorContains(t, err, "POSTGRES_PASSWORD", "without .env the error names the missing variable")

	_, err = loadCompose(t, "POSTGRES_PASSWORD=s3cret-from-env-file\n")
	require.ErrorContains(t, err, "CONSOLE_DB_PASSWORD", "the console's database password is the env file's too")

	p, err := loadCompose(t, "POSTGRES_PASSWORD=s3cret-from-env-file\nCONSOLE_DB_PASSWORD=console-s3cret\n")
	require.NoError(t, err)
	// Each password reaches every service that needs it, from the env file only.
	for svc, name := range map[string]string{"postgresql": "POSTGRES_PASSWORD", "temporal-schema": "SQL_PASSWORD", "temporal": "POSTGRES_PWD", "console-db": "PGPASSWORD"} {
		v := p.Services[svc].Environment[name]
		require.NotNil(t, v, "%s has %s", svc, name)
		require.Equal(t, "s3cret-from-env-file", *v, "%s.%s comes from .env", svc, name)
	}
	for svc, name := range map[string]string{"console-db": "CONSOLE_DB_PASSWORD", "console": "PGPASSWORD", "worker": "PGPASSWORD"} {
		v := p.Services[svc].Environment[name]
		require.NotNil(t, v, "%s has %s", svc, name)
		require.Equal(t, "console-s3cret", *v, "%s.%s comes from .env", svc, name)
	}
	require.NotContains(t, *p.Services["console"].Environment["PAYCYCLE_READMODEL_DSN"], "s3cret", "the DSN holds no password")
	require.Equal(t, *p.Services["console"].Environment["PAYCYCLE_READMODEL_DSN"], *p.Services["worker"].Environment["PAYCYCLE_READMODEL_DSN"],
		"the worker's nightly projection check reads the console's database")
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), composeFile))
	require.NoError(t, err)
	require.NotContains(t, string(raw), "POSTGRES_PASSWORD: temporal", "no literal password in the compose file")
}

func TestComposeFile(t *testing.T) {
	p, err := loadCompose(t, testDotEnv, "emulator")
	require.NoError(t, err)
	server, ui := modVersion(t, "go.temporal.io/server"), modVersion(t, "github.com/temporalio/ui-server/v2")

	t.Run("images pinned to go.mod's Temporal versions, no auto-setup", func(t *testing.T) {
		want := map[string]string{
			"temporal":           "temporalio/server:" + server,
			"temporal-schema":    "temporalio/admin-tools:" + server,
			"temporal-namespace": "temporalio/admin-tools:" + server,
			"temporal-ui":        "temporalio/ui:" + ui,
		}
		for name, s := range p.Services {
			require.NotContains(t, s.Image, "auto-setup", name)
			require.NotContains(t, s.Image, ":latest", name)
			if w, ok := want[name]; ok {
				require.Equal(t, w, s.Image, name)
			}
			if s.Build == nil {
				require.Regexp(t, `:[0-9]`, s.Image, "%s: an image from a registry has a version tag", name)
			}
		}
	})

	t.Run("worker, edge, console and emulator built from deploy/Dockerfile", func(t *testing.T) {
		for name, cmd := range map[string]string{"worker": "worker", "edge": "edgeserver", "console": "consoleserver", "emulator": "emulator"} {
			s := p.Services[name]
			require.NotNil(t, s.Build, name)
			require.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile, name)
			require.Equal(t, cmd, *s.Build.Args["CMD"], name)
			require.DirExists(t, filepath.Join(repoRoot(t), cmd), "%s builds ./%s", name, cmd)
		}
		require.FileExists(t, filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	})

	t.Run("the emulator only under its profile", func(t *testing.T) {
		require.Equal(t, []string{"emulator"}, p.Services["emulator"].Profiles)
		plain, err := loadCompose(t, testDotEnv)
		require.NoError(t, err)
		require.NotContains(t, plain.ServiceNames(), "emulator")
		require.Contains(t, plain.ServiceNames(), "worker", "the worker's optional dependency on the emulator does not break a plain up")
	})

	t.Run("published ports on loopback only", func(t *testing.T) {
		for name, s := range p.Services {
			for _, port := range s.Ports {
				require.Equal(t, "127.0.0.1", port.HostIP, "%s publishes %d beyond loopback", name, port.Target)
			}
		}
	})

	t.Run("health checks and start order", func(t *testing.T) {
		for _, name := range []string{"postgresql", "temporal", "worker", "edge", "console", "emulator"} {
			hc := p.Services[name].HealthCheck
			require.NotNil(t, hc, "%s has a health check", name)
			require.False(t, hc.Disable, name)
			require.NotEmpty(t, hc.Test, name)
		}
		deps := map[string]map[string]string{
			"temporal-schema":    {"postgresql": types.ServiceConditionHealthy},
			"temporal":           {"temporal-schema": types.ServiceConditionCompletedSuccessfully},
			"temporal-namespace": {"temporal": types.ServiceConditionHealthy},
			"temporal-ui":        {"temporal": types.ServiceConditionHealthy},
			"worker":             {"temporal": types.ServiceConditionHealthy, "temporal-namespace": types.ServiceConditionCompletedSuccessfully},
			"edge":               {"temporal": types.ServiceConditionHealthy},
			"console-db":         {"postgresql": types.ServiceConditionHealthy},
			"console":            {"console-db": types.ServiceConditionCompletedSuccessfully},
		}
		for svc, want := range deps {
			for dep, cond := range want {
				d, ok := p.Services[svc].DependsOn[dep]
				require.True(t, ok, "%s depends on %s", svc, dep)
				require.Equal(t, cond, d.Condition, "%s on %s", svc, dep)
			}
		}
	})

	t.Run("our containers: non-root, read-only, graceful stop longer than the worker's", func(t *testing.T) {
		for _, name := range []string{"worker", "edge", "console", "emulator"} {
			s := p.Services[name]
			require.True(t, s.ReadOnly, name)
			require.NotEmpty(t, s.User, name)
			require.False(t, strings.HasPrefix(s.User, "0"), "%s runs as root", name)
			require.Contains(t, s.CapDrop, "ALL", name)
		}
		w := p.Services["worker"]
		stop := flagValue(t, w.Command, "-stop-timeout")
		d, err := time.ParseDuration(stop)
		require.NoError(t, err)
		require.NotNil(t, w.StopGracePeriod)
		require.Greater(t, time.Duration(*w.StopGracePeriod), d, "stop_grace_period must exceed -stop-timeout")
	})

	t.Run("secrets from an env file that is not committed, with an example that is", func(t *testing.T) {
		for _, name := range []string{"worker", "edge"} {
			s := p.Services[name]
			require.Len(t, s.EnvFiles, 1, name)
			require.Equal(t, "paycycle.env", filepath.Base(s.EnvFiles[0].Path), name)
			for _, k := range []string{"PORTONE_API_KEY", "PORTONE_API_SECRET", "PAYCYCLE_CODEC_KEYS"} {
				require.Contains(t, s.Environment, k, "%s gets %s from the env file", name, k)
			}
		}
		for _, f := range []string{".env", "deploy/paycycle.env"} {
			out, err := exec.Command("git", "-C", repoRoot(t), "check-ignore", "-q", f).CombinedOutput()
			require.NoError(t, err, "%s must be git-ignored: %s", f, out)
		}
		for _, f := range []string{".env.example", "deploy/paycycle.env.example"} {
			require.FileExists(t, filepath.Join(repoRoot(t), f))
		}
	})

	t.Run("the registration job registers exactly the project's search attributes", func(t *testing.T) {
		script := strings.Join(p.Services["temporal-namespace"].Command, "\n")
		got := regexp.MustCompile(`(\w+)=(Keyword|Int|Datetime|Bool|Double|Text|KeywordList)\b`).FindAllStringSubmatch(script, -1)
		var have, want []string
		for _, m := range got {
			have = append(have, m[1]+"="+m[2])
		}
		for _, sa := range billing.SearchAttributes {
			want = append(want, sa.Name+"="+sa.Type)
		}
		sort.Strings(have)
		sort.Strings(want)
		require.Equal(t, want, have)
	})

	t.Run("the schema job upgrades both databases with the embedded schema", func(t *testing.T) {
		script := strings.Join(p.Services["temporal-schema"].Command, "\n")
		for _, s := range []string{"create-database", "setup-schema -v 0.0", "update-schema --schema-name", "temporal:temporal", "visibility:temporal_visibility"} {
			require.Contains(t, script, s)
		}
	})
}

// flagValue returns the argument after name in args.
func flagValue(t *testing.T, args []string, name string) string {
	i := slices.Index(args, name)
	require.GreaterOrEqual(t, i, 0, "%s in %v", name, args)
	require.Less(t, i+1, len(args), "%s has a value", name)
	return args[i+1]
}
