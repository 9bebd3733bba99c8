package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startRun runs the emulator command in-process and returns its base URL and a stop function
// that waits for a clean exit.
func startRun(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), stdout, io.Discard, func(string) string { return "" })
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "listening on http://") }, 10*time.Second, 10*time.Millisecond)
	base, _ := listenURLs(t, stdout.String())
	return base, func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after cancellation")
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func ledger(t *testing.T, base, customer string) []map[string]any {
	t.Helper()
	var body struct {
		Entries []map[string]any `json:"entries"`
	}
	getJSON(t, base+"/__emulator/ledger?customer_uid="+customer, &body)
	return body.Entries
}

func TestStateFileKeepsKeysAndLedgerAcrossRestarts(t *testing.T) {
	state := filepath.Join(t.TempDir(), "emulator.json")

	base, stop := startRun(t, "-seed-customers", "demo-cust-1", "-state-file", state)
	resp, err := http.Post(base+"/__emulator/customers", "application/json", strings.NewReader(`{"customer_uid":"cust-registered-on-the-demo-page"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
	before := ledger(t, base, "cust-registered-on-the-demo-page")
	require.Len(t, before, 1, "the registration is in the ledger")
	seeded := ledger(t, base, "demo-cust-1")
	stop()

	info, err := os.Stat(state)
	require.NoError(t, err, "the state is written on shutdown")
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "test buyer data is private to the user")

	base, stop = startRun(t, "-seed-customers", "demo-cust-1", "-state-file", state)
	defer stop()
	var list struct {
		Customers []map[string]any `json:"customers"`
	}
	getJSON(t, base+"/__emulator/customers", &list)
	var uids []string
	for _, c := range list.Customers {
		uids = append(uids, c["customer_uid"].(string))
	}
	require.Contains(t, uids, "cust-registered-on-the-demo-page", "a key registered before the restart survives it")
	after := ledger(t, base, "cust-registered-on-the-demo-page")
	require.Equal(t, before, after, "the ledger survives the restart unchanged")
	require.Equal(t, seeded, ledger(t, base, "demo-cust-1"), "a restored seed key is not registered a second time")
}

func TestStateFileKeepsV2KeysAcrossRestarts(t *testing.T) {
	state := filepath.Join(t.TempDir(), "emulator.json")
	args := []string{"-v2-seed-billing-keys", "billing-key-demo-v2", "-state-file", state}
	base, stop := startRun(t, args...)
	resp, err := http.Post(base+"/__emulator/v2/billing-keys", "application/json", strings.NewReader(`{"issue_id":"page-1","issue_name":"월간","naver_account":"n1"}`))
	require.NoError(t, err)
	var issued map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&issued))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", issued)
	var before map[string]any
	getJSON(t, base+"/__emulator/v2/billing-keys", &before)
	stop()

	base, stop = startRun(t, args...) // a seed that was restored is not issued again (that would fail)
	defer stop()
	var after map[string]any
	getJSON(t, base+"/__emulator/v2/billing-keys", &after)
	require.Equal(t, before, after, "V2 keys survive the restart")
	resp, err = http.Post(base+"/__emulator/v2/billing-keys", "application/json", strings.NewReader(`{"issue_id":"page-1","issue_name":"월간","naver_account":"n1"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusConflict, resp.StatusCode, "the used issueIds survive too")
}

func TestStateFileThatDoesNotParseRefusesToStart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "emulator.json")
	require.NoError(t, os.WriteFile(state, []byte("{not json"), 0o600))
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-state-file", state}, io.Discard, io.Discard, func(string) string { return "" })
	require.ErrorContains(t, err, "-state-file "+state)
	require.ErrorContains(t, err, "move it away to start empty")
}
