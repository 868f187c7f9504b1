package whatif

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

func TestIndexServes(t *testing.T) {
	btree := func(cols ...string) *pgstat.Index {
		return &pgstat.Index{Method: "btree", Valid: true, Columns: cols}
	}
	col := func(names ...string) []Key {
		keys := make([]Key, len(names))
		for i, n := range names {
			keys[i] = Key{Column: n}
		}
		return keys
	}
	desc := btree("a", "b")
	desc.Descending = []bool{true, true}
	pattern := btree("email")
	pattern.Opclasses = []string{"text_pattern_ops"}
	partial := btree("a")
	partial.Predicate = "a IS NOT NULL"
	invalid := btree("a")
	invalid.Valid = false
	unique := btree("a")
	unique.Unique = true
	expr := &pgstat.Index{Method: "btree", Valid: true, Columns: []string{"lower((email)::text)"}, Expressions: []bool{true}}
	hash := &pgstat.Index{Method: "hash", Valid: true, Columns: []string{"a"}}
	trgm := &pgstat.Index{Method: "gin", Valid: true, Columns: []string{"title", "body"}, Opclasses: []string{"gin_trgm_ops", "gin_trgm_ops"}}
	gistTrgm := &pgstat.Index{Method: "gist", Valid: true, Columns: []string{"title"}, Opclasses: []string{"gist_trgm_ops"}}
	brin := &pgstat.Index{Method: "brin", Valid: true, Columns: []string{"at"}}
	for _, c := range []struct {
		name     string
		ix       *pgstat.Index
		method   string
		keys     []Key
		equality int
		want     bool
	}{
		{"equality keys in any order", btree("b", "a", "c"), "btree", col("a", "b"), 2, true},
		{"equality, then the range key", btree("b", "a", "c"), "btree", col("a", "b", "c"), 2, true},
		{"a range key out of place", btree("c", "a"), "btree", col("a", "c"), 1, false},
		{"more keys than the index", btree("a"), "btree", col("a", "b"), 2, false},
		{"ordered keys in order", btree("a", "b"), "btree", col("a", "b"), 0, true},
		{"ordered keys out of order", btree("a", "b"), "btree", col("b", "a"), 0, false},
		{"a backward scan", desc, "btree", col("a", "b"), 0, true},
		{"mixed directions", desc, "btree", []Key{{Column: "a", Desc: true}, {Column: "b"}}, 0, false},
		{"pattern_ops serves =", pattern, "btree", col("email"), 1, true},
		{"pattern_ops does not serve a range", pattern, "btree", col("email"), 0, false},
		{"partial", partial, "btree", col("a"), 1, false},
		{"invalid", invalid, "btree", col("a"), 1, false},
		{"unique on some equality columns", unique, "btree", col("a", "b"), 2, true},
		{"unique but a range", unique, "btree", col("b", "a"), 1, false},
		{"expression, normalised", expr, "btree", []Key{{Expression: "lower(email)"}}, 1, true},
		{"expression is not the column", expr, "btree", col("email"), 1, false},
		{"hash serves one equality", hash, "btree", col("a"), 1, true},
		{"hash serves no range", hash, "btree", col("a"), 0, false},
		{"hash serves no two keys", hash, "btree", col("a", "b"), 2, false},
		{"btree serves no trigram search", btree("title"), "gin", []Key{{Column: "title", Opclass: "gin_trgm_ops"}}, 1, false},
		{"gin trigram at any position", trgm, "gin", []Key{{Column: "body", Opclass: "gin_trgm_ops"}}, 1, true},
		{"gist trigram serves a gin one", gistTrgm, "gin", []Key{{Column: "title", Opclass: "gin_trgm_ops"}}, 1, true},
		{"trigram on another column", trgm, "gin", []Key{{Column: "summary", Opclass: "gin_trgm_ops"}}, 1, false},
		{"trigram index for =", trgm, "btree", col("title"), 1, false},
		{"same other method", brin, "brin", col("at"), 0, true},
		{"other method for btree", brin, "btree", col("at"), 0, false},
		{"no keys", btree("a"), "btree", nil, 0, false},
	} {
		if got := IndexServes(c.ix, c.method, c.keys, c.equality); got != c.want {
			t.Errorf("%s: IndexServes = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNormalizeExpression(t *testing.T) {
	same := [][2]string{
		{"lower(email)", "lower((email)::text)"},
		{"LOWER( email )", "lower(email)"},
		{`lower("email")`, "lower(email)"},
		{"upper(code)", "upper((code)::bpchar)"},
		{"lower(name)", "lower((name)::character varying)"},
	}
	for _, c := range same {
		if NormalizeExpression(c[0]) != NormalizeExpression(c[1]) {
			t.Errorf("NormalizeExpression(%q) != NormalizeExpression(%q)", c[0], c[1])
		}
	}
	if NormalizeExpression("created_at::date") == NormalizeExpression("created_at") {
		t.Error("a cast to date must not normalise to the bare column")
	}
}
