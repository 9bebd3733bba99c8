//go:build linux

package main

import (
	"os/exec"
	"runtime"
	"syscall"
)

// childSysProcAttr puts each child in its own process group, so the terminal's Ctrl-C reaches
// only devserver, which then stops the children in order; and asks the kernel to send the child
// SIGTERM if devserver dies without stopping it (kill -9, a crash), so no orphan keeps a port.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// spawnReq is one exec.Cmd to start on the spawner's thread.
type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var spawnCh = make(chan spawnReq)

func init() {
	// Pdeathsig fires when the *thread* that forked the child exits, not the process. Go may end
	// threads, so every child is forked from one goroutine locked to its thread for the life of
	// the process.
	go func() {
		runtime.LockOSThread()
		for req := range spawnCh {
			req.done <- req.cmd.Start()
		}
	}()
}

// spawn starts cmd from the locked spawner thread.
func spawn(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	spawnCh <- spawnReq{cmd: cmd, done: done}
	return <-done
}
