package logging_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/paycycle/paycycle/logging"
)

func TestMasks(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		give string
		want string
	}{
		{"tel", logging.MaskTel, "010-1234-5678", "***-****-5678"},
		{"tel digits", logging.MaskTel, "01012345678", "*******5678"},
		{"short tel", logging.MaskTel, "123", "123"},
		{"email", logging.MaskEmail, "buyer@example.com", "b****@example.com"},
		{"not an email", logging.MaskEmail, "nobody", "******"},
		{"name", logging.MaskName, "홍길동", "홍**"},
		{"empty name", logging.MaskName, "", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.fn(tt.give), tt.name)
	}
}

func TestTemporalAdapter(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := log.With(logging.Temporal(zap.New(core)), "subscription", "sub-1")
	l.Info("charged", "merchant_uid", "sub-1-abcd-1-1", "amount", 9900, "dangling")
	entries := logs.All()
	require.Len(t, entries, 1)
	require.Equal(t, "charged", entries[0].Message)
	fields := entries[0].ContextMap()
	require.Equal(t, "sub-1", fields["subscription"])
	require.Equal(t, "sub-1-abcd-1-1", fields["merchant_uid"])
	require.EqualValues(t, 9900, fields["amount"])
	require.Equal(t, "dangling", fields["_dangling"])
}

func TestNewRejectsBadSettings(t *testing.T) {
	_, err := logging.New("loud", "json")
	require.ErrorContains(t, err, "log level")
	_, err = logging.New("info", "xml")
	require.ErrorContains(t, err, "log format")
	l, err := logging.New("warn", "console")
	require.NoError(t, err)
	require.NotNil(t, l)
}
