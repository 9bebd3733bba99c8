package portonetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// PortOne accepts every request both as JSON and as application/x-www-form-urlencoded, and
// its clients nest values in forms with PHP-style bracket notation:
//
//	extra[naverUseCfm]=20260101
//	schedules[0][merchant_uid]=m1&schedules[0][amount]=1000
//	customer_uid[]=a&customer_uid[]=b
//
// decodeBracketForm turns such a form into the same generic tree that encoding/json produces
// for the equivalent JSON body (map[string]any, []any, string leaves), so every handler reads
// one shape regardless of how the client encoded it.

// maxBracketDepth bounds how deeply a form key may nest, so a hostile key cannot make the
// decoder recurse without limit.
const maxBracketDepth = 8

// decodeBracketForm parses an urlencoded string (a request body or a raw query) in order and
// builds a tree from its bracket-notation keys. Rules:
//
//   - "a=1" sets a leaf; repeating a plain key ("a=1&a=2") makes a list, as "a[]" would.
//   - "a[]=1" appends to the list a; "a[][b]=1" appends a new object to a.
//   - "a[b]=1" sets key b of object a; "a[0][b]=1&a[1][b]=2" builds an object whose keys are
//     all decimal indexes, which is turned into a list ordered by index (sparse indexes are
//     compacted: a[0], a[5] gives a two-element list).
//   - A key used both as a leaf and as a container ("a=1&a[b]=2"), an unclosed bracket or
//     text after a closing bracket ("a[b]c") is an error, never a guess.
func decodeBracketForm(raw string) (map[string]any, error) {
	root := map[string]any{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("invalid form key %q: %w", k, err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("invalid form value for %q: %w", key, err)
		}
		segs, err := splitBracketKey(key)
		if err != nil {
			return nil, err
		}
		child, err := insertBracket(root[segs[0]], segs[1:], val, segs[0])
		if err != nil {
			return nil, err
		}
		root[segs[0]] = child
	}
	for k, v := range root {
		root[k] = compactIndexes(v)
	}
	return root, nil
}

// splitBracketKey splits "a[b][0][]" into ["a", "b", "0", ""].
func splitBracketKey(key string) ([]string, error) {
	base, rest, hasBracket := strings.Cut(key, "[")
	if base == "" {
		return nil, fmt.Errorf("invalid form key %q: empty name", key)
	}
	segs := []string{base}
	if !hasBracket {
		return segs, nil
	}
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return nil, fmt.Errorf("invalid form key %q: unexpected text after ]", key)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("invalid form key %q: unclosed [", key)
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
		if len(segs) > maxBracketDepth {
			return nil, fmt.Errorf("invalid form key %q: nested deeper than %d", key, maxBracketDepth)
		}
	}
	return segs, nil
}

// insertBracket stores val at path segs below node and returns the updated node. name is the
// key so far, for error messages.
func insertBracket(node any, segs []string, val, name string) (any, error) {
	if len(segs) == 0 {
		switch n := node.(type) {
		case nil:
			return val, nil
		case string:
			return []any{n, val}, nil
		case []any:
			if !allLeaves(n) {
				return nil, fmt.Errorf("form key %q is used both as a value and as a container", name)
			}
			return append(n, val), nil
		default:
			return nil, fmt.Errorf("form key %q is used both as a value and as a container", name)
		}
	}
	seg, rest := segs[0], segs[1:]
	if seg == "" {
		var list []any
		switch n := node.(type) {
		case nil:
		case []any:
			list = n
		case string:
			list = []any{n}
		default:
			return nil, fmt.Errorf("form key %q is used both as a list and as an object", name)
		}
		elem, err := insertBracket(nil, rest, val, name+"[]")
		if err != nil {
			return nil, err
		}
		return append(list, elem), nil
	}
	var obj map[string]any
	switch n := node.(type) {
	case nil:
		obj = map[string]any{}
	case map[string]any:
		obj = n
	default:
		return nil, fmt.Errorf("form key %q is used both as a value or list and as an object", name)
	}
	child, err := insertBracket(obj[seg], rest, val, name+"["+seg+"]")
	if err != nil {
		return nil, err
	}
	obj[seg] = child
	return obj, nil
}

func allLeaves(list []any) bool {
	for _, v := range list {
		if _, ok := v.(string); !ok {
			return false
		}
	}
	return true
}

// compactIndexes turns every object whose keys are all decimal indexes into a list ordered by
// index, recursively.
func compactIndexes(v any) any {
	switch n := v.(type) {
	case map[string]any:
		for k, c := range n {
			n[k] = compactIndexes(c)
		}
		if len(n) == 0 {
			return n
		}
		idx := make([]int, 0, len(n))
		byIdx := make(map[int]any, len(n))
		for k, c := range n {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || strconv.Itoa(i) != k {
				return n
			}
			idx = append(idx, i)
			byIdx[i] = c
		}
		sort.Ints(idx)
		list := make([]any, 0, len(idx))
		for _, i := range idx {
			list = append(list, byIdx[i])
		}
		return list
	case []any:
		for i, c := range n {
			n[i] = compactIndexes(c)
		}
		return n
	default:
		return v
	}
}

// errBodyTooLarge is returned when a request body exceeds maxBodyBytes.
var errBodyTooLarge = errors.New("request body too large")

// maxBodyBytes bounds request bodies; PortOne's own requests are a few kilobytes at most.
const maxBodyBytes = 1 << 20

