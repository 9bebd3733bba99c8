package stacktest

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	serverlog "go.temporal.io/server/common/log"

	"github.com/paycycle/paycycle/internal/testlogs"
)

// testLoggers are the stack's two loggers for test t: the client's (the worker's, the workflow
// and activity code's) writing everything from debug up to the test's worker log and its
// warnings and errors to t's output too, and the server's writing from info up to the test's
// server log (temporaltest discards the server's log otherwise, so a failed workflow task's
// cause, "Failing the workflow task." with its cause, was nowhere to be read).
func testLoggers(t *testing.T) (logger sdklog.Logger, server serverlog.Logger, serverPath string, err error) {
	serverPath, err = testlogs.File(t, "server")
	if err != nil {
		return nil, nil, "", err
	}
	workerPath, err := testlogs.File(t, "worker")
	if err != nil {
		return nil, nil, "", err
	}
	w, err := testlogs.Writer(t, workerPath)
	if err != nil {
		return nil, nil, "", err
	}
	// After t's cleanups, a straggling worker goroutine must not call t.Log (it panics then).
	live := &atomic.Bool{}
	live.Store(true)
	t.Cleanup(func() { live.Store(false) })
	file := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	zl := serverlog.BuildZapLogger(serverlog.Config{Level: "info", OutputFile: serverPath, Format: "console"})
	if zl == nil {
		return nil, nil, "", fmt.Errorf("server log %s: cannot open", serverPath)
	}
	return &workerLogger{file: file, t: t, live: live}, serverlog.NewZapLogger(zl), serverPath, nil
}

// workerLogger is the SDK logger of a test's stack: everything to the worker log file,
// warnings and errors to the test's output as well.
type workerLogger struct {
	file   *slog.Logger
	t      *testing.T
	live   *atomic.Bool
	prefix []any
}

var _ sdklog.WithLogger = (*workerLogger)(nil)

func (l *workerLogger) Debug(msg string, keyvals ...any) { l.file.Debug(msg, keyvals...) }
func (l *workerLogger) Info(msg string, keyvals ...any)  { l.file.Info(msg, keyvals...) }

func (l *workerLogger) Warn(msg string, keyvals ...any) {
	l.file.Warn(msg, keyvals...)
	l.toTest("WARN", msg, keyvals)
}

func (l *workerLogger) Error(msg string, keyvals ...any) {
	l.file.Error(msg, keyvals...)
	l.toTest("ERROR", msg, keyvals)
}

// With is a logger that prepends keyvals to every entry.
func (l *workerLogger) With(keyvals ...any) sdklog.Logger {
	return &workerLogger{file: l.file.With(keyvals...), t: l.t, live: l.live, prefix: append(append([]any(nil), l.prefix...), keyvals...)}
}

func (l *workerLogger) toTest(level, msg string, keyvals []any) {
	if !l.live.Load() {
		return
	}
	l.t.Log(append(append([]any{level, msg}, l.prefix...), keyvals...)...)
}
