package cluster

import "syscall"

// dieWithParent makes the child get SIGKILL when the process that started it dies, so an
// interrupted test (Ctrl-C, a timeout) leaves no PostgreSQL or Temporal server behind. (The
// kernel ties it to the thread that forked, and Go keeps its threads unless a goroutine exits
// while locked to one: golang/go#27505.)
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
