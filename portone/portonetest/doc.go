// Package portonetest is a stateful, in-memory emulator of the PortOne (iamport) V1 REST API
// for recurring NaverPay billing-key payments, and of PortOne's V2 REST API beside it (the
// v2_*.go files: V2Handler, NewV2Server, IssueBillingKeyV2), sharing one clock, ledger, fault
// list, persistence and control API.
//
// PortOne cannot be reached from test machines, so every test of code that talks to PortOne
// runs against this emulator instead. It is written to be faithful where the behaviour is
// known (see /work/shared/portone/v1-api.md) and explicit where it had to guess: each guess is
// marked "Guess:" in the code and listed in README.md.
//
// An *Emulator is an http.Handler. Mount it in httptest (NewServer does that for you) or serve
// it from the emulator binary. All state lives in memory behind one mutex and is kept per
// merchant (one imp_key/imp_secret pair). Tests drive it three ways:
//
//   - the PortOne REST routes, exactly as a PortOne client would;
//   - the Go API (RegisterCustomer, AddFault, Ledger, Webhooks, RunDue, ...);
//   - the control API under /__emulator/, which mirrors the Go API as JSON over HTTP for
//     processes that cannot call Go (the emulator binary, curl, other languages).
//
// The package deliberately does not import the project's PortOne client: it has its own wire
// structs, so that contract tests check the client and the emulator independently against
// PortOne's published OpenAPI document.
package portonetest
