package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/codec"
)

// readmeBlock returns the first fenced block of the given language after the line that starts
// with marker.
func readmeBlock(t *testing.T, readme, marker, lang string) string {
	t.Helper()
	i := strings.Index(readme, marker)
	require.GreaterOrEqual(t, i, 0, "README has no %q", marker)
	rest := readme[i:]
	open := "```" + lang + "\n"
	j := strings.Index(rest, open)
	require.GreaterOrEqual(t, j, 0, "no %s block after %q", lang, marker)
	rest = rest[j+len(open):]
	k := strings.Index(rest, "```")
	require.GreaterOrEqual(t, k, 0)
	return rest[:k]
}

// shellCommands splits a sh block into commands: comments dropped, backslash continuations joined.
func shellCommands(block string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// TestREADMEOperatingCommands runs the README's "Inspecting and operating" commands exactly as
// printed (only the codec endpoint's address is the test's) with the pinned temporal CLI,
// against a real server, the real worker code and encrypted payloads, on the subscription that
// the README's Web UI input starts. Among what it guards: the cancel update printed without
// the codec flag used to exit 1 with "payload encoding is not supported" after the refund had
// been made; failures showed only "Encoded failure".
func TestREADMEOperatingCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the temporal CLI against a real server")
	}
	repo, err := filepath.Abs("..")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(repo, "bin", "temporal")); err != nil {
		t.Skip("bin/temporal is missing: run `make tools` (make test does) to check the README's commands")
	}
	raw, err := os.ReadFile(filepath.Join(repo, "docs", "billing-team.md"))
	require.NoError(t, err)
	readme := string(raw)
	raw, err = os.ReadFile(filepath.Join(repo, "docs", "operators.md"))
	require.NoError(t, err)
	operators := string(raw)

	// The Web UI input is strict JSON the workflow accepts, and already in the layout the
	// editor would give it.
	uiJSON := readmeBlock(t, readme, "## Start a subscription from the Web UI", "json")
	var in billing.SubscriptionInput
	require.NoError(t, billing.DecodeStrict([]byte(uiJSON), &in))
	var compact, indented bytes.Buffer
	require.NoError(t, json.Compact(&compact, []byte(uiJSON)))
	require.NoError(t, json.Indent(&indented, compact.Bytes(), "", "  "))
	require.Equal(t, indented.String()+"\n", uiJSON, "the README's UI input is pre-formatted with a two-space indent")

	s := newStack(t, stackOptions{})
	s.register(in.CustomerUID)
	s.start(in)
	eventually(t, 20*time.Second, "the first charge", func() bool { return len(s.paid(in.SubscriptionID+"-")) >= 1 })

	keys, err := codec.ParseKeys(s.codecKey)
	require.NoError(t, err)
	cd, err := codec.New(keys)
	require.NoError(t, err)
	codecSrv := httptest.NewServer(codec.HTTPHandler(cd, nil))
	t.Cleanup(codecSrv.Close)

	env := append(cleanEnv(), "TEMPORAL_ADDRESS="+s.ts.GetFrontendHostPort(), "TEMPORAL_NAMESPACE="+s.ns)
	sh := func(t *testing.T, line string) (string, error) {
		t.Helper()
		line = strings.ReplaceAll(line, "http://127.0.0.1:8234", codecSrv.URL)
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	block := readmeBlock(t, operators, "## Inspecting and operating", "sh")
	require.NotContains(t, block, "2026-", "no fixed dates in example queries")
	cmds := shellCommands(block)
	require.GreaterOrEqual(t, len(cmds), 8)
	for _, line := range cmds {
		require.True(t, strings.HasPrefix(line, "bin/temporal "), "printed as bin/temporal: %s", line)
		var out string
		switch {
		case strings.Contains(line, "NextChargeAt <"):
			// Visibility is eventually consistent: the listing may lag the start by a moment.
			eventually(t, 15*time.Second, "the running subscription listed by NextChargeAt", func() bool {
				out, err = sh(t, line)
				return err == nil && strings.Contains(out, billing.WorkflowID(in.SubscriptionID))
			})
		default:
			out, err = sh(t, line)
			require.NoError(t, err, "%s\n%s", line, out)
		}
		require.NotContains(t, out, "Encoded failure", line)
		require.NotContains(t, out, "payload encoding is not supported", line)
		switch {
		case strings.Contains(line, "--type state"):
			require.Contains(t, out, in.CustomerUID, "the state is decrypted through the codec endpoint")
		case strings.Contains(line, "update execute"):
			require.Contains(t, out, "subscription canceled", "the receipt prints without the codec flag")
		case strings.Contains(line, "workflow result"):
			require.Contains(t, out, `"canceled"`)
		}
		t.Logf("$ %s\n%s", line, tail(out, 600))
	}

	// A refused update and a failed workflow task are readable as text.
	s2 := demoInput("readme-2", in.CustomerUID, 30*time.Second)
	s.start(s2)
	out, err := sh(t, `bin/temporal workflow update execute --workflow-id subscription/readme-2 --name cancel --input '{"reason":"x","requester":"custmer"}'`)
	require.Error(t, err, out)
	require.Contains(t, out, "requester", "the refusal names the field:\n%s", out)
	require.NotContains(t, out, "Encoded failure")
	t.Logf("refused update:\n%s", out)

	// A start with a misspelt workflow type: the worker's task failure reads as text in the
	// history (it was "Workflow Task Failed: Encoded failure").
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "readme-wrong-type", TaskQueue: billing.TaskQueue}, "subscription", in)
	require.NoError(t, err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err = sh(t, `bin/temporal workflow show --workflow-id readme-wrong-type --output json`)
		if err == nil && strings.Contains(out, "unable to find workflow type: subscription") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed workflow task's message is not in the history:\n%s", tail(out, 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.NotContains(t, out, "Encoded failure")
	t.Logf("wrong workflow type:\n%s", tail(out, 800))
}
