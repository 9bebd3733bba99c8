package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paycycle/paycycle/internal/nofollow"
)

// child is one supervised process (emulator, edgeserver, worker): started once, never restarted,
// its output in its own log file, its readiness judged by an HTTP health endpoint.
type child struct {
	name      string
	path      string   // binary
	args      []string // flags
	env       []string // KEY=value added to (and overriding) devserver's environment
	healthURL string
	logPath   string

	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed when the process has exited
	waitErr error         // the exit status, valid after exited is closed
}

// errNotStarted is a child's exit state before it ran.
var errNotStarted = errors.New("not started")

// start rotates the previous run's log to <name>.log.prev, opens a fresh log and starts the
// process. With a non-nil echo, output is also copied there line by line, prefixed with the name.
func (c *child) start(echo *lineEcho, exits chan<- *child) error {
	if err := os.MkdirAll(filepath.Dir(c.logPath), 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(c.logPath); err == nil {
		_ = os.Rename(c.logPath, c.logPath+".prev")
	}
	f, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", c.name, err)
	}
	c.logFile = f
	fmt.Fprintf(f, "---- devserver %s: %s %s\n", time.Now().Format(time.RFC3339), c.path, strings.Join(c.args, " "))

	cmd := exec.Command(c.path, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = nil
	var echoW *prefixWriter
	if echo != nil {
		echoW = echo.writer(c.name)
		w := io.MultiWriter(f, echoW)
		cmd.Stdout, cmd.Stderr = w, w
		// A grandchild that keeps the pipe open must not hold up Wait forever.
		cmd.WaitDelay = 2 * time.Second
	} else {
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = childSysProcAttr()
	c.cmd = cmd
	c.exited = make(chan struct{})
	if err := spawn(cmd); err != nil {
		close(c.exited)
		c.waitErr = errNotStarted
		_ = f.Close()
		return fmt.Errorf("start %s (%s): %w", c.name, c.path, err)
	}
	go func() {
		err := cmd.Wait()
		if echoW != nil {
			echoW.flush() // a last line without a newline
		}
		c.waitErr = err
		_ = f.Close()
		close(c.exited)
		exits <- c
	}()
	return nil
}

// exitDescription is "exit status 3", "killed by signal: killed", ...
func (c *child) exitDescription() string {
	if c.waitErr == nil {
		return "exit status 0"
	}
	return c.waitErr.Error()
}

// waitReady polls the health URL until it answers 200, the process exits, ctx ends, or timeout.
func (c *child) waitReady(parent context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	hc := nofollow.Client(time.Second) // a redirect is "not ready", not someone else's 200
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.healthURL, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err != nil {
			last = err
		} else {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited before it was ready (%s); see its log %s%s",
				c.name, c.exitDescription(), c.logPath, c.logTail())
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%s was not ready within %s (GET %s: %v); see its log %s%s",
				c.name, timeout, c.healthURL, last, c.logPath, c.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the child to end (SIGTERM to its process group), waits up to grace, then kills it.
func (c *child) stop(grace time.Duration) {
	if c.cmd == nil || c.exited == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	signalGroup(c.cmd.Process, syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(grace):
	}
	fmt.Fprintf(c.logFileOrDiscard(), "---- devserver: %s did not stop within %s of SIGTERM; sending SIGKILL\n", c.name, grace)
	signalGroup(c.cmd.Process, syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
	}
}

func (c *child) logFileOrDiscard() io.Writer {
	// The log file is closed by the wait goroutine; writing after that fails harmlessly.
	if c.logFile == nil {
		return io.Discard
	}
	return c.logFile
}

// logTail returns the last lines of this run's log, indented, for error messages: the reason a
// child failed is usually on its last line.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "; last lines:\n    " + strings.Join(lines, "\n    ")
}

// lineEcho copies children's output to the terminal, one whole line at a time, each prefixed with
// the child's name, so that lines of different children never interleave mid-line.
type lineEcho struct {
	mu  sync.Mutex
	out io.Writer
}

func (e *lineEcho) writer(name string) *prefixWriter {
	return &prefixWriter{echo: e, prefix: fmt.Sprintf("[%s] ", name)}
}

type prefixWriter struct {
	echo   *lineEcho
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.echo.mu.Lock()
		_, _ = fmt.Fprintf(p.echo.out, "%s%s\n", p.prefix, p.buf[:i])
		p.echo.mu.Unlock()
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 64<<10 { // a very long line without newline: flush it anyway
		p.flush()
	}
	return len(b), nil
}

// flush prints what is buffered as a line. Write and flush are never concurrent: exec copies a
// child's output from one goroutine and flush runs after Wait.
func (p *prefixWriter) flush() {
	if len(p.buf) == 0 {
		return
	}
	p.echo.mu.Lock()
	_, _ = fmt.Fprintf(p.echo.out, "%s%s\n", p.prefix, p.buf)
	p.echo.mu.Unlock()
	p.buf = p.buf[:0]
}
