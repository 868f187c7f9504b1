package sqlfacts

import "testing"

func TestKeysetRewrite(t *testing.T) {
	for _, c := range []struct {
		name, sql string
		cols, tie []string
		desc      bool
		want      string
	}{
		{"offset parameter reused, no gap", "SELECT id, customer_id FROM shop.orders ORDER BY id DESC LIMIT $1 OFFSET $2",
			[]string{"id"}, nil, true,
			"SELECT id, customer_id FROM shop.orders WHERE id < $2 ORDER BY id DESC LIMIT $1"},
		{"existing WHERE kept, tie-breaker appended", "SELECT id, slug FROM blog.posts WHERE status = $1 ORDER BY published_at DESC LIMIT $2 OFFSET $3",
			[]string{"published_at", "id"}, []string{"id"}, true,
			"SELECT id, slug FROM blog.posts WHERE status = $1 AND (published_at, id) < ($3, $4) ORDER BY published_at DESC, id DESC LIMIT $2"},
		{"literal offset, ascending", "SELECT a FROM t ORDER BY a LIMIT 50 OFFSET 5000",
			[]string{"a"}, nil, false,
			"SELECT a FROM t WHERE a > $1 ORDER BY a LIMIT 50"},
	} {
		got, err := KeysetRewrite(c.sql, c.cols, c.tie, c.desc)
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %q (%v)\nwant %q", c.name, got, err, c.want)
		}
	}
	if _, err := KeysetRewrite("SELECT a FROM t ORDER BY a LIMIT 5", []string{"a"}, nil, false); err == nil {
		t.Errorf("a statement without OFFSET was rewritten")
	}
}
