package advisor

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestFKHygiene: a foreign key without an index whose referenced table had
// no deletes or key updates is hygiene (a notice, its fix listed apart,
// with its estimated size); with deletes it is a warning that cuts time
// (issue 10 §3).
func TestFKHygiene(t *testing.T) {
	for _, c := range []struct {
		name    string
		deletes int64
		want    Severity
		hygiene bool
	}{
		{"referenced keys never deleted or updated", 0, SeverityNotice, true},
		{"referenced rows deleted", 40, SeverityWarning, false},
	} {
		snap := pgstat.New()
		snap.Tables = []pgstat.Table{
			{Schema: "app", Name: "items", Kind: "r", Rows: 500000, Columns: []pgstat.Column{{Name: "order_id", Type: "bigint"}}},
			{Schema: "app", Name: "orders", Kind: "r", Rows: 100000, NTupDel: c.deletes},
		}
		snap.ForeignKeys = []pgstat.ForeignKey{{Schema: "app", Table: "items", Name: "items_order_id_fkey", Columns: []string{"order_id"}, RefSchema: "app", RefTable: "orders", RefColumns: []string{"id"}}}
		res := Run(snap, []*Rule{FKMissingIndex}, DefaultOptions())
		if len(res.Findings) != 1 {
			t.Fatalf("%s: %d findings", c.name, len(res.Findings))
		}
		f := res.Findings[0]
		if f.Severity != c.want || f.Fix.Hygiene != c.hygiene {
			t.Errorf("%s: severity %s hygiene %v, want %s %v", c.name, f.Severity, f.Fix.Hygiene, c.want, c.hygiene)
		}
		if size, _ := f.Evidence["size_bytes"].(int64); c.hygiene && size <= 0 {
			t.Errorf("%s: no size estimate: %v", c.name, f.Evidence)
		}
	}
}
