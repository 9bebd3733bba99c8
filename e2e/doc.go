// Package e2e holds end-to-end tests: a real Temporal server in-process (temporaltest, or the
// file-backed localtemporal for restarts), the real workflow and activity code (in-process, or
// the worker binary when a test kills it), the real PortOne client, and the PortOne emulator.
// The emulator's ledger is the ground truth the money invariants are checked against.
package e2e
