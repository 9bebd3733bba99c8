// Package localtemporal runs a real Temporal server and its Web UI inside the calling process,
// backed by a SQLite file, for local development, demos and end-to-end tests.
//
// Why in-process: the machines this project runs on have no container engine, and a developer's
// "one command runs it all" (devserver) should not need a separately installed Temporal CLI.
// The server is the upstream one (go.temporal.io/server/temporal), not a fake, so what works here
// works against a cluster: timers survive restarts, search attributes must be registered, the
// Web UI is the real one (github.com/temporalio/ui-server/v2).
//
// What Start sets up:
//
//   - SQLite persistence in <DataDir>/temporal.db (WAL journal, synchronous=NORMAL, busy timeout
//     5 s; one history shard). Everything survives a restart on the same DataDir.
//   - The namespace (default "default") if missing, with a 72 h retention for closed workflows
//     unless Options.Retention says otherwise; an existing namespace keeps its data and gets its
//     retention updated to the configured value.
//   - The project's search attributes (billing.SearchAttributes) if missing: a new namespace is
//     created with them; missing ones on an existing namespace are added through the operator
//     service. An attribute registered with another type is an error (the type cannot change;
//     reset the data dir).
//   - The frontend on a fixed loopback address (default 127.0.0.1:7233). The history, matching
//     and worker services take free loopback ports; no address other than loopback is accepted.
//   - The Web UI (default http://127.0.0.1:8233) with "Start Workflow" enabled and an optional
//     codec endpoint, unless Options.DisableUI.
//   - Server logs in <DataDir>/temporal.log (level Options.LogLevel), never on the terminal.
//
// One process at a time may use a DataDir (a lock file guards it). A port that is already taken
// fails Start at once with a *PortInUseError naming the port.
//
// Importing this package pulls in the Temporal server (about 400 packages): the first build
// takes minutes. Only devserver and end-to-end tests should import it.
package localtemporal
