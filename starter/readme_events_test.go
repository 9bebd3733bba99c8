package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/webhooks"
)

// The "Merchant event stream (webhooks)" section of docs/developers.md is the webhook contract merchants
// code against. These tests keep it true: every event type is documented, every JSON example
// decodes strictly into the types the worker sends and encodes back to itself (so it has
// exactly the fields a real event of those values has), and TestEventsEndToEnd compares the
// examples with events delivered on a real server.

const eventsSection = "## Merchant event stream (webhooks)"

// readmeEventsSection returns the section's text, up to the next top-level heading.
func readmeEventsSection(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "developers.md"))
	require.NoError(t, err)
	readme := string(raw)
	i := strings.Index(readme, "\n"+eventsSection+"\n")
	require.GreaterOrEqual(t, i, 0, "docs/developers.md has no %q section", eventsSection)
	rest := readme[i+1+len(eventsSection):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// jsonBlocks returns the section's ```json blocks.
func jsonBlocks(section string) []string { return fencedBlocks(section, "json") }

// fencedBlocks returns the section's fenced blocks of one language (at most 100: a section
// has a dozen; the bound keeps a malformed README from looping).
func fencedBlocks(section, lang string) []string {
	var out []string
	open := "```" + lang + "\n"
	for len(out) < 100 {
		i := strings.Index(section, open)
		if i < 0 {
			break
		}
		section = section[i+len(open):]
		j := strings.Index(section, "```")
		if j < 0 {
			break
		}
		out = append(out, section[:j])
		section = section[j+len("```"):]
	}
	return out
}

// readmeEventExamples returns the README's example event of each type, checked.
func readmeEventExamples(t *testing.T) map[billing.EventType]string {
	t.Helper()
	out := map[billing.EventType]string{}
	for _, block := range jsonBlocks(readmeEventsSection(t)) {
		var ev billing.MerchantEvent
		require.NoError(t, billing.DecodeStrict([]byte(block), &ev), "README example does not decode strictly into billing.MerchantEvent:\n%s", block)
		var data billing.EventData
		require.NoError(t, billing.DecodeStrict(ev.Data, &data), "README example's data does not decode strictly into billing.EventData:\n%s", block)
		require.Contains(t, billing.AllEventTypes, ev.Type, "README example of an unknown type")
		_, dup := out[ev.Type]
		require.False(t, dup, "two README examples of %s", ev.Type)
		out[ev.Type] = block

		// It encodes back to itself: no field missing that a real event would carry, no value
		// the types would print otherwise (a time not in UTC, a zero that is omitted).
		reData, err := json.Marshal(data)
		require.NoError(t, err)
		ev.Data = reData
		re, err := json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, block, string(re), "README example of %s is not what the worker would send for these values", ev.Type)

		require.Equal(t, "evt_"+ev.SubscriptionID+"_", ev.ID[:len("evt_"+ev.SubscriptionID+"_")], "%s: the ID names its subscription", ev.Type)
		require.True(t, strings.HasSuffix(ev.ID, "_"+strconv.FormatInt(ev.Seq, 10)), "%s: the ID ends with its sequence", ev.Type)
		for _, ts := range regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]*"`).FindAllString(block, -1) {
			require.True(t, strings.HasSuffix(ts, `Z"`), "%s: every time is UTC, as the worker sends it: %s", ev.Type, ts)
		}
		require.Equal(t, "KRW", data.Subscription.Currency)
		require.Regexp(t, `^\*\*\*\*.{1,4}$`, data.Subscription.CustomerUID, "customer_uid is masked in %s", ev.Type)
		parts := map[string]bool{"charge": data.Charge != nil, "refund": data.Refund != nil, "dunning": data.Dunning != nil, "renewal": data.Renewal != nil}
		want := map[string]bool{
			"charge":  strings.HasPrefix(string(ev.Type), "charge.") && ev.Type != billing.EventChargeRefunded,
			"refund":  ev.Type == billing.EventChargeRefunded,
			"dunning": strings.HasPrefix(string(ev.Type), "dunning."),
			"renewal": ev.Type == billing.EventRenewalUpcoming,
		}
		require.Equal(t, want, parts, "%s carries the part its type is about, and no other", ev.Type)
	}
	return out
}

