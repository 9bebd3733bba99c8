//go:build unix

package localtemporal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFileName is the lock file inside the data dir; it holds the owner's process ID.
const LockFileName = "temporal.lock"

// dirLock is an advisory lock (flock) on the data dir, so two servers never share one SQLite
// file: both would claim the single history shard and fail in confusing ways. The kernel drops
// the lock when the process dies, so a crash never leaves a stale lock behind.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localtemporal: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				owner = fmt.Sprintf("process %d", pid)
				if pid == os.Getpid() {
					owner = "this process (a Server that was not stopped)"
				}
			}
		}
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("localtemporal: data dir %s is in use by %s; stop it first or use another data dir", dir, owner)
		}
		return nil, fmt.Errorf("localtemporal: lock data dir %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) release() error {
	_ = l.f.Truncate(0)
	// Closing the descriptor releases the flock.
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("localtemporal: release data dir lock: %w", err)
	}
	return nil
}
