// Package logging builds the project's zap loggers, bridges the Temporal SDK's logger to zap, and
// masks personal data before it can reach a log line.
package logging

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a zap logger at level ("debug", "info", "warn", "error") in format "json" (for
// machines) or "console" (for people).
func New(level, format string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	var cfg zap.Config
	switch format {
	case "json", "":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.TimeKey = "ts"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.DisableStacktrace = lvl > zapcore.DebugLevel
	return cfg.Build()
}

// Temporal adapts a zap logger to the Temporal SDK's log.Logger, so the SDK, workflows
// (workflow.GetLogger) and activities (activity.GetLogger) all log through the same zap core.
func Temporal(z *zap.Logger) log.Logger {
	return &temporalLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

type temporalLogger struct{ z *zap.Logger }

var (
	_ log.Logger          = (*temporalLogger)(nil)
	_ log.WithLogger      = (*temporalLogger)(nil)
	_ log.WithSkipCallers = (*temporalLogger)(nil)
)

func (l *temporalLogger) fields(keyvals []any) []zap.Field {
	fields := make([]zap.Field, 0, len(keyvals)/2+1)
	for i := 0; i < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if i+1 >= len(keyvals) {
			fields = append(fields, zap.Any("_dangling", key))
			break
		}
		fields = append(fields, zap.Any(key, keyvals[i+1]))
	}
	return fields
}

func (l *temporalLogger) Debug(msg string, keyvals ...any) { l.z.Debug(msg, l.fields(keyvals)...) }
func (l *temporalLogger) Info(msg string, keyvals ...any)  { l.z.Info(msg, l.fields(keyvals)...) }
func (l *temporalLogger) Warn(msg string, keyvals ...any)  { l.z.Warn(msg, l.fields(keyvals)...) }
func (l *temporalLogger) Error(msg string, keyvals ...any) { l.z.Error(msg, l.fields(keyvals)...) }

// With returns a logger that adds keyvals to every line.
func (l *temporalLogger) With(keyvals ...any) log.Logger {
	return &temporalLogger{z: l.z.With(l.fields(keyvals)...)}
}

// WithCallerSkip returns a logger that reports callers depth frames further up.
func (l *temporalLogger) WithCallerSkip(depth int) log.Logger {
	return &temporalLogger{z: l.z.WithOptions(zap.AddCallerSkip(depth))}
}

// MaskTel keeps a phone number's last four digits: "010-1234-5678" → "***-****-5678".
func MaskTel(tel string) string {
	n := 0
	out := []rune(tel)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] >= '0' && out[i] <= '9' {
			n++
			if n > 4 {
				out[i] = '*'
			}
		}
	}
	return string(out)
}

// MaskEmail keeps an e-mail's first character and domain: "buyer@example.com" → "b****@example.com".
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return strings.Repeat("*", utf8.RuneCountInString(email))
	}
	r, size := utf8.DecodeRuneInString(local)
	return string(r) + strings.Repeat("*", utf8.RuneCountInString(local[size:])) + "@" + domain
}

// MaskName keeps a name's first character: "홍길동" → "홍**".
func MaskName(name string) string {
	if name == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(name)
	return string(r) + strings.Repeat("*", utf8.RuneCountInString(name[size:]))
}
