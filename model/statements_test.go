package model

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestStatementsFilters: each kind of statement that is never a finding is
// left out, the others are kept (a text that does not parse with its
// ParseError), and the left-out ones still count in the total unless they are
// pgadvisor's own.
func TestStatementsFilters(t *testing.T) {
	cases := []struct {
		name  string
		query string
		kept  bool
		// parseError: the statement is kept without facts, with a ParseError.
		parseError bool
		// counted: its time is part of the workload total.
		counted bool
	}{
		{"user select", "SELECT * FROM shop.orders WHERE customer_id = $1", true, false, true},
		{"user update", "UPDATE shop.orders SET status = $1 WHERE id = $2", true, false, true},
		{"own marker", pgstat.Marker + " SELECT relname FROM pg_class", false, false, false},
		{"own marker on a user table", "SELECT count(*) FROM shop.orders " + pgstat.Marker, false, false, false},
		{"fk check", `SELECT 1 FROM ONLY "shop"."customers" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x`, false, false, true},
		{"fk check, older form", `SELECT 1 FROM ONLY "public"."t" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR SHARE OF x`, false, false, true},
		{"select 1 from only, not a check", "SELECT 1 FROM ONLY shop.orders WHERE id = $1", true, false, true},
		{"catalog only, qualified", "SELECT relname FROM pg_catalog.pg_class WHERE oid = $1", false, false, true},
		{"catalog only, unqualified", "SELECT * FROM pg_stat_activity", false, false, true},
		{"catalog only, information_schema", "SELECT table_name FROM information_schema.tables", false, false, true},
		{"catalog only, pg_toast", "SELECT chunk_id FROM pg_toast.pg_toast_1234", false, false, true},
		{"no table", "SELECT $1", false, false, true},
		{"catalog joined with a user table", "SELECT o.id FROM shop.orders o JOIN pg_class c ON c.oid = o.id", true, false, true},
		{"utility: ddl", "CREATE INDEX orders_status_idx ON shop.orders (status)", false, false, true},
		{"utility: vacuum", "VACUUM ANALYZE shop.orders", false, false, true},
		{"utility: set", "SET work_mem = '64MB'", false, false, true},
		{"parse error", "SELEC * FROM shop.orders", true, true, true},
	}
	snap := pgstat.New()
	for i, c := range cases {
		snap.Statements = append(snap.Statements, pgstat.Statement{QueryID: int64(i + 1), Query: c.query, Calls: 1, TotalExecTime: float64(10 * (i + 1))})
	}
	stmts, total := Statements(snap)
	byID := map[QueryID]*Statement{}
	for _, s := range stmts {
		byID[s.ID()] = s
	}
	wantTotal := 0.0
	for i, c := range cases {
		id := QueryID(i + 1)
		if c.counted {
			wantTotal += float64(10 * (i + 1))
		}
		s, kept := byID[id]
		if kept != c.kept {
			t.Errorf("%s: kept = %v, want %v (%q)", c.name, kept, c.kept, c.query)
			continue
		}
		if !kept {
			continue
		}
		if gotErr := s.ParseError != ""; gotErr != c.parseError || (s.Facts == nil) != c.parseError {
			t.Errorf("%s: ParseError %q, Facts %v; want a parse error: %v", c.name, s.ParseError, s.Facts != nil, c.parseError)
		}
	}
	if total != wantTotal {
		t.Errorf("total = %v, want %v (every statement but pgadvisor's own)", total, wantTotal)
	}
	for i := 1; i < len(stmts); i++ {
		if stmts[i-1].TotalTime() < stmts[i].TotalTime() {
			t.Errorf("not heaviest first: %v before %v", stmts[i-1].TotalTime(), stmts[i].TotalTime())
		}
	}
	for _, s := range stmts {
		if want := s.TotalTime() / wantTotal; s.Share != want {
			t.Errorf("%q: share %v, want %v", s.Query, s.Share, want)
		}
	}
}

// TestStatementsTotalFromStatStatements: the total pg_stat_statements had
// (which counts entries not kept in the snapshot) wins over the sum of the
// kept statements when it is larger.
func TestStatementsTotalFromStatStatements(t *testing.T) {
	snap := pgstat.New()
	snap.Statements = []pgstat.Statement{{QueryID: 1, Query: "SELECT * FROM t WHERE id = $1", Calls: 1, TotalExecTime: 25}}
	all := 100.0
	snap.StatStatements = &pgstat.StatStatementsInfo{Version: "1.10", TotalTime: &all}
	stmts, total := Statements(snap)
	if total != 100 || len(stmts) != 1 || stmts[0].Share != 0.25 {
		t.Fatalf("total %v, %d statements, share %v; want 100, 1, 0.25", total, len(stmts), stmts[0].Share)
	}
}

