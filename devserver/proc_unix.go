//go:build unix

package main

import (
	"os"
	"syscall"
)

// signalGroup signals the child's whole process group (the child leads its own group), so that a
// child started through a wrapper (a shell, go run) stops with everything it started.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}

// dataDirInUse reports whether a running server holds the data dir's lock (see localtemporal).
func dataDirInUse(lockPath string) bool {
	f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
