package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"golang.org/x/crypto/bcrypt"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/console"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/webhooks"
)

// testSecret signs the event stream in these tests.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// postSigned delivers one event to a console's /events as the worker's outbox does (Standard
// Webhooks headers from the same Signer) and returns the receiver's status and result header.
func postSigned(t *testing.T, base string, e billing.MerchantEvent) (int, string) {
	t.Helper()
	signer, err := webhooks.ParseSecrets(testSecret)
	require.NoError(t, err)
	body, err := json.Marshal(e)
	require.NoError(t, err)
	h, err := signer.Headers(e.ID, time.Now(), body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/events", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, resp.Header.Get("Readmodel-Result")
}

// streamOf builds a subscription's numbered events, each carrying the summary after it.
func streamOf(id string, sums []billing.EventSubscription, types []billing.EventType, data []func(*billing.EventData), at time.Time) []billing.MerchantEvent {
	var out []billing.MerchantEvent
	for i, typ := range types {
		d := billing.EventData{Subscription: sums[i]}
		if data[i] != nil {
			data[i](&d)
		}
		raw, err := json.Marshal(d)
		if err != nil {
			panic(err)
		}
		seq := int64(i + 1)
		out = append(out, billing.MerchantEvent{ID: billing.EventID(id, "pg", seq), Type: typ, SubscriptionID: id, Seq: seq, Timestamp: at, Data: raw})
	}
	return out
}

// gaugeLine matches one sample of the read model's gauges in the exposition format.
var gaugeLine = regexp.MustCompile(`(?m)^(paycycle_readmodel_[a-z0-9_]+(?:\{[^}]*\})?) (\S+)$`)

// gauges scrapes a /metrics and returns its read model samples (the lag left out: it is this
// replica's measurement of the moment).
func gauges(t *testing.T, addr string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	out := map[string]string{}
	for _, m := range gaugeLine.FindAllStringSubmatch(string(b), -1) {
		if !strings.HasPrefix(m[1], "paycycle_readmodel_lag_seconds") {
			out[m[1]] = m[2]
		}
	}
	return out
}

// TestRunOnPostgreSQL runs two replicas of consoleserver, as the Kubernetes Deployment does, on
// one fresh PostgreSQL 15 database (each Open migrates it or waits for the other), delivers a
// signed event stream to one replica's /events, and reads the result from the other: the
// overview page after a login, and both replicas' stock gauges alike.
func TestRunOnPostgreSQL(t *testing.T) {
	testgate.Slow(t, "starts PostgreSQL 15 and serves two consoles on loopback")
	if _, err := cluster.FindPostgresBin(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := cluster.StartPostgres(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, pg.Stop()) }()
	dsn, err := pg.CreateDatabase(ctx, "paycycle_console")
	require.NoError(t, err)

	hash, err := bcrypt.GenerateFromPassword([]byte("password1"), bcrypt.MinCost)
	require.NoError(t, err)
	env := map[string]string{
		console.EnvStaff: "kim:viewer:" + string(hash), EnvWebhookSecrets: testSecret,
		EnvReadModel: dsn, "TEMPORAL_ADDRESS": "127.0.0.1:1", "LOG_LEVEL": "warn",
	}
	runCtx, stop := context.WithCancel(ctx)
	metrics := []string{freeAddr(t), freeAddr(t)}
	// Both at once: a rollout on a fresh database.
	replicas := []*running{
		launch(runCtx, []string{"-addr", "127.0.0.1:0", "-metrics-addr", metrics[0]}, env),
		launch(runCtx, []string{"-addr", "127.0.0.1:0", "-metrics-addr", metrics[1]}, env),
	}
	defer func() {
		stop()
		for _, r := range replicas {
			select {
			case err := <-r.done:
				require.NoError(t, err)
			case <-time.After(15 * time.Second):
				t.Error("a console did not stop")
			}
		}
	}()
	bases := []string{replicas[0].url(t), replicas[1].url(t)}

	now := time.Now().UTC().Truncate(time.Second)
	next, retry := now.AddDate(0, 1, 0), now.Add(6*time.Hour)
	sum := func(st billing.Status, cycle int, paidThrough, nextAt time.Time) billing.EventSubscription {
		return billing.EventSubscription{Status: st, Plan: "프리미엄", Amount: 9900, Currency: "KRW", Interval: "1 month", Cycle: cycle,
			PaidThrough: paidThrough, NextChargeAt: nextAt, CustomerUID: "****1234"}
	}
	charged := func(id string) func(*billing.EventData) {
		return func(d *billing.EventData) {
			d.Charge = &billing.EventCharge{Cycle: 1, Attempt: 1, MerchantUID: "m-" + id + "-1", ImpUID: "imp_" + id, Amount: 9900, Outcome: billing.OutcomePaid, At: now}
		}
	}
	started := []billing.EventType{billing.EventSubscriptionStarted, billing.EventSubscriptionActivated, billing.EventChargeSucceeded}
	var events []billing.MerchantEvent
	events = append(events, streamOf("pg-active", []billing.EventSubscription{sum(billing.StatusAwaitingRegistration, 0, time.Time{}, time.Time{}), sum(billing.StatusActive, 1, next, next), sum(billing.StatusActive, 1, next, next)},
		started, []func(*billing.EventData){nil, nil, charged("pg-active")}, now)...)
	events = append(events, streamOf("pg-late", []billing.EventSubscription{sum(billing.StatusAwaitingRegistration, 0, time.Time{}, time.Time{}), sum(billing.StatusActive, 1, next, next), sum(billing.StatusActive, 1, next, next), sum(billing.StatusPastDue, 2, next, retry)},
		append(started, billing.EventChargeDeclined), []func(*billing.EventData){nil, nil, charged("pg-late"), func(d *billing.EventData) {
			d.Charge = &billing.EventCharge{Cycle: 2, Attempt: 1, MerchantUID: "m-pg-late-2", Amount: 9900, Outcome: billing.OutcomeDeclined, Reason: "잔액 부족", At: now}
		}}, now)...)
	// Out of order and once again: the receiver holds an event behind its gap, then applies both.
	events[0], events[1] = events[1], events[0]
	events = append(events, events[2])
	results := map[string]int{}
	for _, e := range events {
		status, res := postSigned(t, bases[0], e)
		require.Equal(t, http.StatusNoContent, status, e.ID)
		results[res]++
	}
	require.Equal(t, map[string]int{"held": 1, "applied": 6, "duplicate": 1}, results)

	// The other replica's overview, after a login.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) string {
		resp, err := c.Get(u)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, b)
		return string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get(bases[1] + "/login"))
	require.NotNil(t, csrf)
	resp, err := c.PostForm(bases[1]+"/login", url.Values{"csrf": {csrf[1]}, "login": {"kim"}, "password": {"password1"}, "next": {"/"}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	overview := get(bases[1] + "/")
	for _, want := range []string{`id="active" data-value="1"`, `id="status-past_due" data-value="1"`, `id="mrr" data-value="19800"`, `id="charged" data-value="19800"`} {
		require.Contains(t, overview, want)
	}
	require.Contains(t, get(bases[1]+"/queues/past_due"), "잔액 부족")

	// Both replicas export the database's figures, the same ones.
	want := map[string]string{
		`paycycle_readmodel_up`: "1", `paycycle_readmodel_mrr_krw`: "19800", `paycycle_readmodel_gaps`: "0",
		`paycycle_readmodel_charges_due_next_24h`: "1", `paycycle_readmodel_charges_due_next_24h_krw`: "9900",
	}
	for _, st := range billing.AllStatuses {
		n := 0
		switch st {
		case billing.StatusActive, billing.StatusPastDue:
			n = 1
		}
		want[fmt.Sprintf(`paycycle_readmodel_subscriptions{status=%q}`, st)] = fmt.Sprint(n)
	}
	for _, m := range metrics {
		require.Equal(t, want, gauges(t, m), "gauges at %s", m)
	}
}
