package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		if r.URL.Path == "/moved" {
			// A redirect to a healthy page is not this URL answering healthy.
			http.Redirect(w, r, "/healthz", http.StatusFound)
			return
		}
		http.Error(w, "stopping", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"healthy", []string{srv.URL + "/healthz"}, ""},
		{"unhealthy", []string{srv.URL + "/readyz"}, "503"},
		{"redirected to a healthy page", []string{srv.URL + "/moved"}, "302"},
		{"no argument", nil, "usage: healthcheck URL"},
		{"two arguments", []string{"a", "b"}, "usage: healthcheck URL"},
		{"nothing listening", []string{"http://127.0.0.1:1/healthz"}, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(tt.args)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
