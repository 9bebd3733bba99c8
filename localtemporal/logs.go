package localtemporal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	sdklog "go.temporal.io/sdk/log"
	serverlog "go.temporal.io/server/common/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/paycycle/paycycle/logging"
)

// logSink sends the server's log lines (and those of the SDK client Start uses for set-up) to a
// file, so a developer's terminal shows the product, not Temporal's start-up chatter.
type logSink struct {
	path      string
	file      *stopWriter // nil when logging to standard error
	zap       *zap.Logger
	logger    serverlog.Logger
	sdkLogger sdklog.Logger
}

func openLogSink(o Options) (*logSink, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return nil, fmt.Errorf("localtemporal: log level %q: want debug, info, warn or error", o.LogLevel)
	}
	sink := &logSink{path: o.LogFile}
	var out zapcore.WriteSyncer
	if o.LogFile == "-" {
		out = zapcore.Lock(os.Stderr)
	} else {
		if sink.path == "" {
			sink.path = filepath.Join(o.DataDir, LogFileName)
		}
		f, err := os.OpenFile(sink.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("localtemporal: open server log: %w", err)
		}
		sink.file = &stopWriter{f: f}
		out = zapcore.AddSync(sink.file)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	sink.zap = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), out, lvl))
	sink.logger = serverlog.NewZapLogger(sink.zap)
	sink.sdkLogger = logging.Temporal(sink.zap.Named("localtemporal"))
	return sink, nil
}

func (l *logSink) close() error {
	_ = l.zap.Sync()
	if l.file == nil {
		return nil
	}
	if err := l.file.close(); err != nil {
		return fmt.Errorf("localtemporal: close server log: %w", err)
	}
	return nil
}

// stopWriter is the log file, serialised, that drops writes once closed: a few of the server's
// background goroutines outlive Stop and still log, and their lines must not turn into
// "file already closed" complaints on the terminal.
type stopWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (w *stopWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return len(p), nil
	}
	return w.f.Write(p)
}

func (w *stopWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.f
	w.f = nil
	if f == nil {
		return nil
	}
	return f.Close()
}
