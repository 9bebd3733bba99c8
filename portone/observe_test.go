package portone

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestObserverSeesEveryExchange checks that the observer hook reports each HTTP exchange with
// its route template, status and PortOne code, and nothing that identifies a customer.
func TestObserverSeesEveryExchange(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users/getToken", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"code":0,"message":null,"response":{"access_token":"`+testToken+`","expired_at":`+
			jsonInt(time.Now().Add(time.Hour).Unix())+`,"now":`+jsonInt(time.Now().Unix())+`}}`)
	})
	mux.HandleFunc("GET /payments/imp_000000000001", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":1,"message":"존재하지 않는 결제정보입니다.","response":null}`)
	})
	mux.HandleFunc("GET /payments/imp_000000000002", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `not json`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var mu sync.Mutex
	var seen []Exchange
	c, err := NewClient(Credentials{Key: testKey, Secret: testSecret}, WithBaseURL(srv.URL),
		WithObserver(func(e Exchange) { mu.Lock(); seen = append(seen, e); mu.Unlock() }))
	require.NoError(t, err)
	_, err = c.GetPayment(context.Background(), "imp_000000000001")
	require.ErrorIs(t, collect(err), ErrNotFound)
	_, err = c.GetPayment(context.Background(), "imp_000000000002")
	require.Error(t, collect(err))
	srv.Close()
	_, err = c.GetPayment(context.Background(), "imp_000000000003")
	require.Error(t, collect(err))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 4)
	tests := []struct {
		op              string
		status, code    int
		hasCode, hasErr bool
	}{
		{opGetToken, 200, 0, true, false},
		{"GET /payments/{imp_uid}", 404, 1, true, false},
		{"GET /payments/{imp_uid}", 502, 0, false, false},
		{"GET /payments/{imp_uid}", 0, 0, false, true},
	}
	for i, tt := range tests {
		e := seen[i]
		assert.Equal(t, tt.op, e.Op, "exchange %d", i)
		assert.Equal(t, tt.status, e.HTTPStatus, "exchange %d", i)
		assert.Equal(t, tt.code, e.Code, "exchange %d", i)
		assert.Equal(t, tt.hasCode, e.HasCode, "exchange %d", i)
		assert.Equal(t, tt.hasErr, e.Err != nil, "exchange %d", i)
		assert.Positive(t, e.Duration, "exchange %d", i)
		assert.NotContains(t, e.Op, "imp_0000", "the op is a route template")
	}
}

func TestWithObserverRefusesNil(t *testing.T) {
	_, err := NewClient(Credentials{Key: testKey, Secret: testSecret}, WithObserver(nil))
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "observer"), err.Error())
}

func jsonInt(n int64) string { return strconv.FormatInt(n, 10) }
