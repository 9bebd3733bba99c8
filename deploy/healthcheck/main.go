// Command healthcheck is the probe baked into every paycycle image: the images are distroless
// (no shell, no curl), so Docker's and Compose's HEALTHCHECK need a binary of their own. It
// GETs one URL and exits 0 on a 2xx answer, 1 otherwise. A redirect is not followed: a probe
// redirected to some other page (a login page, the https port) has not seen the service healthy.
//
//	healthcheck http://127.0.0.1:7791/healthz
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if err := check(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

func check(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: healthcheck URL (got %d arguments)", len(args))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return fmt.Errorf("URL %q: %w", args[0], err)
	}
	// Standard library only (the package is its own image layer), so the never-follow policy
	// of internal/nofollow is spelt out here.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", args[0], res.Status)
	}
	return nil
}
