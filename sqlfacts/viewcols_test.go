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
