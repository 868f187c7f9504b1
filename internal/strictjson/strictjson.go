// Package strictjson decodes the JSON files pgadvisor reads (snapshots,
// thresholds, saved plans) strictly: the document must be exactly one JSON
// value, and no object may repeat a key. encoding/json accepts both silently
// (a json.Decoder stops after the first value; the last of two equal keys
// wins), which lets a hand-edited or hostile file say two things at once.
// The package only checks and decodes; it does not validate values.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Check reports whether data is a single JSON value without duplicate
// object keys. The error names where the problem is, as a path like
// statements[3].calls, and the byte offset.
//
// A valid document without a repeated key, the common case, is recognised
// by json.Valid and one pass over its bytes (a few hundred MB/s); any other
// is walked token by token for the message (json.Decoder.Token: ten times
// slower, which a 5,000-statement snapshot feels).
func Check(data []byte) error {
	if json.Valid(data) && !mayRepeatKey(data) {
		return nil
	}
	return checkTokens(data)
}

// mayRepeatKey reports whether some object of data, a valid JSON document,
// has a key twice; it may also say true for a key holding an escape
// (compared as written, not decoded), which the token walk then settles.
func mayRepeatKey(data []byte) bool {
	type object struct {
		keys [][]byte            // the first keys, searched in order
		set  map[string]struct{} // all keys, once an object has many
	}
	var stack []*object // nil for an array
	var free []*object
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			var o *object
			if n := len(free); n > 0 {
				o, free = free[n-1], free[:n-1]
			} else {
				o = &object{}
			}
			stack = append(stack, o)
		case '[':
			stack = append(stack, nil)
		case '}', ']':
			if o := stack[len(stack)-1]; o != nil {
				o.keys, o.set = o.keys[:0], nil
				free = append(free, o)
			}
			stack = stack[:len(stack)-1]
		case '"':
			start := i + 1
			escaped := false
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					escaped = true
					i++
				}
			}
			if len(stack) == 0 || stack[len(stack)-1] == nil {
				continue // the document or an array element
			}
			o := stack[len(stack)-1]
			j := i + 1 // the document does not end inside an object
			for data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r' {
				j++
			}
			if data[j] != ':' {
				continue // a value
			}
			if escaped {
				return true
			}
			key := data[start:i]
			if o.set != nil {
				if _, ok := o.set[string(key)]; ok {
					return true
				}
				o.set[string(key)] = struct{}{}
				continue
			}
			for _, k := range o.keys {
				if bytes.Equal(k, key) {
					return true
				}
			}
			o.keys = append(o.keys, key)
			if len(o.keys) > 32 {
				o.set = make(map[string]struct{}, 2*len(o.keys))
				for _, k := range o.keys {
					o.set[string(k)] = struct{}{}
				}
			}
		}
	}
	return false
}

// checkTokens is Check by json.Decoder.Token, with the path of the problem.
func checkTokens(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := walker{dec: dec}
	tok, err := dec.Token()
	if err == io.EOF {
		return errors.New("empty input: expected a JSON value")
	}
	if err != nil {
		return syntaxError(err)
	}
	if err := w.value(tok); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	return nil
}

// Unmarshal is Check followed by json.Unmarshal into v; with
// disallowUnknown, a key v has no field for is an error too.
func Unmarshal(data []byte, v any, disallowUnknown bool) error {
	if err := Check(data); err != nil {
		return err
	}
	return Decode(data, v, disallowUnknown)
}

// Decode is the decoding half of Unmarshal, for data that already passed
// Check (a caller that checks first, to word its own error, need not walk
// the document twice).
func Decode(data []byte, v any, disallowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &TypeError{Field: te.Field, Value: te.Value, Type: te.Type.String()}
		}
		return err
	}
	return nil
}

// TypeError is a JSON value of the wrong kind for the field it is in, e.g.
// a string where an object belongs.
type TypeError struct {
	Field string // the Go decoder's dotted path, e.g. what_if.statements
	Value string // the JSON kind found: string, object, number, …
	Type  string // the Go type it cannot become
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("%s: a JSON %s cannot be a %s", e.Field, e.Value, e.Type)
}

// walker walks the tokens of one value, keeping the path for messages.
type walker struct {
	dec  *json.Decoder
	path []string
}

func (w *walker) where() string {
	if len(w.path) == 0 {
		return "the top level"
	}
	var b bytes.Buffer
	for _, p := range w.path {
		if p[0] != '[' && b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// value consumes the rest of the value that starts with tok.
func (w *walker) value(tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("duplicate key %q in %s (offset %d)", key, w.where(), w.dec.InputOffset())
			}
			seen[key] = true
			w.path = append(w.path, key)
			if err := w.next(); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
	case '[':
		for i := 0; w.dec.More(); i++ {
			w.path = append(w.path, "["+strconv.Itoa(i)+"]")
			if err := w.next(); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
	}
	if _, err := w.dec.Token(); err != nil { // the closing delimiter
		return syntaxError(err)
	}
	return nil
}

func (w *walker) next() error {
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	return w.value(tok)
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: the input ends in the middle of a value")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
