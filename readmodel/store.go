package readmodel

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	// The two drivers: PostgreSQL for production, pure-Go SQLite (no cgo) for make run and tests.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// dialect is what differs between the two databases.
type dialect int

const (
	sqlite dialect = iota + 1
	postgres
)

func (d dialect) String() string {
	if d == postgres {
		return "postgres"
	}
	return "sqlite"
}

//go:embed migrations
var migrations embed.FS

// Store is the projection's database. Its methods are safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect
	// now is the clock of applied_at and lag (tests set it).
	now func() time.Time
	// prepared are hotStatements, prepared by Open, by their text before rewriting (s.q).
	prepared map[string]*sql.Stmt
}

// Open connects to the database named by dsn and brings its schema up to date. dsn is
// "sqlite:<path>" (the file is created; SQLite options may follow as a query string) or a
// PostgreSQL URL "postgres://user:pass@host:port/db?…". The password never appears in errors.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		s   = &Store{now: time.Now}
		err error
	)
	if s.dialect, err = dialectOf(dsn); err != nil {
		return nil, err
	}
	if s.dialect == sqlite {
		s.db, err = sql.Open("sqlite", sqliteDSN(strings.TrimPrefix(dsn, "sqlite:")))
	} else {
		s.db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("readmodel: open %s: %w", s.dialect, err)
	}
	if s.dialect == sqlite {
		// WAL lets readers go on beside the one writer; every transaction begins IMMEDIATE (see
		// sqliteDSN) so that two writers queue on the busy timeout instead of deadlocking.
		s.db.SetMaxOpenConns(4)
	}
	if err := s.db.PingContext(ctx); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("readmodel: connect to %s: %s", s.dialect, redact(err.Error(), dsn))
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	// Prepared here, before any transaction holds a connection: preparing on the pool from
	// inside a transaction could wait for ever for a connection the other transactions hold.
	s.prepared = map[string]*sql.Stmt{}
	for _, q := range hotStatements {
		st, err := s.db.PrepareContext(ctx, s.q(q))
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("readmodel: prepare: %w", err)
		}
		s.prepared[q] = st
	}
	return s, nil
}

// CheckDSN says whether dsn names a database Open accepts ("sqlite:<path>" or
// "postgres://…"), without connecting: a binary refuses a malformed setting at start.
func CheckDSN(dsn string) error {
	_, err := dialectOf(dsn)
	return err
}

func dialectOf(dsn string) (dialect, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		if p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "sqlite:"), "?"); p == "" || strings.Contains(p, ":memory:") {
			// Each pooled connection would open a database of its own.
			return 0, errors.New(`readmodel: "sqlite:" needs a file path (an in-memory database is not shared between connections; tests use a temp dir)`)
		}
		return sqlite, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return 0, errors.New(`readmodel: the PostgreSQL URL does not parse (check its escaping; the URL is not shown, it may hold a password)`)
		}
		return postgres, nil
	}
	return 0, errors.New(`readmodel: the database must be "sqlite:<path>" or "postgres://…"`)
}

// exec runs a statement in tx (or on the pool), prepared when it is one of hotStatements.
func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, s.q(query), args...)
}

// queryRow is exec for a query of one row.
func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, s.q(query), args...)
}

// stmt is query's prepared statement bound to q (a transaction re-prepares it once on its own
// connection, and database/sql keeps that), or nil.
func (s *Store) stmt(ctx context.Context, q querier, query string) *sql.Stmt {
	st := s.prepared[query]
	if st == nil {
		return nil
	}
	if tx, ok := q.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st)
	}
	return st
}

// sqliteDSN adds the pragmas the projection needs to a SQLite path: WAL (readers never wait for
// the writer), a busy timeout, foreign keys off (none are used) and synchronous NORMAL (WAL keeps
// it durable across a process crash).
func sqliteDSN(p string) string {
	base, query, _ := strings.Cut(p, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		q = url.Values{}
	}
	for _, pr := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
		if !slices.Contains(q["_pragma"], pr) {
			q.Add("_pragma", pr)
		}
	}
	q.Set("_txlock", "immediate")
	return "file:" + base + "?" + q.Encode()
}

// redact removes the DSN's password from a driver message.
func redact(msg, dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "***")
		}
	}
	return msg
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.prepared {
		_ = st.Close()
	}
	return s.db.Close()
}

// SetClock sets the clock of applied_at and lag measurements (tests; nil: time.Now).
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.now = now
}

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the dialect's numbered files (0001_name.sql, …) in order; numbers must
// run from 1 without gaps, so that a missing file is an error, not a skipped step.
func loadMigrations(d dialect) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("readmodel: migration file %s is not NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("readmodel: migrations of %s must be numbered from 1 without gaps; %s is number %d", d, m.name, i+1)
		}
	}
	return out, nil
}

// migrate applies the migrations not applied yet, each in its own transaction together with its
// schema_version row, so that a crash leaves the schema at a known version. Running it again
// changes nothing; a database from a newer binary (a version this one does not know) is refused.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("readmodel: create schema_version: %w", err)
	}
	if s.dialect == postgres {
		// Two processes opening a fresh database at once must not both migrate it.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7212023)`); err != nil {
			return fmt.Errorf("readmodel: lock for migrations: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7212023)`) }()
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("readmodel: the database is at schema version %d, newer than this binary's %d", current, len(ms))
	}
	for _, m := range ms[current:] {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for _, stmt := range splitSQL(m.sql) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`), m.version, m.name, s.now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("readmodel: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion is the number of the latest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("readmodel: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// splitSQL splits a migration into statements at semicolons ending a line (the files keep one
// statement per semicolon-terminated block and no semicolon inside a literal).
func splitSQL(src string) []string {
	var out []string
	for stmt := range strings.SplitSeq(src, ";\n") {
		var lines []string
		for l := range strings.SplitSeq(stmt, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if st := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"); st != "" {
			out = append(out, st)
		}
	}
	return out
}

// q rewrites a query's ? placeholders for the dialect (PostgreSQL numbers them).
func (s *Store) q(query string) string {
	if s.dialect != postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
