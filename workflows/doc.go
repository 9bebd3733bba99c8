// Package workflows holds the subscription workflow: deterministic orchestration only.
//
// One workflow per subscription (ID "subscription/<id>") verifies the billing key, takes the
// first charge, then loops on durable timers computed from the billing calendar. Messages
// (signals and updates) only record intent; the main loop alone performs side effects, at safe
// points between activities, which is what keeps a cancel racing an in-flight charge from
// charging twice or after the cancel took effect.
//
// Determinism contract: no wall clock (workflow.Now only), no randomness, no I/O, no goroutines
// (workflow.Go only), no map iteration that affects commands, no environment reads (worker
// settings come from a local activity recorded in history). Edits that change the sequence of
// commands are guarded with workflow.GetVersion, and every history saved in testdata/ must keep
// replaying (replay_test.go).
package workflows
