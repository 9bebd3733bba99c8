//go:build !linux

package cluster

import "syscall"

// dieWithParent has no portable equivalent outside Linux; Stop and Kill still clean up.
func dieWithParent(*syscall.SysProcAttr) {}
