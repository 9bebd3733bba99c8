package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/browsertest"
)

// TestWebUIShowsWhyAWorkflowTaskFailed starts, on `make run`'s stack, a workflow whose type is
// misspelt as the billing team might type it ("subscription"), and checks in the real Web UI
// that the page says why it is stuck. With failure attributes encoded it said only "Workflow
// Task Failed: Encoded failure", even through the codec endpoint.
func TestWebUIShowsWhyAWorkflowTaskFailed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack and a browser")
	}
	ctx := browsertest.New(t, 3*time.Minute)
	d := newDevstack(t)
	d.start()
	c := d.client()
	const wfID = "subscription/wrong-type-1"
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(sctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: billing.TaskQueue}, "subscription",
		demoInput("wrong-type-1", "demo-cust-1", 30*time.Second))
	require.NoError(t, err)

	ui := fmt.Sprintf("http://127.0.0.1:%d", d.ui)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/namespaces/default/workflows/%s/%s/history", ui,
		strings.ReplaceAll(wfID, "/", "%2F"), run.GetRunID()))))
	// The page shows the pending task's failure once the worker has tried; the Web UI is a
	// single-page app that takes seconds to render on a busy machine, so poll the text and
	// reload only now and then.
	var text string
	deadline := time.Now().Add(100 * time.Second)
	lastLoad := time.Now()
	for !strings.Contains(text, "unable to find workflow type: subscription") {
		if time.Now().After(deadline) {
			browsertest.Screenshot(ctx, t, "webui-wrong-workflow-type-FAILED.png")
			t.Fatalf("the workflow page does not say why the task failed; it shows:\n%s", tail(text, 2500))
		}
		time.Sleep(time.Second)
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); err == nil {
			text = got
		}
		if time.Since(lastLoad) > 25*time.Second {
			_ = chromedp.Do(ctx, chromedp.Reload())
			lastLoad = time.Now()
		}
	}
	require.NotContains(t, text, "Encoded failure")
	browsertest.Screenshot(ctx, t, "webui-wrong-workflow-type.png")
}
