package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/paycycle/paycycle/billing"
)

// decodeStrict decodes JSON into v refusing fields v does not have, so that a misspelt field
// ("whenn", "anchorday") is an error naming it and the nearest known field rather than a silent
// default. It is deterministic (workflow code may call it).
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			reason := "is not a known field"
			if near := nearestField(reflect.TypeOf(v), name); near != "" {
				reason += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return &billing.InputError{Field: name, Reason: reason}
		}
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON object")
	}
	return nil
}

// nearestField is the JSON field name of t (or of the structs it contains) closest to name, if
// any is close enough to be a likely typo.
func nearestField(t reflect.Type, name string) string {
	best, bestDist := "", 1<<30
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			if d := editDistance(strings.ToLower(tag), strings.ToLower(name)); d < bestDist {
				best, bestDist = tag, d
			}
			walk(f.Type)
		}
	}
	walk(t)
	if bestDist > max(2, len(name)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance, counting a removed "_" as free so that
// "anchorday" is next to "anchor_day".
func editDistance(a, b string) int {
	a, b = strings.ReplaceAll(a, "_", ""), strings.ReplaceAll(b, "_", "")
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
