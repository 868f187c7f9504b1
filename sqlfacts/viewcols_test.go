package sqlfacts

import "testing"

func TestOutputColumns(t *testing.T) {
	got, err := OutputColumns("SELECT p.id AS view_id, p.title, upper(p.body) AS loud, a.name AS author FROM blog.posts p JOIN blog.authors a ON a.id = p.author_id")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ColumnRef{"view_id": {Table: "p", Column: "id"}, "title": {Table: "p", Column: "title"}, "author": {Table: "a", Column: "name"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %+v, want %+v", k, got[k], v)
		}
	}
	if _, err := OutputColumns("SELECT 1 UNION SELECT 2"); err == nil {
		t.Errorf("a UNION is not a simple SELECT")
	}
}

func TestReturnsColumn(t *testing.T) {
	cases := []struct {
		sql, col string
		want     bool
	}{
		{"SELECT * FROM customer WHERE store_id = $1", "customer_id", true},
		{"SELECT c.* FROM customer c", "customer_id", true},
		{"SELECT customer_id, first_name FROM customer", "customer_id", true},
		{"SELECT c.customer_id FROM customer c", "customer_id", true},
		{"SELECT first_name, last_name FROM customer", "customer_id", false},
		{"SELECT id AS customer_id FROM customer", "customer_id", true},
		{"SELECT customer_id AS cid FROM customer", "customer_id", false},
		{"SELECT count(*) FROM customer", "customer_id", false},
		{"SELECT a FROM t UNION SELECT b FROM u", "a", false},
		{"not sql", "a", false},
	}
	for _, c := range cases {
		if got := ReturnsColumn(c.sql, c.col); got != c.want {
			t.Errorf("ReturnsColumn(%q, %q) = %v, want %v", c.sql, c.col, got, c.want)
		}
	}
}
