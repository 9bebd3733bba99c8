package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// DecodeStrict decodes one JSON value into v (a pointer) and refuses what encoding/json
// forgives: unknown fields (a misspelt "anchorday" would otherwise be dropped and its default
// used, which for money is the wrong kind of forgiving), keys that differ from the field only
// in case, and trailing data. Every refusal is an *InputError naming the field by its path and,
// for an unknown field, the nearest known one:
//
//	plan.anchorday: unknown field (did you mean "anchor_day"?)
//
// Types with their own UnmarshalJSON (Duration, AnchorDay) check their own contents. The
// workflow uses it for its input and every message payload, the starter for input files.
//
// A top-level JSON null is refused (NullPayloadError): encoding/json leaves the value as it
// was, so a null pause would be a pause with every default, which nobody asked for.
func DecodeStrict(raw []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("billing.DecodeStrict: want a non-nil pointer, got %T", v)
	}
	if IsNullPayload(raw) {
		return NullPayloadError()
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return syntaxInputError(raw, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &InputError{Field: "(input)", Reason: "more than one JSON value; send one object"}
	}
	if err := checkFields(generic, rv.Type().Elem(), ""); err != nil {
		return err
	}
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return ie
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "(input)"
			}
			return &InputError{Field: field, Reason: fmt.Sprintf("must be %s, got JSON %s", jsonKind(te.Type), te.Value)}
		}
		field := "(input)"
		return &InputError{Field: field, Reason: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// IsNullPayload reports whether raw is the JSON literal null (white space around it allowed).
// An absent payload (no bytes at all) is not null: a message sent without a payload means {}.
func IsNullPayload(raw []byte) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// NullPayloadError is the refusal of a null payload, worded for the sender.
func NullPayloadError() *InputError {
	return &InputError{Field: "(input)", Reason: "must be a JSON object, got null (send {} for a message whose fields are all optional)"}
}

func syntaxInputError(raw []byte, err error) *InputError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(raw[:min(int(se.Offset), len(raw))], []byte("\n"))
		return &InputError{Field: "(input)", Reason: fmt.Sprintf("not valid JSON at line %d: %s", line, se.Error())}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &InputError{Field: "(input)", Reason: "empty or truncated JSON"}
	}
	return &InputError{Field: "(input)", Reason: err.Error()}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkFields walks the decoded value against the Go type and reports the first key (in sorted
// order, so the answer is stable) that the type does not have.
func checkFields(val any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return nil // a type mismatch; the second decode reports it
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		//workflowcheck:ignore the keys are sorted before use
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				return unknownField(joinPath(path, k), k, fields)
			}
			if err := checkFields(obj[k], f, joinPath(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := val.([]any)
		if !ok {
			return nil
		}
		for i, el := range list {
			if err := checkFields(el, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := val.(map[string]any)
		if !ok {
			return nil
		}
		keys := make([]string, 0, len(obj))
		//workflowcheck:ignore the keys are sorted before use
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := checkFields(obj[k], t.Elem(), joinPath(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// jsonFields returns a struct's JSON names (with embedded structs' promoted fields) and types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				//workflowcheck:ignore a map copied into a map: order cannot matter
				for k, v := range jsonFields(et) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func unknownField(path, key string, fields map[string]reflect.Type) *InputError {
	known := make([]string, 0, len(fields))
	//workflowcheck:ignore the names are sorted before use
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	if near := nearest(key, known); near != "" {
		return &InputError{Field: path, Reason: fmt.Sprintf("unknown field (did you mean %q?)", near)}
	}
	return &InputError{Field: path, Reason: "unknown field; known fields: " + strings.Join(known, ", ")}
}

// nearest returns the known name closest to key, or "" when none is close enough to be a
// plausible typo. Case and underscores are ignored first ("anchorDay", "anchorday" both mean
// anchor_day), then edit distance decides.
func nearest(key string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "") }
	best, bestD := "", 0
	for _, k := range known {
		if norm(k) == norm(key) {
			return k
		}
		d := editDistance(strings.ToLower(key), strings.ToLower(k))
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	limit := max(2, len([]rune(key))/3)
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance over runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
