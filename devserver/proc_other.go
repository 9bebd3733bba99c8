//go:build unix && !linux

package main

import (
	"os/exec"
	"syscall"
)

// childSysProcAttr puts each child in its own process group, so the terminal's Ctrl-C reaches
// only devserver, which then stops the children in order. (Linux also gets a parent-death signal.)
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// spawn starts cmd.
func spawn(cmd *exec.Cmd) error { return cmd.Start() }
