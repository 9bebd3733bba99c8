package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/paycycle/paycycle/codec"
)

// codecKeyID names the key devserver creates; payloads carry it, so a later rotation can tell
// keys apart.
const codecKeyID = "local1"

// loadOrCreateCodecKey returns the data dir's codec key ("id:base64[,...]"), creating it on first
// use. The key lives with the data: workflows in the database can only be read with it, so
// -reset deletes both together.
func loadOrCreateCodecKey(path string) (keys string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		keys = strings.TrimSpace(string(b))
		if _, perr := codec.ParseKeys(keys); perr != nil {
			return "", false, fmt.Errorf("codec key file %s: %w (fix it, or start over with -reset)", path, perr)
		}
		return keys, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("read codec key: %w", err)
	}
	keys, err = codec.NewKeyString(codecKeyID)
	if err != nil {
		return "", false, fmt.Errorf("create codec key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("create codec key: %w", err)
	}
	if _, err := f.WriteString(keys + "\n"); err != nil {
		_ = f.Close()
		return "", false, fmt.Errorf("write codec key: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("write codec key: %w", err)
	}
	return keys, true, nil
}

// codecServer serves the payload codec for the Web UI (which calls it from the browser, hence
// CORS for the UI's origins) and for the temporal CLI (--codec-endpoint).
type codecServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

func startCodecServer(addr, keys string, uiOrigins []string) (*codecServer, error) {
	parsed, err := codec.ParseKeys(keys)
	if err != nil {
		return nil, err
	}
	c, err := codec.New(parsed)
	if err != nil {
		return nil, err
	}
	inner := codec.HTTPHandler(c, uiOrigins)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/", inner)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &codecServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *codecServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}
