// Command starter is the billing team's and operators' CLI for paycycle subscriptions: it starts
// subscription workflows, sends them their messages (cancel, pause, resume, plan change, billing
// key replacement, charge now) as updates or signals, shows their state and lists them by search
// attribute. See README.md in this directory for the command reference.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C cancels the request in flight instead of killing the process mid-print.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
