package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/testgate"
)

// TestDevStackConsole: what `make run` starts includes the console and the event sink. The
// banner names the console and its demo login; a subscription's merchant events go from the
// real worker to the console's /events, signed with the data dir's secret, into the read model;
// the demo login opens the subscription's page with those events delivered.
func TestDevStackConsole(t *testing.T) {
	testgate.Slow(t, "starts the whole local stack")
	d := newDevstack(t)
	d.start()
	consoleURL := fmt.Sprintf("http://127.0.0.1:%d", d.console)
	require.Contains(t, d.out.String(), consoleURL)
	require.Contains(t, d.out.String(), "log in: demo / paycycle-demo")

	c := d.client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const id = "console-demo-1"
	in := billing.SubscriptionInput{SubscriptionID: id, CustomerUID: "demo-cust-2",
		Plan: billing.Plan{Name: "Console demo", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: billing.TaskQueue}, billing.WorkflowType, in)
	require.NoError(t, err)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	read := func(resp *http.Response, err error) (int, string) {
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	_, page := read(hc.Get(consoleURL + "/login"))
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, token, page)
	status, body := read(hc.PostForm(consoleURL+"/login", url.Values{"csrf": {token[1]}, "login": {"demo"}, "password": {"paycycle-demo"}}))
	require.Equal(t, http.StatusSeeOther, status, body)

	eventually(t, 90*time.Second, "the first charge's events projected and delivered", func() bool {
		status, body = read(hc.Get(consoleURL + "/subscriptions/" + id))
		return status == http.StatusOK && strings.Contains(body, `id="row-paid" data-value="9900"`) &&
			strings.Contains(body, `data-delivery="delivered"`)
	})
	require.Contains(t, body, `data-status="active"`)
	require.Contains(t, body, "charge.succeeded")
	status, body = read(hc.Get(consoleURL + "/"))
	require.Equal(t, http.StatusOK, status)
	require.Regexp(t, `id="active" data-value="[1-9]`, body)
}
