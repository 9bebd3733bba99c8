package billing

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// maxSignalNameInDetail bounds a foreign signal name copied into the audit trail.
const maxSignalNameInDetail = 64

// UnknownSignalDetail is the audit-trail detail (event kind "refused") for a signal the
// workflow does not handle: the name, cut rune-safely, the nearest of the known signal names
// (the workflow's message table), and that it changed nothing. The payload is never quoted: it
// may hold anything.
func UnknownSignalDetail(name string, knownNames []string) string {
	shown := name
	if utf8.RuneCountInString(shown) > maxSignalNameInDetail {
		shown = string([]rune(shown)[:maxSignalNameInDetail]) + "…"
	}
	known := slices.Sorted(slices.Values(knownNames))
	if near := nearest(name, known); near != "" {
		return fmt.Sprintf("unknown signal %q (did you mean %q?): ignored, nothing changed", shown, near)
	}
	return fmt.Sprintf("unknown signal %q: ignored, nothing changed; known signals: %v", shown, known)
}

// TemporalCancellationRequest is the billing cancel the workflow carries out when Temporal's own
// cancellation is requested ("Request Cancellation" in the Web UI, `temporal workflow
// cancel`): at once, by an admin, no refund (a person who wants one sends the cancel message
// instead), with the same steps as the cancel message (unschedule at PortOne, key deletion as
// the plan says, final search attributes), so that nothing is left looking alive.
func TemporalCancellationRequest() CancelRequest {
	return CancelRequest{
		When:      Now,
		Reason:    "cancellation requested through Temporal (Web UI Request Cancellation or temporal workflow cancel)",
		Requester: RequesterAdmin,
		Refund:    RefundNone,
	}
}