func TestREADMEDocumentsEveryEventType(t *testing.T) {
	section := readmeEventsSection(t)
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+\\.[a-z_]+)` \\|").FindAllStringSubmatch(section, -1) {
		listed = append(listed, m[1])
	}
	var all []string
	for _, e := range billing.AllEventTypes {
		all = append(all, string(e))
	}
	sort.Strings(all)
	sorted := slices.Clone(listed)
	sort.Strings(sorted)
	require.Equal(t, all, sorted, "the README's event table lists billing.AllEventTypes, each once")

	examples := readmeEventExamples(t)
	// One example of each kind of payload: the summary alone, and each part.
	for _, kind := range []billing.EventType{billing.EventSubscriptionCanceled, billing.EventChargeSucceeded, billing.EventChargeRefunded,
		billing.EventDunningRetryScheduled, billing.EventRenewalUpcoming} {
		require.Contains(t, examples, kind, "the README shows a %s event", kind)
	}
	for _, want := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "PAYCYCLE_WEBHOOK_SECRETS",
		"BILLING_WEBHOOK_URLS", "BILLING_WEBHOOK_TIMEOUT", "BILLING_WEBHOOK_DELIVERY_WINDOW", "BILLING_WEBHOOK_TASK_QUEUE", "BILLING_RENEWAL_NOTICE",
		"starter events", "starter events redeliver", "starter webhook-secret"} {
		require.Contains(t, section, want)
	}
}

// TestREADMEExampleCheckIsStrict: the checks above refuse a misspelt field and a missing one.
func TestREADMEExampleCheckIsStrict(t *testing.T) {
	examples := readmeEventExamples(t)
	ex := examples[billing.EventChargeSucceeded]
	var ev billing.MerchantEvent
	require.Error(t, billing.DecodeStrict([]byte(strings.Replace(ex, `"sequence"`, `"seq"`, 1)), &ev))
	require.NoError(t, billing.DecodeStrict([]byte(ex), &ev))
	var data billing.EventData
	require.Error(t, billing.DecodeStrict(bytes.Replace(ev.Data, []byte(`"merchant_uid"`), []byte(`"merchantUid"`), 1), &data))
	require.NotEqual(t, jsonShape(t, []byte(ex)), jsonShape(t, []byte(strings.Replace(ex, `"merchant_uid"`, `"merchant_id"`, 1))))
}

// jsonShape lists the key paths of a JSON document (data.charge.amount, ...), sorted: two
// events of one type with the same shape carry the same fields.
func jsonShape(t *testing.T, doc []byte) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	var out []string
	var walk func(prefix string, v any, depth int)
	walk = func(prefix string, v any, depth int) {
		m, ok := v.(map[string]any)
		if !ok || depth > 10 {
			return
		}
		for k, sub := range m {
			out = append(out, prefix+k)
			walk(prefix+k+".", sub, depth+1)
		}
	}
	walk("", v, 0)
	sort.Strings(out)
	return out
}

// TestREADMEVerifySnippets runs the README's standard-library verifiers (Node, Python) against
// requests signed by the worker's Signer: a rotation's two signatures verify with either secret,
// and a tampered body, another secret, a stale timestamp or a missing header do not.
func TestREADMEVerifySnippets(t *testing.T) {
	testgate.Slow(t, "runs node and python3")
	section := readmeEventsSection(t)
	oldSecret, newSecret, otherSecret := webhooks.NewSecret(), webhooks.NewSecret(), webhooks.NewSecret()
	signer, err := webhooks.ParseSecrets(newSecret + " " + oldSecret)
	require.NoError(t, err)
	body := []byte(jsonBlocks(section)[0])
	const id = "evt_sub-1001_k3x9_4"
	fresh, err := signer.Headers(id, time.Now(), body)
	require.NoError(t, err)
	stale, err := signer.Headers(id, time.Now().Add(-10*time.Minute), body)
	require.NoError(t, err)
	require.Len(t, strings.Fields(fresh.Get("webhook-signature")), 2, "both secrets sign")

	type tc struct {
		name    string
		secret  string
		headers http.Header
		body    []byte
		want    bool
	}
	tampered := bytes.Replace(body, []byte(`"amount": 9900`), []byte(`"amount": 99000`), 1)
	require.NotEqual(t, body, tampered)
	noSig := fresh.Clone()
	noSig.Del("webhook-signature")
	cases := []tc{
		{"new secret", newSecret, fresh, body, true},
		{"old secret, during a rotation", oldSecret, fresh, body, true},
		{"tampered body", newSecret, fresh, tampered, false},
		{"another secret", otherSecret, fresh, body, false},
		{"stale timestamp", newSecret, stale, body, false},
		{"no signature", newSecret, noSig, body, false},
	}
	runners := []struct {
		lang, bin, harness string
	}{
		{"js", "node", `
const [secret, id, ts, sig, body] = process.argv.slice(2);
const headers = {};
if (id) headers["webhook-id"] = id;
if (ts) headers["webhook-timestamp"] = ts;
if (sig) headers["webhook-signature"] = sig;
process.stdout.write(String(verify(secret, headers, Buffer.from(body, "base64"))));
`},
		{"python", "python3", `
import sys
secret, msg_id, ts, sig, body = sys.argv[1:6]
headers = {k: v for k, v in (("webhook-id", msg_id), ("webhook-timestamp", ts), ("webhook-signature", sig)) if v}
sys.stdout.write("true" if verify(secret, headers, base64.b64decode(body)) else "false")
`},
	}
	for _, r := range runners {
		t.Run(r.bin, func(t *testing.T) {
			bin, err := exec.LookPath(r.bin)
			if err != nil {
				t.Skipf("%s is not installed: the README's %s snippet is not run", r.bin, r.lang)
			}
			blocks := fencedBlocks(section, r.lang)
			require.Len(t, blocks, 1, "one %s snippet", r.lang)
			script := filepath.Join(t.TempDir(), "verify."+r.lang)
			require.NoError(t, os.WriteFile(script, []byte(blocks[0]+r.harness), 0o600))
			for _, c := range cases {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				out, err := exec.CommandContext(ctx, bin, script, c.secret, c.headers.Get("webhook-id"), c.headers.Get("webhook-timestamp"),
					c.headers.Get("webhook-signature"), base64.StdEncoding.EncodeToString(c.body)).CombinedOutput()
				cancel()
				require.NoError(t, err, "%s: %s", c.name, out)
				require.Equal(t, strconv.FormatBool(c.want), strings.TrimSpace(string(out)), c.name)
			}
		})
	}
}
