package explain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Extra holds the keys of a plan object that pgadvisor's types do not read
// as they came: keys it has no field for (newer servers, other tools) and
// keys whose value is of another JSON kind than the field's (a changed
// type, e.g. 17's "Generation" object). They are kept, undecoded, so that
// nothing is lost and a plan is never rejected for them.
type Extra map[string]json.RawMessage

// decodeLenient decodes the JSON object data into the struct v points to,
// field by field by their json tags: a key without a field, or whose value
// does not decode into its field, goes into the returned Extra (the field
// stays zero) instead of failing the whole plan. Only data that is not a
// JSON object is an error.
func decodeLenient(data []byte, v any) (Extra, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil { // null
		return nil, nil
	}
	rv := reflect.ValueOf(v).Elem()
	fields := fieldsOf(rv.Type())
	var extra Extra
	for key, val := range raw {
		i, ok := fields[key]
		if !ok {
			extra = addExtra(extra, key, val)
			continue
		}
		f := rv.Field(i)
		if err := json.Unmarshal(val, f.Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			var se *json.SyntaxError
			if !errors.As(err, &te) && !errors.As(err, &se) {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			f.SetZero()
			extra = addExtra(extra, key, val)
		}
	}
	return extra, nil
}

func addExtra(extra Extra, key string, val json.RawMessage) Extra {
	if extra == nil {
		extra = Extra{}
	}
	extra[key] = val
	return extra
}

var fieldCache sync.Map // reflect.Type → map[string]int

// fieldsOf maps the JSON names of t's fields to their indexes.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		m[name] = i
	}
	fieldCache.Store(t, m)
	return m
}

// UnmarshalJSON decodes a plan leniently (decodeLenient).
func (p *Plan) UnmarshalJSON(data []byte) error {
	extra, err := decodeLenient(data, p)
	p.Extra = extra
	return err
}

// UnmarshalJSON decodes a node leniently (decodeLenient).
func (n *Node) UnmarshalJSON(data []byte) error {
	extra, err := decodeLenient(data, n)
	n.Extra = extra
	return err
}

// UnmarshalJSON decodes a worker's figures leniently (decodeLenient).
func (w *Worker) UnmarshalJSON(data []byte) error {
	extra, err := decodeLenient(data, w)
	w.Extra = extra
	return err
}

// UnmarshalJSON decodes JIT figures leniently (decodeLenient).
func (j *JIT) UnmarshalJSON(data []byte) error {
	extra, err := decodeLenient(data, j)
	j.Extra = extra
	return err
}

// UnmarshalJSON decodes JIT timing leniently. "Generation" is a number of
// milliseconds up to PostgreSQL 16 and, from 17, an object {"Deform": ms,
// "Total": ms}; both become Generation (the total) and GenerationDeform.
func (t *JITTiming) UnmarshalJSON(data []byte) error {
	extra, err := decodeLenient(data, t)
	if err != nil {
		return err
	}
	if raw, ok := extra["Generation"]; ok {
		var g struct {
			Deform *float64 `json:"Deform"`
			Total  *float64 `json:"Total"`
		}
		if json.Unmarshal(raw, &g) == nil && g.Total != nil {
			t.Generation = *g.Total
			if g.Deform != nil {
				t.GenerationDeform = *g.Deform
			}
			delete(extra, "Generation")
		}
	}
	if len(extra) == 0 {
		extra = nil
	}
	t.Extra = extra
	return nil
}
