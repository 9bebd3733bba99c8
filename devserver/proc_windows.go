//go:build windows

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// childSysProcAttr has nothing to add on Windows.
func childSysProcAttr() *syscall.SysProcAttr { return nil }

// spawn starts cmd.
func spawn(cmd *exec.Cmd) error { return cmd.Start() }

// signalGroup cannot deliver SIGTERM on Windows: every stop is a kill.
func signalGroup(p *os.Process, _ syscall.Signal) { _ = p.Kill() }

// dataDirInUse cannot tell on Windows; the port checks catch a running devserver.
func dataDirInUse(string) bool { return false }
