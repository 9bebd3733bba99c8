package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a child process whose output goes to a log file and is kept in memory for
// waiting on log lines.
type Process struct {
	// Name labels the process in errors.
	Name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

// lockedBuffer is written by exec's copying goroutines while callers read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartProcess starts cmd, copying its stdout and stderr to logFile (appended, so a restarted
// process keeps one log) and to memory.
func StartProcess(name string, cmd *exec.Cmd, logFile string) (*Process, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	w := io.MultiWriter(f, p.out)
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group, so that a test's Ctrl-C does not reach it before the test's own
	// cleanup does, and so that Kill reaches nothing else.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// Output returns everything the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// WaitFor polls until cond holds, the process exits, or timeout passes.
func (p *Process) WaitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited (%v) while waiting for %s; output:\n%s", p.Name, p.err, what, tail(p.Output(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: timed out after %s waiting for %s; output:\n%s", p.Name, timeout, what, tail(p.Output(), 4000))
}

// Kill sends SIGKILL, the crash a deploy or an OOM kill inflicts, and waits for the exit.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to grace before killing. It returns the exit error of a
// process that did not exit cleanly.
func (p *Process) Stop(grace time.Duration) error { return p.StopWith(syscall.SIGTERM, grace) }

// StopWith is Stop with another signal (PostgreSQL's fast shutdown is SIGINT).
func (p *Process) StopWith(sig syscall.Signal, grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.Name, grace)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return fmt.Errorf("%s: %w", p.Name, p.err)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// FreePort returns a loopback TCP port that was free a moment ago. It is for the programs
// that cannot listen on port 0 and report the port (the Temporal server wants its ports in its
// configuration file); everything that can, listens on port 0.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// maxMembershipPort is the largest port Temporal can record for a cluster member on
// PostgreSQL: its cluster_membership.rpc_port column is a SMALLINT, so a member on a port above
// 32767 fails its first heartbeat ("value out of range for type smallint") and the server
// exits. Linux hands out ephemeral ports from 32768 up, so port 0 can never work here.
const maxMembershipPort = 32767

// FreeLowPort returns a free loopback TCP port in [10000, 32767], for the Temporal server's
// ports (see maxMembershipPort). It tries random ports, a bounded number of times.
func FreeLowPort() (int, error) {
	for range 200 {
		n, err := rand.Int(rand.Reader, big.NewInt(maxMembershipPort-10000+1))
		if err != nil {
			return 0, err
		}
		port := 10000 + int(n.Int64())
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return port, nil
	}
	return 0, errors.New("no free loopback port in [10000, 32767] after 200 tries")
}

// waitTCP polls until addr accepts connections or ctx ends.
func waitTCP(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never accepted connections: %w", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
