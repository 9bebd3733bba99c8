// Command standin plays emulator, edgeserver, worker or consoleserver (by its file name) in devserver's tests: it
// serves the health endpoint devserver waits for, on the address the real binary would get from
// its flags or environment, and reports what it was given.
//
// Test hooks: GET /__standin answers {name, pid, args, env, temporal_reachable}; GET
// /__die?code=N exits with status N. Environment: STANDIN_NO_HEALTH=<name> keeps that child's
// health endpoint at 503; STANDIN_IGNORE_TERM=<name> makes it ignore SIGTERM.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(2)
	}
}

func run() error {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	var addr, healthPath string
	switch name {
	case "emulator":
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		a := fs.String("addr", "", "listen address")
		fs.String("seed-customers", "", "customer_uids")
		fs.String("notice-url", "", "webhook URL")
		fs.String("state-file", "", "state file")
		for _, v2 := range []string{"v2-addr", "v2-secret", "v2-store-id", "v2-channel-key", "v2-webhook-url", "v2-webhook-secrets", "v2-seed-billing-keys"} {
			fs.String(v2, "", "PortOne V2 setting")
		}
		if err := fs.Parse(os.Args[1:]); err != nil {
			return err
		}
		addr, healthPath = *a, "/__emulator/health"
	case "edgeserver":
		addr, healthPath = os.Getenv("BILLING_EDGE_ADDR"), "/healthz"
	case "worker":
		addr, healthPath = os.Getenv("BILLING_WORKER_HEALTH_ADDR"), "/healthz"
	case "consoleserver":
		addr, healthPath = os.Getenv("PAYCYCLE_CONSOLE_ADDR"), "/healthz"
	default:
		return fmt.Errorf("unknown stand-in name %q", name)
	}
	if addr == "" {
		return fmt.Errorf("%s: no listen address given", name)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	if os.Getenv("STANDIN_IGNORE_TERM") == name {
		signal.Ignore(syscall.SIGTERM)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+healthPath, func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("STANDIN_NO_HEALTH") == name {
			http.Error(w, "never ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /__standin", func(w http.ResponseWriter, _ *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, "BILLING_") || strings.HasPrefix(k, "PORTONE_") ||
				strings.HasPrefix(k, "TEMPORAL_") || k == "PAYCYCLE_CODEC_KEYS" || k == "PAYCYCLE_LINK_SECRET" ||
				k == "PAYCYCLE_WEBHOOK_SECRETS" || k == "PAYCYCLE_READMODEL_DSN" || strings.HasPrefix(k, "PAYCYCLE_CONSOLE_") {
				env[k] = v
			}
		}
		reachable := false
		if ta := os.Getenv("TEMPORAL_ADDRESS"); ta != "" {
			if c, err := net.DialTimeout("tcp", ta, time.Second); err == nil {
				reachable = true
				_ = c.Close()
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": name, "pid": os.Getpid(), "args": os.Args[1:], "env": env, "temporal_reachable": reachable,
		})
	})
	mux.HandleFunc("GET /__die", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Printf("standin %s: dying with status %d as asked\n", name, code)
		w.WriteHeader(http.StatusOK)
		go func() {
			time.Sleep(50 * time.Millisecond)
			os.Exit(code)
		}()
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("standin %s: listening on %s (pid %d)\n", name, addr, os.Getpid())
	fmt.Fprintf(os.Stderr, "standin %s: a line on stderr\n", name)
	go func() { _ = http.Serve(ln, mux) }()
	<-sigs
	fmt.Printf("standin %s: got SIGTERM, stopping\n", name)
	return nil
}
