package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/temporalconn"
)

// Exit codes. Scripts branch on them, so they are part of the CLI's contract (README).
const (
	exitOK = 0
	// exitFailure: Temporal unreachable, a timeout, or anything unexpected.
	exitFailure = 1
	// exitRefused: malformed flags or input, or a request the subscription refused (the
	// workflow's validator said no, the subscription has ended or is already running).
	exitRefused = 2
	// exitNotFound: no such subscription.
	exitNotFound = 3
)

// cliError carries the exit code with the message, so every command reports errors the same way
// and main exits once.
type cliError struct {
	code int
	msg  string
}

// Error returns the message printed to stderr.
func (e *cliError) Error() string { return e.msg }

func refused(format string, args ...any) error {
	return &cliError{code: exitRefused, msg: fmt.Sprintf(format, args...)}
}

func failed(format string, args ...any) error {
	return &cliError{code: exitFailure, msg: fmt.Sprintf(format, args...)}
}

// app is one invocation of the CLI: its streams, its clock and the settings shared by every
// command. Tests build one with their own streams and drive it through run.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time

	cmd     *command
	tc      temporalconn.Config
	timeout time.Duration
	// lookup reads the environment (os.LookupEnv; a map in tests); env collects the variables
	// that did not parse, reported after the flags.
	lookup config.Lookup
	env    *config.Set
	// output is -o: "table" (for people) or "json" (for scripts), as the temporal CLI spells it.
	output string
}

// command is one subcommand. setup registers its flags and returns the function that runs it
// once the flags are parsed.
type command struct {
	name     string
	summary  string
	usage    string
	about    string
	examples []string
	setup    func(fs *flag.FlagSet, a *app) func(ctx context.Context) error
}

// commands lists the subcommands in the order "starter help" shows them.
func commands() []*command {
	return []*command{
		startCommand(), showCommand(), listCommand(),
		cancelCommand(), undoCancelCommand(), pauseCommand(), resumeCommand(),
		changeCommand(), replaceKeyCommand(), retryCommand(), consentCommand(), endTrialCommand(),
		exampleInputCommand(),
		linkCommand(),
		reconcileCommand(), reconcileShowCommand(), reconcileScheduleCommand(), // reconcile.go
		eventsCommand(), eventsRedeliverCommand(), webhookSecretCommand(), // events.go
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole CLI minus the process: it parses args, runs one command and returns the exit
// code. Errors are printed to stderr once, here.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdin: os.Stdin, stdout: stdout, stderr: stderr, now: time.Now, lookup: os.LookupEnv}
	return a.run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	err := a.dispatch(ctx, args)
	if err == nil {
		return exitOK
	}
	prefix := "starter"
	if a.cmd != nil {
		prefix += " " + a.cmd.name
	}
	fmt.Fprintf(a.stderr, "%s: %v\n", prefix, err)
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitFailure
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		a.printOverview(a.stderr)
		return refused("no command given; run 'starter help'")
	}
	name := args[0]
	switch name {
	case "version", "-version", "--version":
		fmt.Fprintln(a.stdout, versionString())
		return nil
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			topic, _ := subcommandName(args[1:]) // "help reconcile show" is the help of "reconcile show"
			c := findCommand(topic)
			if c == nil {
				return refused("unknown command %q; run 'starter help' for the list", topic)
			}
			fs := a.newFlagSet(c)
			c.setup(fs, a)
			a.printUsage(a.stdout, c, fs)
			return nil
		}
		a.printOverview(a.stdout)
		return nil
	}
	name, args = subcommandName(args)
	c := findCommand(name)
	if c == nil {
		return refused("unknown command %q; run 'starter help' for the list", name)
	}
	a.cmd = c
	fs := a.newFlagSet(c)
	runCmd := c.setup(fs, a)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printUsage(a.stdout, c, fs)
			return nil
		}
		return refused("%v\nRun 'starter %s -h' for usage.", err, c.name)
	}
	if fs.NArg() > 0 {
		hint := ""
		if fs.Lookup("id") != nil {
			hint = fmt.Sprintf(" (did you mean -id %s?)", fs.Arg(0))
		}
		return refused("unexpected argument %q%s; flags come as -name value. Run 'starter %s -h' for usage.", fs.Arg(0), hint, c.name)
	}
	if err := a.env.Err(); err != nil {
		return refused("%v", err)
	}
	switch a.output {
	case "table":
	case "json":
		if fs.Lookup("json") == nil {
			return refused("-o json: 'starter %s' has no JSON output", c.name)
		}
		_ = fs.Set("json", "true")
	default:
		return refused("-o %q: want table or json", a.output)
	}
	if a.timeout <= 0 {
		return refused("-timeout must be positive, got %s", a.timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return runCmd(ctx)
}

// newFlagSet makes a command's flag set with the settings every command shares. Parse errors are
// reported by dispatch (one line and a pointer to -h) instead of the flag package's full dump.
func (a *app) newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.env = config.New(fs, a.lookup)
	a.tc.Register(a.env)
	a.env.Duration(&a.timeout, "timeout", "STARTER_TIMEOUT", 30*time.Second, "give up after this long (dialing, and waiting for the workflow's answer)")
	fs.StringVar(&a.output, "o", "table", "output format: table or json (as the temporal CLI's -o; -json is the same as -o json)")
	fs.StringVar(&a.output, "output", "table", "same as -o")
	return fs
}

