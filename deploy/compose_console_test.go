package deploy_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/readmodel"
)

// TestComposeConsoleDatabaseJob runs the compose file's console-db job, as compose-go resolves
// it, against a real PostgreSQL 15 on loopback (its psql and sh, not Docker): twice, since it
// runs on every `up`. Then the console's own DSN and password, as compose hands them over, open
// the read model (migrating it), and the role it logs in as is no superuser.
func TestComposeConsoleDatabaseJob(t *testing.T) {
	testgate.Slow(t, "starts PostgreSQL 15")
	bin, err := cluster.FindPostgresBin()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := cluster.StartPostgres(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, pg.Stop()) }()

	const consolePassword = "5f0c2b6e9a71d3c4b8e2f6a0"
	p, err := loadCompose(t, "POSTGRES_PASSWORD="+pg.Password+"\nCONSOLE_DB_PASSWORD="+consolePassword+"\n")
	require.NoError(t, err)
	job := p.Services["console-db"]
	require.Equal(t, []string{"/bin/sh", "-ec"}, []string(job.Entrypoint))
	require.Len(t, job.Command, 1)
	script := job.Command[0]
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "PGPORT=" + strconv.Itoa(pg.Port), "PGCONNECT_TIMEOUT=10"}
	for k, v := range job.Environment {
		require.NotNil(t, v, k)
		if k == "PGHOST" {
			require.Equal(t, "postgresql", *v, "the job reaches the compose service")
			*v = pg.Host
		}
		if k == "PGUSER" {
			*v = pg.User // the test server's superuser stands for the image's POSTGRES_USER
		}
		env = append(env, k+"="+*v)
	}
	for run := range 2 {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-ec", script)
		cmd.Env, cmd.Dir = env, t.TempDir()
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "run %d of the job:\n%s", run+1, out)
	}

	c := p.Services["console"]
	dsn := *c.Environment["PAYCYCLE_READMODEL_DSN"]
	require.Contains(t, dsn, "@postgresql:5432/")
	dsn = strings.Replace(dsn, "@postgresql:5432/", "@"+pg.Addr()+"/", 1)
	t.Setenv("PGPASSWORD", *c.Environment["PGPASSWORD"])
	s, err := readmodel.Open(ctx, dsn)
	require.NoError(t, err, "the console opens its database as compose configures it")
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Positive(t, v)
	require.NoError(t, s.Close())

	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var super, createDB bool
	require.NoError(t, db.QueryRowContext(ctx, `SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createDB))
	require.False(t, super || createDB, "the console's role is no superuser and creates no databases")
}
