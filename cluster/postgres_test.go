package cluster

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An open port is not a ready PostgreSQL: a listener that accepts connections but speaks no
// PostgreSQL (as a starting server answers only 57P03) must not count as accepting.
func TestWaitAcceptingNeedsAServerThatAcceptsSessions(t *testing.T) {
	bin, err := FindPostgresBin()
	if err != nil {
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	p := &Postgres{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "temporal", dir: t.TempDir(), bin: bin}
	require.NoError(t, waitTCP(context.Background(), p.Addr()), "the port is open")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.ErrorContains(t, p.waitAccepting(ctx), "never accepted connections")
}