func (a *app) printOverview(w io.Writer) {
	fmt.Fprint(w, `starter: start, inspect and change paycycle subscriptions (one Temporal workflow each).

Usage: starter <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `  help          this overview; 'starter help <command>' or 'starter <command> -h' for details

Every command takes -temporal-address (env TEMPORAL_ADDRESS, default 127.0.0.1:7233) and
-namespace (env TEMPORAL_NAMESPACE, default "default"); payload encryption keys come from
PAYCYCLE_CODEC_KEYS and must match the worker's.

Examples:
  starter start -id sub-1001 -customer cust-1001 -plan-name "Pro monthly" -amount 9900 -interval "1 month"
  starter show -id sub-1001
  starter list -status past_due
  starter cancel -id sub-1001 -reason "customer asked by phone"

Exit codes: 0 ok, 1 Temporal unreachable or unexpected failure, 2 bad flags/input or request
refused by the subscription, 3 no such subscription.
`)
}

func (a *app) printUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.usage, strings.TrimSpace(c.about))
	if len(c.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, e := range c.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	fmt.Fprint(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// dialTimeout bounds connecting, separately from -timeout, so that an unreachable server is
// reported quickly instead of after the full wait for a workflow's answer.
const dialTimeout = 10 * time.Second

// dial connects to Temporal. The SDK logs only warnings, to stderr, so that stdout stays
// parseable (-json) and a person sees only what the command prints.
func (a *app) dial(ctx context.Context) (client.Client, error) {
	if a.tc.Identity == "" {
		host, _ := os.Hostname()
		user := os.Getenv("USER")
		if user == "" {
			user = "unknown"
		}
		// The identity is recorded in the workflow history next to every signal and update, so
		// operators can later see who changed a subscription from where.
		a.tc.Identity = fmt.Sprintf("paycycle-starter %s@%s", user, host)
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	dctx, cancel := context.WithTimeout(ctx, min(dialTimeout, a.timeout))
	defer cancel()
	c, err := a.tc.Dial(dctx, logger)
	if err != nil {
		// Configuration errors say what to fix themselves; only a plain connection failure
		// gets the "is the server running" hint.
		var keyErr *temporalconn.CodecKeyError
		var tlsErr *temporalconn.TLSError
		var certErr *temporalconn.ClientCertExpiredError
		if errors.As(err, &keyErr) || errors.As(err, &tlsErr) || errors.As(err, &certErr) {
			return nil, failed("%v", err)
		}
		return nil, failed("cannot reach Temporal at %s (namespace %q): %v\nIs the server running? Set -temporal-address or TEMPORAL_ADDRESS.",
			a.tc.Address, a.tc.Namespace, rootCause(err))
	}
	return c, nil
}

// rootCause drops the wrapping layers of gRPC errors, which repeat the address several times.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
