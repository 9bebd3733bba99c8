//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestWebUIStartsAnEncryptedSubscription drives the real Web UI in a headless browser the way the
// billing team will: it starts a subscription from the Start Workflow form with the banner's
// input, and reads an existing workflow's input. Both only work if devserver's wiring is right:
// Start Workflow enabled, the codec endpoint configured in the UI, and the codec endpoint's CORS
// accepting the UI's origin (the browser, not the UI server, calls it).
func TestWebUIStartsAnEncryptedSubscription(t *testing.T) {
	testgate.Slow(t, "starts a Temporal server and drives a browser")
	if browsertest.Path() == "" {
		t.Skip("no Chromium or Chrome found: install Debian's chromium package to run this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
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

	// Start Workflow form, filled with the banner's values.
	const id = "subscription/demo-1"
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(uiOrigin+"/namespaces/default/workflows/start-workflow"),
		chromedp.SendKeys(chromedp.ID("workflowId"), id),
		chromedp.SendKeys(chromedp.ID("taskQueue"), billing.TaskQueue),
		chromedp.SendKeys(chromedp.ID("workflowType"), billing.WorkflowType),
		chromedp.Click(chromedp.CSS(".cm-content")),
	))
	// Insert the JSON in one piece: typed key by key, the editor would auto-close brackets.
	input, err := json.Marshal(demoInputJSON())
	require.NoError(t, err)
	// Poll until the editor holds the input: on a busy machine the editor may not be ready for
	// the first insertion, and the UI would then start the workflow without input.
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`(() => {
		const ed = document.querySelector('.cm-content');
		if (!ed) return false;
		ed.focus();
		if (!ed.innerText.includes('subscription_id')) document.execCommand('insertText', false, `+string(input)+`);
		return ed.innerText.includes('subscription_id');
	})()`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err)
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`(() => {
		const b = [...document.querySelectorAll('button')].filter(b => b.textContent.trim() === 'Start Workflow' && !b.disabled);
		if (b.length) { b[b.length-1].click(); return true; }
		return false; })()`, chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the Start Workflow button must be there and enabled")

	status := enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if d, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			status = d.GetWorkflowExecutionInfo().GetStatus()
			break
		}
	}
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status, "the UI must have started %s", id)

	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
	require.Equal(t, "demo-1", got.SubscriptionID)
	require.Equal(t, "demo-cust-1", got.CustomerUID)
	require.Equal(t, 30, got.Plan.Interval.Count)
}
