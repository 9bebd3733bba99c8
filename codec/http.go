package codec

import (
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"
)

// HTTPHandler serves the codec at /{namespace}/encode and /{namespace}/decode (any prefix) for
// the Temporal Web UI and CLI (--codec-endpoint). The Web UI calls it from the browser, so it
// answers CORS preflights for allowedOrigins (e.g. "http://127.0.0.1:8233"); requests from other
// origins are refused. Serve it on a loopback or private address only.
func HTTPHandler(c *Codec, allowedOrigins []string) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			if !slices.Contains(allowedOrigins, origin) {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization, Caller-Type, Client-Name, Client-Version")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
		inner.ServeHTTP(w, r)
	})
}
