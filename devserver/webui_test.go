//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/internal/browsertest"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/localtemporal"
)

// readmeStartForm returns what docs/billing-team.md tells the billing team to fill in on the Web UI's
// Start Workflow form, exactly as printed: the workflow ID, task queue and workflow type of its
// list, and the JSON block that follows (with its final newline, as a copy of the block gives).
func readmeStartForm(t *testing.T) (id, queue, typ, input string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "billing-team.md"))
	require.NoError(t, err)
	const marker = "## Start a subscription from the Web UI"
	_, section, ok := strings.Cut(string(raw), marker)
	require.True(t, ok, "docs/billing-team.md has no %q", marker)
	field := func(name string) string {
		m := regexp.MustCompile("(?m)^- " + name + ": `([^`]+)`$").FindStringSubmatch(section)
		require.NotNil(t, m, "README's %q has no %q line", marker, name)
		return m[1]
	}
	_, block, ok := strings.Cut(section, "```json\n")
	require.True(t, ok, "no json block after %q", marker)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	return field("Workflow ID"), field("Task Queue"), field("Workflow Type"), block
}

// TestWebUIStartsAnEncryptedSubscription drives the real Web UI in a headless browser the way the
// billing team will: it reads an existing workflow's input, and starts a subscription from the
// Start Workflow form with what the README says to fill in. Both only work if devserver's wiring
// is right: Start Workflow enabled, the codec endpoint configured in the UI, and the codec
// endpoint's CORS accepting the UI's origin (the browser, not the UI server, calls it).
//
// The form's JSON editor reformats its input when it loses focus. With one-line JSON that grows
// the editor, and Start Workflow moves down between the press and the release of the click that
// took the focus away, so a person's first click did nothing. The README gives the JSON already
// formatted; the test pastes it as printed, clicks Start Workflow once with the mouse (a
// script's el.click() would not see the button move) and requires that this first click started
// the workflow. The same JSON on one line is the control: its first click must be lost and its
// second must start it, which shows that the click is real enough to tell.
func TestWebUIStartsAnEncryptedSubscription(t *testing.T) {
	testgate.Slow(t, "starts a Temporal server and drives a browser")
	if browsertest.Path() == "" {
		t.Skip("no Chromium or Chrome found: install Debian's chromium package to run this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	p := freePorts(t)
	keys, err := codec.NewKeyString("k1")
	require.NoError(t, err)
	uiOrigin := "http://" + addr(p.ui)
	cs, err := startCodecServer(addr(p.codec), keys, []string{uiOrigin})
	require.NoError(t, err)
	defer cs.stop()
	srv, err := localtemporal.Start(ctx, localtemporal.Options{
		DataDir: t.TempDir(), FrontendAddr: addr(p.temporal), UIAddr: addr(p.ui), CodecEndpoint: "http://" + addr(p.codec),
	})
	require.NoError(t, err)
	defer srv.Stop()
	c := sdkClient(ctx, t, p.temporal, keys)

	// A workflow started by a backend (encrypted input) is shown decrypted.
	in := billing.SubscriptionInput{SubscriptionID: "backend-1", CustomerUID: "cust-only-in-ciphertext", Plan: billing.Plan{Name: "P", Amount: 1000}}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID("backend-1"), TaskQueue: billing.TaskQueue}, billing.WorkflowType, in)
	require.NoError(t, err)

	bctx := browsertest.New(t, 3*time.Minute)

	historyURL := fmt.Sprintf("%s/namespaces/default/workflows/%s/%s/history", uiOrigin,
		strings.ReplaceAll(run.GetID(), "/", "%2F"), run.GetRunID())
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(historyURL)))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.body.innerText.includes('cust-only-in-ciphertext')`,
		chromedp.WithPollingTimeout(60*time.Second)))
	require.NoError(t, err, "the UI must show the input decrypted through the codec endpoint")

	// The Start Workflow form, filled in as the README says.
	readmeID, queue, typ, readmeJSON := readmeStartForm(t)
	var readmeIn billing.SubscriptionInput
	require.NoError(t, billing.DecodeStrict([]byte(readmeJSON), &readmeIn), "the README's input is one the workflow accepts")
	var oneLine bytes.Buffer
	require.NoError(t, json.Compact(&oneLine, []byte(readmeJSON)))
	for _, tc := range []struct {
		name, id, input  string
		firstClickStarts bool
	}{
		{name: "README's pre-formatted JSON", id: readmeID, input: readmeJSON, firstClickStarts: true},
		{name: "the same JSON on one line (control)", id: readmeID + "-one-line", input: oneLine.String(), firstClickStarts: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A browser of its own: the UI may remember a form between visits.
			bctx := browsertest.New(t, 2*time.Minute)
			require.NoError(t, chromedp.Do(bctx,
				chromedp.Navigate(uiOrigin+"/namespaces/default/workflows/start-workflow"),
				chromedp.SendKeys(chromedp.ID("workflowId"), tc.id),
				chromedp.SendKeys(chromedp.ID("taskQueue"), queue),
				chromedp.SendKeys(chromedp.ID("workflowType"), typ),
				chromedp.Click(chromedp.CSS(".cm-content")),
			))
			// Pasted in one piece, as a copy of the block is: typed key by key, the editor
			// would auto-close brackets. Polled: on a busy machine the editor may not be ready
			// for the first insertion, and the UI would then start the workflow without input.
			js, err := json.Marshal(tc.input)
			require.NoError(t, err)
			_, err = chromedp.Run(bctx, chromedp.Poll[bool](`(() => {
				const want = `+string(js)+`;
				const ed = document.querySelector('.cm-content');
				if (!ed) return false;
				ed.focus();
				if (!ed.innerText.includes('subscription_id')) document.execCommand('insertText', false, want);
				return ed.innerText.trimEnd() === want.trimEnd();
			})()`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
			require.NoError(t, err, "the editor holds the input as pasted")

			started := func(within time.Duration) bool {
				for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
					if _, err := c.DescribeWorkflowExecution(ctx, tc.id, ""); err == nil {
						return true
					}
				}
				return false
			}
			// The one click: the editor still has the focus, so this press is what takes it away.
			browsertest.ClickVisible(bctx, t, "button", "Start Workflow", 30*time.Second)
			if tc.firstClickStarts {
				if !started(30 * time.Second) {
					browsertest.Screenshot(bctx, t, "webui-start-first-click-lost.png")
					t.Fatalf("the first click on Start Workflow did not start %s with the README's JSON", tc.id)
				}
			} else {
				// Lost clicks leave nothing to wait for; 10 s is far more than a start takes.
				require.False(t, started(10*time.Second),
					"the one-line JSON's first click started %s: the Web UI no longer reflows its editor on blur, so this test cannot tell whether the README's pre-formatted JSON matters any more", tc.id)
				browsertest.ClickVisible(bctx, t, "button", "Start Workflow", 30*time.Second)
				require.True(t, started(30*time.Second), "the second click starts %s: the first was lost, the form works", tc.id)
			}
			browsertest.Screenshot(bctx, t, "webui-start-workflow-"+map[bool]string{true: "readme", false: "one-line"}[tc.firstClickStarts]+".png")

			desc, err := c.DescribeWorkflowExecution(ctx, tc.id, "")
			require.NoError(t, err)
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
			it := c.GetWorkflowHistory(ctx, tc.id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			ev, err := it.Next()
			require.NoError(t, err)
			attrs := ev.GetWorkflowExecutionStartedEventAttributes()
			require.Equal(t, billing.TaskQueue, attrs.GetTaskQueue().GetName())
			require.Equal(t, billing.WorkflowType, attrs.GetWorkflowType().GetName())
			pl := attrs.GetInput().GetPayloads()
			require.Len(t, pl, 1)
			require.Equal(t, codec.MetadataEncoding, string(pl[0].GetMetadata()["encoding"]),
				"the UI must encrypt the input through the codec endpoint before it reaches history")
			parsed, err := codec.ParseKeys(keys)
			require.NoError(t, err)
			cd, err := codec.New(parsed)
			require.NoError(t, err)
			var got billing.SubscriptionInput
			require.NoError(t, cd.DataConverter().FromPayload(pl[0], &got))
			require.Equal(t, readmeIn, got, "the workflow's input is the README's")
		})
	}
}
