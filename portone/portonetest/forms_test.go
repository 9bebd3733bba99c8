package portonetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeBracketForm(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{"empty", "", map[string]any{}},
		{"plain", "a=1&b=x", map[string]any{"a": "1", "b": "x"}},
		{"escaping", "name=%EC%9B%94%EA%B0%84+%EA%B5%AC%EB%8F%85&k%5Bx%5D=v", map[string]any{"name": "월간 구독", "k": map[string]any{"x": "v"}}},
		{"nested object", "extra[naverUseCfm]=20261102", map[string]any{"extra": map[string]any{"naverUseCfm": "20261102"}}},
		{"append list", "customer_uid[]=a&customer_uid[]=b", map[string]any{"customer_uid": []any{"a", "b"}}},
		{"repeated plain key is a list", "merchant_uid=a&merchant_uid=b", map[string]any{"merchant_uid": []any{"a", "b"}}},
		{"indexed objects", "schedules[0][merchant_uid]=m0&schedules[1][merchant_uid]=m1&schedules[0][amount]=10",
			map[string]any{"schedules": []any{map[string]any{"merchant_uid": "m0", "amount": "10"}, map[string]any{"merchant_uid": "m1"}}}},
		{"indexes sorted numerically", "a[10]=x&a[2]=y", map[string]any{"a": []any{"y", "x"}}},
		{"sparse indexes are compacted", "a[0]=x&a[5]=y", map[string]any{"a": []any{"x", "y"}}},
		{"deep", "schedules[0][extra][naverUseCfm]=20261102",
			map[string]any{"schedules": []any{map[string]any{"extra": map[string]any{"naverUseCfm": "20261102"}}}}},
		{"append objects", "a[][b]=1&a[][c]=2", map[string]any{"a": []any{map[string]any{"b": "1"}, map[string]any{"c": "2"}}}},
		{"leading-zero index stays a key", "a[01]=x", map[string]any{"a": map[string]any{"01": "x"}}},
		{"empty value", "a=", map[string]any{"a": ""}},
		{"no equals", "flag", map[string]any{"flag": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBracketForm(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeBracketFormErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"leaf then container", "a=1&a[b]=2", "used both"},
		{"container then leaf", "a[b]=2&a=1", "used both"},
		{"object then list", "a[b]=1&a[]=2", "used both"},
		{"unclosed bracket", "a[b=1", "unclosed"},
		{"text after bracket", "a[b]c=1", "unexpected text"},
		{"empty name", "[a]=1", "empty name"},
		{"too deep", "a[1][2][3][4][5][6][7][8][9]=x", "deeper"},
		{"bad escape", "a=%zz", "invalid form value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBracketForm(tt.in)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestParamsAccessors(t *testing.T) {
	m, err := decodeJSONObject([]byte(`{"n":1000,"f":"1000.0","frac":10.5,"s":"x","b":true,"bs":"false",
		"o":{"k":"v"},"os":"{\"k\":\"v2\"}","l":["a","b"],"ls":"[\"c\"]","one":"z","null":null,"big":12345678901234}`))
	require.NoError(t, err)
	p := newParams(m)

	n, given, err := p.int("n")
	require.NoError(t, err)
	require.True(t, given)
	require.EqualValues(t, 1000, n)
	n, _, err = p.int("f")
	require.NoError(t, err)
	require.EqualValues(t, 1000, n)
	n, _, err = p.int("big")
	require.NoError(t, err)
	require.EqualValues(t, 12345678901234, n)
	_, _, err = p.int("frac")
	require.ErrorContains(t, err, "frac 파라메터의 형식이 올바르지 않습니다")
	_, _, err = p.int("s")
	require.Error(t, err)
	_, given, err = p.int("null")
	require.NoError(t, err)
	require.False(t, given, "JSON null is absent")

	b, _, err := p.boolean("b")
	require.NoError(t, err)
	require.True(t, b)
	b, given, err = p.boolean("bs")
	require.NoError(t, err)
	require.True(t, given)
	require.False(t, b)

	o, given, err := p.obj("o")
	require.NoError(t, err)
	require.True(t, given)
	v, _, _ := o.str("k")
	require.Equal(t, "v", v)
	o, _, err = p.obj("os")
	require.NoError(t, err, "a JSON object serialised into a string is accepted")
	v, _, _ = o.str("k")
	require.Equal(t, "v2", v)
	_, _, err = p.obj("s")
	require.Error(t, err)

	l, err := p.strList("l")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, l)
	l, err = p.strList("ls")
	require.NoError(t, err)
	require.Equal(t, []string{"c"}, l)
	l, err = p.strList("one")
	require.NoError(t, err)
	require.Equal(t, []string{"z"}, l)
	_, err = p.strList("o")
	require.Error(t, err)

	_, _, err = p.str("o")
	require.ErrorContains(t, err, "o 파라메터의 형식이 올바르지 않습니다")
	nested, _, _ := p.obj("o")
	_, _, err = newParams(map[string]any{"x": map[string]any{}}).str("x")
	require.Error(t, err)
	require.Equal(t, "o[k]", nested.name("k"))
}

func TestDecodeBody(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           map[string]any
		wantErr        string
	}{
		{"json", "application/json", `{"a":1}`, map[string]any{"a": json.Number("1")}, ""},
		{"json charset", "application/json; charset=utf-8", `{"a":"x"}`, map[string]any{"a": "x"}, ""},
		{"form", "application/x-www-form-urlencoded", "a[b]=1", map[string]any{"a": map[string]any{"b": "1"}}, ""},
		{"sniffed json", "", `{"a":"x"}`, map[string]any{"a": "x"}, ""},
		{"sniffed form", "", "a=x", map[string]any{"a": "x"}, ""},
		{"empty", "application/json", "  ", map[string]any{}, ""},
		{"malformed json", "application/json", `{"a":`, nil, "malformed JSON"},
		{"json array", "application/json", `[1]`, nil, "must be an object"},
		{"trailing json", "application/json", `{"a":1} {}`, nil, "trailing data"},
		{"unsupported", "text/plain", "a", nil, "unsupported Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			got, err := decodeBody(r)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
