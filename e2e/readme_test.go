package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/reconcile"
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

// shellCommands splits a sh block into commands: comments dropped, backslash continuations joined,
// and a loop (for|while … do … done) kept whole, one command of several lines.
func shellCommands(block string) []string {
	var out []string
	var cur strings.Builder
	loops := 0 // open for/while loops of the current command
	for _, line := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		if strings.HasPrefix(trimmed, "for ") || strings.HasPrefix(trimmed, "while ") {
			loops++
		}
		if trimmed == "done" || strings.HasPrefix(trimmed, "done ") || strings.HasPrefix(trimmed, "done;") {
			loops--
		}
		cur.WriteString(trimmed)
		if loops > 0 {
			cur.WriteString("\n")
			continue
		}
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String()) // an unclosed loop: bash will say so when it is run
	}
	return out
}

// TestREADMEOperatingCommands runs, exactly as printed, every command of the pages that
// commandRules marks runHere (docs_commands_test.go): the operators' inspecting and
// reconciliation commands, the namespace set-up, the billing team's starter commands, the
// self-service link commands and the emulator's curl lines. They run with the pinned temporal
// CLI and the built starter, from a folder laid out as make run leaves a checkout (bin/temporal,
// bin/starter, .data/codec.key), against a real server, the worker binary (which also keeps the
// nightly schedule) and encrypted payloads, on the subscription that
// the billing team's Web UI input starts. What differs from a printed command is only the
// addresses and the secret placeholder, in docSubstitutions. Among what it guards: the cancel
// update printed without the codec flag used to exit 1 with "payload encoding is not supported"
// after the refund had been made; failures showed only "Encoded failure"; the reconciliation
// block ran bare `temporal`, which is not on the PATH.
func TestREADMEOperatingCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the temporal CLI against a real server")
	}
	repo, err := filepath.Abs("..")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(repo, "bin", "temporal")); err != nil {
		t.Skip("bin/temporal is missing: run `make tools` (make test does) to check the docs' commands")
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

	block := readmeBlock(t, operators, "## Inspecting and operating", "sh")
	require.NotContains(t, block, "2026-", "no fixed dates in example queries")
	require.GreaterOrEqual(t, len(shellCommands(block)), 8)

	// The worker binary, as make run starts it: it also keeps the nightly reconciliation's
	// schedule and runs Reconcile (an in-process worker beside it would take Reconcile's tasks
	// on the shared queue and fail them, not knowing the type).
	starter := binary(t, "starter")
	s := newStack(t, stackOptions{noWorker: true})
	s.workerProcess(t, "docs-worker.log")
	s.register(in.CustomerUID)
	s.register("demo-cust-2") // make run's emulator seeds demo-cust-1..3
	s.start(in)
	eventually(t, 20*time.Second, "the first charge", func() bool { return len(s.paid(in.SubscriptionID+"-")) >= 1 })

	keys, err := codec.ParseKeys(s.codecKey)
	require.NoError(t, err)
	cd, err := codec.New(keys)
	require.NoError(t, err)
	codecSrv := httptest.NewServer(codec.HTTPHandler(cd, nil))
	t.Cleanup(codecSrv.Close)

	eventually(t, 30*time.Second, "the worker binary's reconcile schedule", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := s.c.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID).Describe(ctx)
		return err == nil
	})

	// A checkout as make run leaves it.
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".data"), 0o700))
	require.NoError(t, os.Symlink(filepath.Join(repo, "bin", "temporal"), filepath.Join(dir, "bin", "temporal")))
	require.NoError(t, os.Symlink(starter, filepath.Join(dir, "bin", "starter")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".data", "codec.key"), []byte(s.codecKey), 0o600))

	linkSecret := make([]byte, 32)
	_, err = rand.Read(linkSecret)
	require.NoError(t, err)
	subst := strings.NewReplacer(docSubstitutions(codecSrv.URL, strings.TrimPrefix(s.emuURL, "http://"), base64.StdEncoding.EncodeToString(linkSecret))...)

	env := append(cleanEnv(), "TEMPORAL_ADDRESS="+s.ts.GetFrontendHostPort(), "TEMPORAL_NAMESPACE="+s.ns)
	sh := func(t *testing.T, line string) (string, error) {
		t.Helper()
		cmd := exec.Command("bash", "-c", subst.Replace(line))
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// The operators' inspecting block first (it needs demo-1 running), then every page in order.
	var cmds []docCommand
	for _, c := range docCommands(t, repo) {
		if r, _, ok := c.rule(); ok && r.how == runHere {
			cmds = append(cmds, c)
		}
	}
	sort.SliceStable(cmds, func(i, j int) bool {
		return cmds[i].Section == "Inspecting and operating" && cmds[j].Section != "Inspecting and operating"
	})
	exports := map[string]string{} // a block's exports, for its later commands
	ran, reconciled := 0, false
	for _, c := range cmds {
		key := fmt.Sprintf("%s#%d", c.Page, c.Block)
		line := c.Line
		if strings.HasPrefix(line, "export ") {
			exports[key] += line + "\n"
			continue
		}
		if c.Section == "Inspecting and operating" {
			require.True(t, strings.HasPrefix(line, "bin/temporal "), "printed as bin/temporal: %s", line)
		}
		run := exports[key] + line
		var out string
		switch {
		case strings.Contains(line, "NextChargeAt <"):
			// Visibility is eventually consistent: the listing may lag the start by a moment.
			eventually(t, 15*time.Second, "the running subscription listed by NextChargeAt", func() bool {
				out, err = sh(t, run)
				return err == nil && strings.Contains(out, billing.WorkflowID(in.SubscriptionID))
			})
		case strings.HasPrefix(line, "bin/starter reconcile show -latest") && !reconciled:
			// On a stack where nothing reconciled yet it says how to run the first one (exit 3).
			out, err = sh(t, run)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, out)
			require.Equal(t, 3, exit.ExitCode(), out)
			require.Contains(t, out, "no reconciliation has run yet: run one now with")
		default:
			out, err = sh(t, run)
			require.NoError(t, err, "%s\n%s", line, out)
		}
		ran++
		require.NotContains(t, out, "Encoded failure", line)
		require.NotContains(t, out, "payload encoding is not supported", line)
		if strings.HasPrefix(line, "curl ") {
			require.NotContains(t, out, `"error"`, "the emulator refused %s", line)
		}
		for _, want := range docOutputs(line, in) {
			require.Contains(t, out, want, "%s\n%s", line, out)
		}
		if strings.HasPrefix(line, "bin/starter reconcile -from") {
			reconciled = true
		}
		t.Logf("$ %s\n%s", line, tail(out, 600))
	}
	require.GreaterOrEqual(t, ran, 20, "the commands marked runHere were not all found")

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