// decodeBody reads r's body as JSON or as a bracket-notation form, depending on Content-Type.
// A missing Content-Type is sniffed: a body starting with '{' is JSON, anything else a form.
func decodeBody(r *http.Request) (map[string]any, error) {
	if r.Body == nil {
		return map[string]any{}, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		return nil, fmt.Errorf("reading body: %w", err)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return map[string]any{}, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		return decodeJSONObject(trimmed)
	case mediaType == "application/x-www-form-urlencoded":
		return decodeBracketForm(string(trimmed))
	case mediaType == "" && trimmed[0] == '{':
		return decodeJSONObject(trimmed)
	case mediaType == "":
		return decodeBracketForm(string(trimmed))
	default:
		return nil, fmt.Errorf("unsupported Content-Type %q (use application/json or application/x-www-form-urlencoded)", mediaType)
	}
}

// decodeJSONObject decodes a JSON object, keeping numbers as json.Number so that amounts are
// not rounded through float64.
func decodeJSONObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("malformed JSON: trailing data after the object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("malformed JSON: the body must be an object")
	}
	return m, nil
}

// params is a decoded request (body, query or one nested object) with typed accessors. Every
// accessor treats an absent key, JSON null and an empty form value alike as "not given".
type params struct {
	m    map[string]any
	path string // prefix for error messages, e.g. "schedules[0]"
}

func newParams(m map[string]any) params { return params{m: m} }

// paramError is a request field that is present but malformed. Its message is what the
// emulator returns to the client.
type paramError struct{ msg string }

// Error returns the message sent to the client.
func (e *paramError) Error() string { return e.msg }

func (p params) name(key string) string {
	if p.path == "" {
		return key
	}
	return p.path + "[" + key + "]"
}

func (p params) badType(key, want string) error {
	return &paramError{msg: fmt.Sprintf("%s 파라메터의 형식이 올바르지 않습니다. (%s이어야 합니다)", p.name(key), want)}
}

// raw returns the value at key, treating JSON null and "" as absent.
func (p params) raw(key string) (any, bool) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return nil, false
	}
	if s, isStr := v.(string); isStr && s == "" {
		return nil, false
	}
	return v, true
}

// str returns a scalar as a string.
func (p params) str(key string) (string, bool, error) {
	v, ok := p.raw(key)
	if !ok {
		return "", false, nil
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	default:
		return "", false, p.badType(key, "문자열")
	}
}

// int returns a whole number. It accepts JSON numbers and numeric strings, including a
// fractional part of zero ("1000.0"), because PortOne's own clients send amounts all three ways.
func (p params) int(key string) (int64, bool, error) {
	v, ok := p.raw(key)
	if !ok {
		return 0, false, nil
	}
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return 0, false, p.badType(key, "정수")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1e15 {
		return 0, false, p.badType(key, "정수")
	}
	return int64(f), true, nil
}

// boolean returns true/false given as a JSON boolean or as "true", "false", "1" or "0".
func (p params) boolean(key string) (bool, bool, error) {
	v, ok := p.raw(key)
	if !ok {
		return false, false, nil
	}
	switch x := v.(type) {
	case bool:
		return x, true, nil
	case string, json.Number:
		s := fmt.Sprint(x)
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return false, false, p.badType(key, "true 또는 false")
		}
		return b, true, nil
	default:
		return false, false, p.badType(key, "true 또는 false")
	}
}

// obj returns a nested object. A string holding a JSON object is accepted too, because some
// clients send "extra" as serialised JSON inside a form.
func (p params) obj(key string) (params, bool, error) {
	v, ok := p.raw(key)
	if !ok {
		return params{m: map[string]any{}, path: p.name(key)}, false, nil
	}
	switch x := v.(type) {
	case map[string]any:
		return params{m: x, path: p.name(key)}, true, nil
	case string:
		if m, err := decodeJSONObject([]byte(x)); err == nil {
			return params{m: m, path: p.name(key)}, true, nil
		}
	}
	return params{}, false, p.badType(key, "객체")
}

// list returns a list. A single scalar is a one-element list; a string holding a JSON array
// is decoded, for clients that serialise arrays into a form field.
func (p params) list(key string) ([]any, bool, error) {
	v, ok := p.raw(key)
	if !ok {
		return nil, false, nil
	}
	switch x := v.(type) {
	case []any:
		return x, true, nil
	case map[string]any:
		return nil, false, p.badType(key, "배열")
	case string:
		t := strings.TrimSpace(x)
		if strings.HasPrefix(t, "[") {
			dec := json.NewDecoder(strings.NewReader(t))
			dec.UseNumber()
			var arr []any
			if err := dec.Decode(&arr); err == nil {
				return arr, true, nil
			}
			return nil, false, p.badType(key, "배열")
		}
		return []any{x}, true, nil
	default:
		return []any{x}, true, nil
	}
}

// strList returns a list of strings (see list), skipping empty entries.
func (p params) strList(key string) ([]string, error) {
	items, _, err := p.list(key)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case string:
			if x != "" {
				out = append(out, x)
			}
		case json.Number:
			out = append(out, x.String())
		case nil:
		default:
			return nil, p.badType(key, "문자열 배열")
		}
	}
	return out, nil
}

// listObjects returns a list of objects, e.g. schedules[].
func (p params) listObjects(key string) ([]params, bool, error) {
	items, ok, err := p.list(key)
	if err != nil || !ok {
		return nil, ok, err
	}
	out := make([]params, 0, len(items))
	for i, it := range items {
		m, isObj := it.(map[string]any)
		if !isObj {
			if s, isStr := it.(string); isStr {
				if mm, err := decodeJSONObject([]byte(s)); err == nil {
					m, isObj = mm, true
				}
			}
		}
		if !isObj {
			return nil, false, &paramError{msg: fmt.Sprintf("%s[%d] 파라메터의 형식이 올바르지 않습니다. (객체이어야 합니다)", p.name(key), i)}
		}
		out = append(out, params{m: m, path: fmt.Sprintf("%s[%d]", p.name(key), i)})
	}
	return out, true, nil
}
