package edge

import (
	"context"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/internal/textfmt"
)

// HealthAnswer is the JSON body of /healthz and /readyz.
type HealthAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// handleHealthz is GET /healthz: the process is up and serving. It never looks at Temporal or
// PortOne, so an outage there does not make an orchestrator restart healthy edges.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, HealthAnswer{Status: "ok"})
}

// handleReadyz is GET /readyz: 200 when Temporal answers a health check within ReadyTimeout,
// 503 with the reason otherwise. PortOne is deliberately not checked: while it is down the
// webhook answers 503 and PortOne retries, which is better than taking the edge out of
// rotation and losing the buyers' redirects too.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := s.wf.CheckHealth(ctx, &client.CheckHealthRequest{})
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, HealthAnswer{
			Status: "unavailable",
			Reason: textfmt.Truncate(fmt.Sprintf("Temporal health check failed within %s: %v", s.cfg.ReadyTimeout, err), 300),
		})
		return
	}
	writeJSON(w, http.StatusOK, HealthAnswer{Status: "ready"})
}
