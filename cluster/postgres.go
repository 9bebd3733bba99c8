package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	if err := p.waitAccepting(wctx); err != nil {
		proc.Kill()
		return fmt.Errorf("postgres: %w\n%s", err, tail(proc.Output(), 2000))
	}
	return nil
}

// waitAccepting waits until the server accepts connections. An open port is not enough: while
// it starts up PostgreSQL listens and refuses every session with 57P03 ("the database system
// is starting up"), which a loaded CI machine turned into a failed first connection.
func (p *Postgres) waitAccepting(ctx context.Context) error {
	for {
		out, err := p.run(ctx, "pg_isready", "-h", p.Host, "-p", itoa(p.Port), "-U", p.User, "-t", "2")
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never accepted connections: %s (%w)", p.Addr(), strings.TrimSpace(string(out)), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
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
