package codec_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/paycycle/paycycle/codec"
)

func newCodec(t *testing.T, ids ...string) (*codec.Codec, string) {
	t.Helper()
	var parts []string
	for _, id := range ids {
		k, err := codec.NewKeyString(id)
		require.NoError(t, err)
		parts = append(parts, k)
	}
	spec := strings.Join(parts, ",")
	keys, err := codec.ParseKeys(spec)
	require.NoError(t, err)
	c, err := codec.New(keys)
	require.NoError(t, err)
	return c, spec
}

func TestRoundTripHidesPersonalData(t *testing.T) {
	c, _ := newCodec(t, "k1")
	dc := c.DataConverter()
	in := map[string]string{"tel": "010-1234-5678", "email": "buyer@example.com"}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.NotContains(t, string(p.Data), "010-1234-5678")
	require.NotContains(t, string(p.Data), "buyer@example.com")
	require.Equal(t, codec.MetadataEncoding, string(p.Metadata[converter.MetadataEncoding]))
	var out map[string]string
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, in, out)
}

func TestRotationAndPassThrough(t *testing.T) {
	old, oldSpec := newCodec(t, "old")
	p, err := old.DataConverter().ToPayload("secret")
	require.NoError(t, err)
	// A codec whose current key is new still reads payloads encrypted with the old one.
	newKey, err := codec.NewKeyString("new")
	require.NoError(t, err)
	keys, err := codec.ParseKeys(newKey + "," + oldSpec)
	require.NoError(t, err)
	rotated, err := codec.New(keys)
	require.NoError(t, err)
	var s string
	require.NoError(t, rotated.DataConverter().FromPayload(p, &s))
	require.Equal(t, "secret", s)
	// Plain payloads (never encrypted) pass through.
	plain, err := converter.GetDefaultDataConverter().ToPayload("plain")
	require.NoError(t, err)
	require.NoError(t, rotated.DataConverter().FromPayload(plain, &s))
	require.Equal(t, "plain", s)
	// An unknown key is a clear error.
	other, _ := newCodec(t, "other")
	err = other.DataConverter().FromPayload(p, &s)
	require.ErrorContains(t, err, `unknown key "old"`)
}

func TestParseKeysErrors(t *testing.T) {
	tests := []struct{ give, want string }{
		{"", "no codec key"},
		{"nokey", `must be "id:base64"`},
		{"k:notbase64!", "32 bytes"},
		{"k:" + "c2hvcnQ=", "32 bytes"},
	}
	for _, tt := range tests {
		_, err := codec.ParseKeys(tt.give)
		require.ErrorContains(t, err, tt.want, tt.give)
	}
	k := codec.Key{ID: "k", Secret: bytes.Repeat([]byte{7}, 32)}
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", k, k, k), "\x07")
}

func TestHTTPHandlerForTheWebUI(t *testing.T) {
	c, _ := newCodec(t, "k1")
	srv := httptest.NewServer(codec.HTTPHandler(c, []string{"http://127.0.0.1:8233"}))
	defer srv.Close()

	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"tel": "010-0000-0000"})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)

	post := func(path, origin string, body []byte) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return res
	}
	res := post("/default/encode", "http://127.0.0.1:8233", body)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "http://127.0.0.1:8233", res.Header.Get("Access-Control-Allow-Origin"))
	var enc json.RawMessage
	require.NoError(t, json.NewDecoder(res.Body).Decode(&enc))
	res.Body.Close()
	require.NotContains(t, string(enc), "010-0000-0000")

	res = post("/default/decode", "", enc)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var dec commonpb.Payloads
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(res.Body)
	res.Body.Close()
	require.NoError(t, protojson.Unmarshal(raw.Bytes(), &dec))
	var out map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec.Payloads[0], &out))
	require.Equal(t, "010-0000-0000", out["tel"])

	res = post("/default/decode", "http://evil.example", enc)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	res.Body.Close()
}

func BenchmarkEncodeDecode(b *testing.B) {
	k, _ := codec.NewKeyString("bench")
	keys, _ := codec.ParseKeys(k)
	c, _ := codec.New(keys)
	dc := c.DataConverter()
	in := map[string]any{"subscription_id": "sub-1001", "buyer": map[string]string{"tel": "010-1234-5678", "email": "a@b.c"}, "amount": 9900}
	for b.Loop() {
		p, err := dc.ToPayload(in)
		if err != nil {
			b.Fatal(err)
		}
		var out map[string]any
		if err := dc.FromPayload(p, &out); err != nil {
			b.Fatal(err)
		}
	}
}
