package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	// The driver CreateDatabase speaks to the server with (the read model's production driver).
	_ "github.com/jackc/pgx/v5/stdlib"
)

// DSN is the PostgreSQL URL of database on this server as its superuser (no TLS: loopback
// only), the form readmodel.Open and pgx take.
func (p *Postgres) DSN(database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(p.User, p.Password), Host: p.Addr(), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// dbName is what CreateDatabase accepts: a plain lower-case identifier, so that it needs no
// quoting in CREATE DATABASE.
var dbName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates an empty database on this server (a test's own, beside Temporal's)
// and returns its DSN. with, when given, is the rest of the statement (the test's own text, e.g.
// "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'" for a production-like collation:
// the server itself is initialised without a locale).
func (p *Postgres) CreateDatabase(ctx context.Context, name string, with ...string) (string, error) {
	if !dbName.MatchString(name) {
		return "", fmt.Errorf("database name %q: want lower-case letters, digits and _ (at most 63)", name)
	}
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }() // a pool of one short-lived session: nothing to do about a failed close
	if err := waitSession(ctx, db); err != nil {
		return "", err
	}
	if _, err := db.ExecContext(ctx, strings.Join(append([]string{"CREATE DATABASE", name}, with...), " ")); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return p.DSN(name), nil
}

// waitSession waits, for at most a minute, until the server accepts a session: it listens a
// moment before it has finished starting, and a connection then is refused with "the database
// system is starting up" (SQLSTATE 57P03; the console's PostgreSQL test met it).
func waitSession(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not accepting sessions: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
