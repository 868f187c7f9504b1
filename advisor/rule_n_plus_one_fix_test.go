package advisor

import (
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// The join alternative of the N+1 fix needs the parent's key among the
// parent statement's output columns: a parent that selects other columns
// (seen in the rental fixture's statement log, where the previous statement
// returned first_name, last_name) gets only the = ANY rewrite, never a join
// on a column it does not return (which would not run).
func TestNPlusOneFixJoinNeedsParentKey(t *testing.T) {
	link := wlLink{
		parent:    &pgstat.Table{Schema: "public", Name: "customer"},
		parentKey: "customer_id",
		child:     &pgstat.Table{Schema: "public", Name: "rental"},
		column:    "customer_id",
	}
	child := "SELECT * FROM rental WHERE customer_id = $1"
	cases := []struct {
		parent   string
		wantJoin bool
	}{
		{"SELECT * FROM customer WHERE store_id = $1", true},
		{"SELECT customer_id, email FROM customer WHERE store_id = $1", true},
		{"SELECT first_name, last_name FROM customer WHERE store_id = $1", false},
		{"UPDATE customer SET active = $1 WHERE customer_id = $2", false},
	}
	for _, c := range cases {
		fix := nPlusOneFix(child, c.parent, link, 1)
		var join bool
		for _, s := range fix.SQL {
			if strings.Contains(s, "JOIN ") {
				join = true
			}
		}
		if join != c.wantJoin {
			t.Errorf("parent %q: join in the fix = %v, want %v (SQL %q)", c.parent, join, c.wantJoin, fix.SQL)
		}
		if strings.Contains(fix.Summary, "or a join") != c.wantJoin {
			t.Errorf("parent %q: summary %q does not match the SQL offered", c.parent, fix.Summary)
		}
		if len(fix.SQL) == 0 || !strings.Contains(fix.SQL[0], "= ANY($1)") {
			t.Errorf("parent %q: no = ANY rewrite in %q", c.parent, fix.SQL)
		}
	}
}
