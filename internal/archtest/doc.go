// Package archtest enforces the package boundaries written down in docs/architecture.md: which
// project packages each package may import, and the rules over transitive dependencies (the
// client and the emulator stand alone, only the local-server packages pull in the Temporal
// server). It has no code; its test reads `go list -deps -json ./...`.
package archtest
