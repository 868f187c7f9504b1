package strictjson

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     string // "" = accepted; else a part of the error
	}{
		{"object", `{"a": 1, "b": [1, {"c": 2}], "d": {"a": 1}}`, ""},
		{"same key in sibling objects", `[{"a": 1}, {"a": 2}]`, ""},
		{"scalar", `42`, ""},
		{"surrounding white space", " \n{\"a\": 1}\n\t ", ""},
		{"empty", ``, "empty input"},
		{"only white space", "  \n", "empty input"},
		{"duplicate at top", `{"a": 1, "a": 2}`, `duplicate key "a" in the top level`},
		{"duplicate nested", `{"statements": [{"calls": 1}, {"calls": 2, "calls": 3}]}`, `duplicate key "calls" in statements[1]`},
		{"duplicate object value", `{"x": {"k": {}, "k": []}}`, `duplicate key "k" in x`},
		{"trailing value", `{"a": 1} {"a": 2}`, "unexpected data after the JSON value"},
		{"trailing garbage", `{"a": 1}garbage`, "after the JSON value"},
		{"trailing comma text", `[1, 2],`, "after the JSON value"},
		{"truncated", `{"a": [1, 2`, "invalid JSON"},
		{"bad token", `{"a": tru}`, "invalid JSON"},
		{"NaN literal", `{"a": NaN}`, "invalid JSON"},
	} {
		err := Check([]byte(c.in))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: rejected %q: %v", c.name, c.in, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: accepted %q", c.name, c.in)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		// Whatever Check accepts, encoding/json must accept too.
		if err == nil && !json.Valid([]byte(c.in)) {
			t.Errorf("%s: accepted %q, which is not valid JSON", c.name, c.in)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	type target struct {
		Calls int64  `json:"calls"`
		Name  string `json:"name"`
	}
	var v target
	if err := Unmarshal([]byte(`{"calls": 3, "name": "x", "extra": true}`), &v, false); err != nil || v.Calls != 3 || v.Name != "x" {
		t.Fatalf("got %+v, %v", v, err)
	}
	if err := Unmarshal([]byte(`{"calls": 3, "extra": true}`), &v, true); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Errorf("unknown key with disallowUnknown: %v", err)
	}
	if err := Unmarshal([]byte(`{"calls": "many"}`), &v, false); err == nil || !strings.Contains(err.Error(), "calls") {
		t.Errorf("wrong type: %v, want an error naming calls", err)
	}
	if err := Unmarshal([]byte(`{"calls": 1, "calls": 2}`), &v, false); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate key decoded: %v", err)
	}
	if err := Unmarshal([]byte(`{"calls": 1e30}`), &v, false); err == nil {
		t.Errorf("1e30 decoded into an int64")
	}
}

// TestCheckFastPath: the one-pass scan and the token walk agree on every
// case the scan might get wrong (escapes, strings that look like keys,
// keys in arrays, objects past the scan's linear search).
func TestCheckFastPath(t *testing.T) {
	many := func(dup bool) string {
		var b strings.Builder
		b.WriteString(`{"o": {`)
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&b, `"k%d": %d, `, i, i)
		}
		if dup {
			b.WriteString(`"k7": 0, `)
		}
		b.WriteString(`"last": [{"k1": 1}, {"k1": 2}]}}`)
		return b.String()
	}
	for _, c := range []struct {
		in  string
		dup bool
	}{
		{`{"a": 1, "\u0061": 2}`, true},
		{`{"a\"b": 1, "a\"b": 2}`, true},
		{`{"a\\": 1, "a\\": 2}`, true},
		{`{"a\\": 1, "a": 2}`, false},
		{`{"a" : 1, "a"` + "\n\t:" + ` 2}`, true},
		{`{"a": "b", "b": "a", "c": ["a", "a"], "d": {"a": "a"}}`, false},
		{`{"a": "x\":", "x": {"a": 1}, "y": {"a": 1, "b": {"a": 2}}}`, false},
		{`[{"a": 1}, [{"a": 1, "a": 2}]]`, true},
		{`{"a": {"b": 1}, "b": 2, "a": 3}`, true},
		{`{"s": "{\"a\": 1, \"a\": 2}"}`, false},
		{many(false), false},
		{many(true), true},
		{`"a"`, false},
		{`{}`, false},
	} {
		fast, slow := Check([]byte(c.in)), checkTokens([]byte(c.in))
		if (fast == nil) != (slow == nil) || (fast == nil) == c.dup {
			t.Errorf("%.60s: Check %v, token walk %v, want duplicate %v", c.in, fast, slow, c.dup)
		}
		if fast != nil && slow != nil && fast.Error() != slow.Error() {
			t.Errorf("%.60s: messages differ: %v / %v", c.in, fast, slow)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"kind": "x", "statements": [`)
	for i := 0; i < 5000; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, `{"queryid": "%d", "query": "SELECT a, b FROM t WHERE id = $1 /* %d */", "calls": %d, "total_exec_time": 1.5, "rows": 3, "shared_blks_hit": 10, "plans": {"a": [1, 2, 3]}}`, i, i, i)
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if err := Check(data); err != nil {
			b.Fatal(err)
		}
	}
}
