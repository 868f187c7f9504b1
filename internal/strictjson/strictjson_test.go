package strictjson

import (
	"encoding/json"
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
