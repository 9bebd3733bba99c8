// Package cluster runs a production-shaped Temporal cluster on this machine, for tests and for
// people who want one without Docker: a private PostgreSQL 15 instance (Debian's binaries, a temp
// dir, a loopback port, no system service), the Temporal schema created and upgraded by
// Temporal's own SQL tool, and the Temporal server as its own process on that database.
//
// It drives binaries (initdb, postgres, temporal-sql-tool, temporal-server) rather than linking the
// server, so that what is tested is what a platform team runs, and so that killing or restarting
// a piece is a real process event. Every child gets SIGKILL when the test process dies (Linux), so an
// interrupted run leaves nothing behind.
package cluster
