package cluster

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	// The driver CreateDatabase speaks to the server with (the read model's production driver).
	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvPostgresBin names a directory holding initdb and postgres, for machines where PostgreSQL
// 15 is not where Debian puts it.
const EnvPostgresBin = "PAYCYCLE_PG_BIN"

// postgresBinDirs are searched in order for initdb and postgres.
var postgresBinDirs = []string{"/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"}

// Postgres is a private PostgreSQL instance: its own data directory, a loopback port, password
// (SCRAM) authentication, stopped and deleted by Stop.
type Postgres struct {
	// Host and Port are where it listens (always loopback).
	Host string
	Port int
	// User is the superuser Temporal connects as; Password is random.
	User, Password string
	dir, bin       string
	cred           *syscall.Credential
	proc           *Process
}

// Addr is host:port.
func (p *Postgres) Addr() string { return p.Host + ":" + itoa(p.Port) }

// FindPostgresBin returns the directory holding initdb and postgres, or an error saying where it
// looked and how to install them.
func FindPostgresBin() (string, error) {
	dirs := postgresBinDirs
	if d := os.Getenv(EnvPostgresBin); d != "" {
		dirs = []string{d}
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("initdb and postgres not found in %v (apt-get install postgresql-15, or set %s)", dirs, EnvPostgresBin)
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// StartPostgres creates a database cluster in a new temp dir and starts it on a free loopback
// port. PostgreSQL refuses to run as root, so under root it runs as the "postgres" user that
// Debian's package creates.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, err := FindPostgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "paycycle-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Host: "127.0.0.1", User: "temporal", dir: dir, bin: bin}
	if err := p.start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start(ctx context.Context) error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(p.dir, uid, gid); err != nil {
			return err
		}
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	p.Password = hex.EncodeToString(b)
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return err
	}
	if p.cred != nil {
		if err := os.Chown(pwfile, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return err
		}
	}
	if out, err := p.run(ctx, "initdb", "-D", p.dataDir(), "-U", p.User, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "-E", "UTF8", "--no-locale"); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	_ = os.Remove(pwfile)
	port, err := FreePort()
	if err != nil {
		return err
	}
	p.Port = port
	// The postgres server itself as our child (not daemonized by pg_ctl), so it dies with us.
	// Only loopback TCP and a socket in our own dir: nothing is shared with a system instance.
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.dataDir(),
		"-c", "listen_addresses="+p.Host, "-p", itoa(p.Port), "-k", p.dir, "-c", "max_connections=200")
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	proc, err := StartProcess("postgres", cmd, p.LogFile())
	if err != nil {
		return err
	}
	p.proc = proc
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitTCP(wctx, p.Addr()); err != nil {
		proc.Kill()
		return fmt.Errorf("postgres: %w\n%s", err, tail(proc.Output(), 2000))
	}
	if err := p.waitReady(wctx); err != nil {
		proc.Kill()
		return fmt.Errorf("postgres: %w\n%s", err, tail(proc.Output(), 2000))
	}
	return nil
}

// waitReady waits until the server accepts a session: it listens a moment before it has
// finished starting, and a connection then is refused with "the database system is starting
// up" (SQLSTATE 57P03).
func (p *Postgres) waitReady(ctx context.Context) error {
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
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
	defer db.Close()
	if _, err := db.ExecContext(ctx, strings.Join(append([]string{"CREATE DATABASE", name}, with...), " ")); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return p.DSN(name), nil
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }

// LogFile is PostgreSQL's server log.
func (p *Postgres) LogFile() string { return filepath.Join(p.dir, "postgres.log") }

func (p *Postgres) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd.CombinedOutput()
}

// Stop stops the server (fast shutdown: SIGINT) and deletes its directory.
func (p *Postgres) Stop() error {
	err := p.proc.StopWith(syscall.SIGINT, 60*time.Second)
	if rmErr := os.RemoveAll(p.dir); err == nil {
		err = rmErr
	}
	return err
}

// errNoTool is returned when a Temporal binary is missing.
var errNoTool = errors.New("binary not found")
