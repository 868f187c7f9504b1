package advisor

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestHiddenPatternNeedsTheScanToBeTheLikes: a LIKE/ILIKE against a bare $n
// read by a full scan is a hidden leading wildcard only when nothing else
// in the statement could be served by a btree (issue 10 §7).
func TestHiddenPatternNeedsTheScanToBeTheLikes(t *testing.T) {
	seq := &explain.Node{NodeType: "Seq Scan"}
	for _, c := range []struct {
		sql  string
		want bool
	}{
		{"SELECT id FROM blog.authors WHERE email ILIKE $1 ORDER BY id LIMIT $2", true},
		{"SELECT id FROM app.users WHERE city_id = $1 AND email LIKE $2", false},
		{"SELECT id FROM app.users WHERE created_at > $1 AND email ILIKE $2", false},
		{"SELECT id FROM app.users WHERE email LIKE $1 AND name LIKE $2", true},
	} {
		facts, err := sqlfacts.Analyze(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		s := &model.Statement{Statement: pgstat.Statement{Query: c.sql}, Facts: facts}
		var like sqlfacts.Predicate
		for _, pr := range facts.Predicates {
			if pr.Column.Column == "email" {
				like = pr
			}
		}
		if got := hiddenPatternScan(s, like, seq); got != c.want {
			t.Errorf("%s: %v, want %v", c.sql, got, c.want)
		}
	}
}
