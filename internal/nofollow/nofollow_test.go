package nofollow_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/nofollow"
)

// TestClientsDoNotFollow: each way of getting a client returns the 3xx itself and leaves the
// redirect's target untouched, even when the caller's client would follow.
func TestClientsDoNotFollow(t *testing.T) {
	var target atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/from", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/to?token=abc", http.StatusFound)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) { target.Add(1) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for name, hc := range map[string]*http.Client{
		"Client":               nofollow.Client(0),
		"Strict of a follower": nofollow.Strict(&http.Client{}),
		"Strict of nil":        nofollow.Strict(nil),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := hc.Post(srv.URL+"/from", "application/json", nil)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, http.StatusFound, res.StatusCode)
			require.Equal(t, "302 Found, a redirect not followed (Location: /to)", nofollow.Describe(res))
			require.Zero(t, target.Load())
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@h.example/p?token=x#f": "https://h.example/p",
		"/elsewhere":                            "/elsewhere",
		"/a\r\nSet-Cookie: x":                   "/aSet-Cookie: x",
	} {
		require.Equal(t, want, nofollow.Redact(in), in)
	}
}
