package advisor

import (
	"reflect"
	"testing"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func TestWorkMemMB(t *testing.T) {
	for _, c := range []struct {
		needKB, currentKB float64
		want              int64
	}{
		{100, 64, 1},          // tiny need: at least 1MB
		{1024, 64, 1},         // exactly 1MB
		{1025, 64, 2},         // just above: next power of two
		{3 * 4616, 1024, 16},  // the recorded 4.5MB sort spill with work_mem 1MB
		{9968.0 / 2, 1024, 8}, // the recorded hash join (hash_mem_multiplier 2)
		{5000, 4096, 8},       // at least twice the current work_mem (8MB)
		{300 * 1024, 4096, 512},
	} {
		if got := workMemMB(c.needKB, c.currentKB); got != c.want {
			t.Errorf("workMemMB(%g, %g) = %d, want %d", c.needKB, c.currentKB, got, c.want)
		}
	}
}

func TestMisestimateRatio(t *testing.T) {
	for _, c := range []struct{ est, act, want float64 }{
		{10, 1000, 100},   // underestimate
		{1000, 10, 100},   // overestimate
		{1, 0, 1},         // zero actual counts as one row
		{0, 0, 1},         // both zero
		{0.5, 2000, 2000}, // sub-row estimate counts as one
		{250, 250, 1},
	} {
		if got := misestimateRatio(c.est, c.act); got != c.want {
			t.Errorf("misestimateRatio(%g, %g) = %g, want %g", c.est, c.act, got, c.want)
		}
	}
}

func TestSettingKB(t *testing.T) {
	snap := pgstat.New()
	snap.Settings = map[string]string{"work_mem": "4096", "shared_buffers": "16384", "a": "64MB", "b": "1GB", "c": "x", "d": "65536"}
	snap.SettingUnits = map[string]string{"work_mem": "kB", "shared_buffers": "8kB", "d": "B"}
	for name, want := range map[string]float64{"work_mem": 4096, "shared_buffers": 131072, "a": 65536, "b": 1048576, "d": 64} {
		got, ok := settingKB(snap, name)
		if !ok || got != want {
			t.Errorf("settingKB(%s) = %g, %v; want %g", name, got, ok, want)
		}
	}
	for _, name := range []string{"c", "missing"} {
		if _, ok := settingKB(snap, name); ok {
			t.Errorf("settingKB(%s) accepted a non-size", name)
		}
	}
	if got := workMemKB(pgstat.New()); got != 4096 {
		t.Errorf("workMemKB default = %g, want 4096", got)
	}
	snap.Server.VersionNum = 140010
	if got := hashMemMultiplier(snap); got != 1 {
		t.Errorf("hash_mem_multiplier default on 14 = %g, want 1", got)
	}
	snap.Server.VersionNum = 150018
	if got := hashMemMultiplier(snap); got != 2 {
		t.Errorf("hash_mem_multiplier default on 15 = %g, want 2", got)
	}
}

func TestColumnExpressionStripsQualifiers(t *testing.T) {
	f := &sqlfacts.Facts{Relations: []sqlfacts.Relation{{Schema: "shop", Name: "customers", Alias: "c"}}}
	for _, c := range []struct {
		pr   sqlfacts.Predicate
		want string
	}{
		{sqlfacts.Predicate{Column: sqlfacts.ColumnRef{Column: "email"}, Function: "lower", Expression: "lower(c.email)"}, "lower(email)"},
		{sqlfacts.Predicate{Column: sqlfacts.ColumnRef{Column: "created_at"}, Cast: "date", Expression: "customers.created_at::date"}, "created_at::date"},
		{sqlfacts.Predicate{Column: sqlfacts.ColumnRef{Column: "name"}}, "name"},
		{sqlfacts.Predicate{Column: sqlfacts.ColumnRef{Column: "Name"}, Function: "upper"}, `upper("Name")`},
	} {
		if got := columnExpression(f, c.pr); got != c.want {
			t.Errorf("columnExpression(%+v) = %q, want %q", c.pr, got, c.want)
		}
	}
}

func TestWildcardPatterns(t *testing.T) {
	n := &explain.Node{Filter: "((lw.name)::text ~~* '%blue''s%'::text)"}
	if got := wildcardInFilter(n, "name"); got != "%blue's%" {
		t.Errorf("wildcardInFilter = %q", got)
	}
	if got := wildcardInFilter(&explain.Node{Filter: "(name ~~ 'blue%'::text)"}, "name"); got != "" {
		t.Errorf("prefix pattern reported as wildcard: %q", got)
	}
	for _, c := range []struct {
		query, pattern string
		likely         bool
	}{
		{"SELECT id FROM p WHERE name ILIKE '%' || $1 || '%'", "'%' || $1 || '%'", false},
		{"SELECT id FROM p WHERE p.name ILIKE $2 || $1 || $3 ORDER BY name LIMIT $4", "$2 || $1 || $3", true},
		{"SELECT id FROM p WHERE name LIKE concat('%', $1::text)", "concat('%', $1::text)", false},
		{"SELECT id FROM p WHERE name LIKE $1 || '%'", "$1 || '%'", true},
		{"SELECT id FROM p WHERE name LIKE 'abc' || $1", "", false},
		{"SELECT id FROM p WHERE name LIKE $1", "", false},
	} {
		pattern, likely := concatWildcard(c.query, "name")
		if pattern != c.pattern || likely != c.likely {
			t.Errorf("concatWildcard(%q) = %q, %v; want %q, %v", c.query, pattern, likely, c.pattern, c.likely)
		}
	}
}

func TestConditionColumns(t *testing.T) {
	tbl := &pgstat.Table{Name: "addresses", Columns: []pgstat.Column{{Name: "id"}, {Name: "city"}, {Name: "zip"}, {Name: "region"}}}
	got := conditionColumns("((addresses.zip = 7) AND (addresses.city = 'region'::text))", tbl)
	if want := []string{"city", "zip"}; !reflect.DeepEqual(got, want) {
		t.Errorf("conditionColumns = %v, want %v (literals ignored, table order)", got, want)
	}
}

func TestStopsEarly(t *testing.T) {
	scan := &explain.Node{NodeType: "Seq Scan"}
	limit := &explain.Node{NodeType: "Limit"}
	agg := &explain.Node{NodeType: "Aggregate"}
	if !stopsEarly(scan, []*explain.Node{limit}) {
		t.Error("a scan below a Limit may stop early")
	}
	if stopsEarly(scan, []*explain.Node{agg}) {
		t.Error("a scan below an Aggregate reads everything")
	}
	if stopsEarly(limit, nil) {
		t.Error("a Limit at the root is not below a Limit")
	}
}

func TestSeverityByShare(t *testing.T) {
	d := DefaultOptions() // plan_error_share 0.1, min_share 0.001
	strict := DefaultOptions()
	strict.PlanErrorShare, strict.MinShare = 0.5, 0.01
	for _, c := range []struct {
		o                   Options
		share               float64
		mayError, mayNotice bool
		want                Severity
	}{
		{d, 0.15, true, true, SeverityError}, // between 0.1 and the 0.2 seq-scan once hard-coded
		{d, 0.1, true, false, SeverityError},
		{d, 0.099, true, true, SeverityWarning},
		{d, 0.15, false, true, SeverityWarning},
		{d, 0.01, true, true, SeverityWarning},
		{d, 0.009, true, true, SeverityNotice},
		{d, 0.009, true, false, SeverityWarning},
		{strict, 0.15, true, true, SeverityWarning},
		{strict, 0.5, true, true, SeverityError},
		{strict, 0.09, true, true, SeverityNotice},
	} {
		if got := severityByShare(c.o, c.share, c.mayError, c.mayNotice); got != c.want {
			t.Errorf("severityByShare(plan_error_share %g, min_share %g, share %g, %v, %v) = %s, want %s",
				c.o.PlanErrorShare, c.o.MinShare, c.share, c.mayError, c.mayNotice, got, c.want)
		}
	}
}