// TestStatementsPlans: recorded plans are attached by queryid; a statement
// without text is kept only when it has a plan (explain --plan); typed
// literals of normalised texts are shown as casts.
func TestStatementsPlans(t *testing.T) {
	snap := pgstat.New()
	snap.Statements = []pgstat.Statement{
		{QueryID: -4392619211830383022, Query: "SELECT * FROM t WHERE id = $1", Calls: 1, TotalExecTime: 3},
		{QueryID: 7, Query: "", Calls: 1, TotalExecTime: 2},
		{QueryID: 8, Query: "", Calls: 1, TotalExecTime: 1},
		{QueryID: 9, Query: "SELECT * FROM t WHERE created_at > now() - interval $1", Calls: 1},
	}
	snap.Plans = []explain.Result{{QueryID: "-4392619211830383022"}, {QueryID: "7"}}
	stmts, _ := Statements(snap)
	if len(stmts) != 3 {
		t.Fatalf("%d statements, want 3 (the one without text nor plan left out)", len(stmts))
	}
	if stmts[0].Plan != &snap.Plans[0] || stmts[1].Plan != &snap.Plans[1] || stmts[2].Plan != nil {
		t.Errorf("plans attached: %v %v %v", stmts[0].Plan, stmts[1].Plan, stmts[2].Plan)
	}
	if !strings.Contains(stmts[2].Query, "$1::interval") {
		t.Errorf("typed literal: %q, want $1::interval", stmts[2].Query)
	}
	for _, s := range stmts {
		s.Plan = nil
	}
	AttachPlans(snap, stmts)
	if stmts[0].Plan != &snap.Plans[0] || stmts[1].Plan != &snap.Plans[1] {
		t.Errorf("AttachPlans did not attach the recorded plans")
	}
}

func TestIsSystemSchema(t *testing.T) {
	for schema, want := range map[string]bool{
		"pg_catalog":         true,
		"information_schema": true,
		"pg_toast":           true,
		"pg_toast_temp_3":    true,
		"pg_temp_3":          true,
		"pg_temp":            true,
		"public":             false,
		"shop":               false,
		"toast":              false,
		"":                   false,
	} {
		if got := IsSystemSchema(schema); got != want {
			t.Errorf("IsSystemSchema(%q) = %v, want %v", schema, got, want)
		}
	}
}

func TestQueryID(t *testing.T) {
	for _, v := range []int64{0, 1, -4392619211830383022, 9223372036854775807} {
		q := QueryID(v)
		back, err := ParseQueryID(q.String())
		if err != nil || back != q {
			t.Errorf("%d: %q parses back as %d, %v", v, q.String(), back, err)
		}
	}
	if _, err := ParseQueryID("12x"); err == nil {
		t.Error("ParseQueryID(\"12x\"): no error")
	}
}

// TestStatementsParallelParse: many statements parsed on several workers
// each get the facts of their own text, in the snapshot's order; a text
// seen twice is parsed once (both statements share its facts); one that
// does not parse keeps its error.
func TestStatementsParallelParse(t *testing.T) {
	snap := &pgstat.Snapshot{}
	for i := 0; i < 400; i++ {
		q := fmt.Sprintf("SELECT a FROM t%d WHERE b = $1", i%200)
		if i == 123 {
			q = "SELEC broken"
		}
		snap.Statements = append(snap.Statements, pgstat.Statement{QueryID: int64(i + 1), Query: q, Calls: 1, TotalExecTime: float64(1000 - i)})
	}
	stmts, _ := Statements(snap)
	if len(stmts) != 400 {
		t.Fatalf("%d statements, want 400", len(stmts))
	}
	byText := map[string]*sqlfacts.Facts{}
	for _, st := range stmts {
		i := int(st.QueryID) - 1
		if i == 123 {
			if st.ParseError == "" || st.Facts != nil {
				t.Errorf("the broken text: error %q, facts %v", st.ParseError, st.Facts)
			}
			continue
		}
		if st.Facts == nil || len(st.Facts.Relations) != 1 || st.Facts.Relations[0].Name != fmt.Sprintf("t%d", i%200) {
			t.Fatalf("statement %d (%q) has the facts of another text: %+v", i, st.Query, st.Facts)
		}
		if f, ok := byText[st.Query]; ok && f != st.Facts {
			t.Errorf("statement %d: its text was parsed twice", i)
		}
		byText[st.Query] = st.Facts
	}
}
