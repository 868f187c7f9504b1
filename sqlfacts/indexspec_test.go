package sqlfacts

import "testing"

func TestParseIndexSpec(t *testing.T) {
	proposed, err := ParseIndexSpec("CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_lower_email_idx ON shop.customers USING btree ((lower(email)))")
	if err != nil {
		t.Fatal(err)
	}
	existing, err := ParseIndexSpec("CREATE INDEX customers_lower_email_created_at_idx ON shop.customers USING btree (lower(email), created_at DESC)")
	if err != nil {
		t.Fatal(err)
	}
	if proposed.Name != "customers_lower_email_idx" || proposed.Schema != "shop" || proposed.Table != "customers" || proposed.Keys[0] != "(lower(email))" {
		t.Fatalf("proposed: %+v", proposed)
	}
	if !existing.LeadsWith(proposed) || proposed.LeadsWith(existing) {
		t.Errorf("(lower(email), created_at DESC) must lead with (lower(email)), not the other way: %+v %+v", existing, proposed)
	}
	for _, c := range []struct {
		a, b string
		lead bool
	}{
		{"CREATE INDEX ON s.t (a, b)", "CREATE INDEX ON s.t (a)", true},
		{"CREATE INDEX ON s.t (a, b)", "CREATE INDEX ON s.t (b)", false},
		{"CREATE INDEX ON s.t (a DESC, b)", "CREATE INDEX ON s.t (a)", false},
		{"CREATE INDEX ON s.t (a, b) WHERE b IS NULL", "CREATE INDEX ON s.t (a)", false},
		{"CREATE INDEX ON s.t USING gin (a gin_trgm_ops)", "CREATE INDEX ON s.t USING gin (a gin_trgm_ops)", true},
		{"CREATE INDEX ON s.t USING hash (a)", "CREATE INDEX ON s.t (a)", false},
		{"CREATE INDEX ON ONLY s.t (a, b)", "CREATE INDEX CONCURRENTLY ON s.t (a)", true},
		{"CREATE INDEX ON s.u (a, b)", "CREATE INDEX ON s.t (a)", false},
		// Partial: only an index of the same predicate leads.
		{"CREATE INDEX ON s.t (a)", "CREATE INDEX ON s.t (a) WHERE b IS NULL", false},
		{"CREATE INDEX ON s.t (a, c) WHERE b IS NULL", "CREATE INDEX ON s.t (a) WHERE b IS NULL", true},
		{"CREATE INDEX x ON s.t USING btree (a, c) WHERE (status = 'open'::text)", "CREATE INDEX ON s.t (a) WHERE status = 'open'", true},
		{"CREATE INDEX ON s.t (a) WHERE status = 'closed'", "CREATE INDEX ON s.t (a) WHERE status = 'open'", false},
		// Covering: the longer index must hold the INCLUDE columns.
		{"CREATE INDEX ON s.t (a, b) INCLUDE (c)", "CREATE INDEX ON s.t (a)", true},
		{"CREATE INDEX ON s.t (a, b)", "CREATE INDEX ON s.t (a) INCLUDE (c)", false},
		{"CREATE INDEX ON s.t (a, c DESC)", "CREATE INDEX ON s.t (a) INCLUDE (c)", true},
		{"CREATE INDEX ON s.t (a) INCLUDE (b, c)", "CREATE INDEX ON s.t (a) INCLUDE (c)", true},
		{"CREATE INDEX ON s.t (a)", "CREATE INDEX ON s.t (a) INCLUDE (c)", false},
	} {
		a, err1 := ParseIndexSpec(c.a)
		b, err2 := ParseIndexSpec(c.b)
		if err1 != nil || err2 != nil {
			t.Fatalf("%v %v", err1, err2)
		}
		if got := a.LeadsWith(b); got != c.lead {
			t.Errorf("%s leads with %s: %v, want %v", c.a, c.b, got, c.lead)
		}
	}
}
