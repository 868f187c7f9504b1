package explain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func TestMaskValues(t *testing.T) {
	var p Plan
	if err := json.Unmarshal([]byte(`{"Plan": {"Node Type": "Hash Join", "Hash Cond": "(o.customer_id = c.id)",
  "Join Filter": "(c.token <> 'tok''en-1'::text)", "Output": ["c.email", "'x@y.example'::text"],
  "Plans": [{"Node Type": "Seq Scan", "Filter": "((c.email = 'a@b.example'::text) AND (c.n > 5))"},
    {"Node Type": "Index Scan", "Index Cond": "(c.email = ANY ('{a@b.example,c@d.example}'::text[]))", "Sort Key": ["lower('k'::text)"]}]}}`), &p); err != nil {
		t.Fatal(err)
	}
	p.MaskValues()
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"example", "en-1", "'k'", "'x@"} {
		if strings.Contains(string(out), leak) {
			t.Errorf("%q survived: %s", leak, out)
		}
	}
	if got := p.Plan.Plans[0].Filter; got != "((c.email = '…'::text) AND (c.n > 5))" {
		t.Errorf("Filter = %q", got)
	}
	if got := p.Plan.HashCond; got != "(o.customer_id = c.id)" {
		t.Errorf("Hash Cond = %q", got)
	}
}

func TestMaskLiterals(t *testing.T) {
	for in, want := range map[string]string{
		"(email = 'a@b.c'::text) AND (n = 3)": "(email = '…'::text) AND (n = 3)",
		"('it''s', 'x')":                      "('…', '…')",
		"(name = 'truncat":                    "(name = '…",
		"(a = $1)":                            "(a = $1)",
		"(name ~~ '%smith%'::text)":           "(name ~~ '%…%'::text)",
		"(name ~~ '_a_b'::text)":              "(name ~~ '_…'::text)",
		"(name ~~ '%'::text)":                 "(name ~~ '%'::text)",
		"(code ~~ 'AB%'::text) OR (x = '')":   "(code ~~ '…%'::text) OR (x = '…')",
	} {
		if got := MaskLiterals(in); got != want {
			t.Errorf("MaskLiterals(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunSampledValuesMasked: a value sampled from a column of tokens runs
// the ANALYZE, but the plan Run returns (stored in the snapshot) does not
// show it.
func TestRunSampledValuesMasked(t *testing.T) {
	ctx, conn, _ := testDB(t)
	mustExec(t, conn, `CREATE TABLE api_keys (id int PRIMARY KEY, token text NOT NULL);
INSERT INTO api_keys SELECT g, 'tokVx3' || md5(g::text) FROM generate_series(1, 2000) g;
ANALYZE api_keys`)
	facts := selectFacts()
	facts.Params = 1
	facts.ParamColumns = map[int]sqlfacts.ColumnRef{1: {Schema: "public", Table: "api_keys", Column: "token"}}
	res := Run(ctx, conn, "SELECT id FROM api_keys WHERE token <> $1 AND id < 10", facts, Options{Analyze: true, StatementTimeout: 10 * time.Second})
	if res.Error != "" || res.Mode != ModeAnalyze {
		t.Fatalf("mode %q error %q reason %q: the sampled path was not taken", res.Mode, res.Error, res.Reason)
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "tokVx3") {
		t.Errorf("the sampled token is in the result: %s", js)
	}
	if !strings.Contains(string(js), "'…'") {
		t.Errorf("no masked value in the plan (was the value passed as a literal?): %s", js)
	}
}
