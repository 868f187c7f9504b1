package sqlfacts

import (
	"reflect"
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	names := func(q []QualifiedName) string {
		var s []string
		for _, n := range q {
			s = append(s, n.String())
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		sql                      string
		funcs, ops, types, attrs string
	}{
		{"SELECT lower(a), public.f(b) FROM t", "lower public.f", "", "", ""},
		{"SELECT * FROM t WHERE a ==== b AND c OPERATOR(s.===) d", "", "==== s.===", "", ""},
		{"SELECT * FROM t WHERE a BETWEEN 1 AND 2", "", "< <= > >=", "", ""},
		{"SELECT * FROM t WHERE a IN (1, 2) OR b IN (SELECT x FROM u)", "", "=", "", ""},
		{"SELECT * FROM t WHERE a LIKE 'x%' AND b NOT ILIKE 'y' AND c SIMILAR TO 'z'", "pg_catalog.similar_to_escape", "!~~* ~ ~~", "", ""},
		{"SELECT CASE a WHEN 1 THEN 2 END, NULLIF(a, b), a IS DISTINCT FROM b FROM t", "", "=", "", ""},
		{"SELECT CAST(a AS my_domain), b::s.t2, interval '1 day' FROM t", "", "", "my_domain pg_catalog.interval s.t2", ""},
		{"SELECT t.f, (t).g, t.a FROM t ORDER BY a USING <<<", "", "<<<", "", "a f g"},
		{"SELECT sum(x) FROM (SELECT g(y) AS x FROM generate_series(1, 3) y) s", "g generate_series sum", "", "", ""},
	} {
		refs, err := Code(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		got := []string{names(refs.Functions), names(refs.Operators), names(refs.Types), strings.Join(refs.AttributeNames, " ")}
		want := []string{c.funcs, c.ops, c.types, c.attrs}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.sql, got, want)
		}
	}
	if _, err := Code("SELEC 1"); err == nil {
		t.Error("Code accepted a syntax error")
	}
}
