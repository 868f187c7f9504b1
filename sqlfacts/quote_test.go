package sqlfacts

import "testing"

func TestQuoteIdent(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Bar", `"Bar"`},
		{"order", `"order"`},
		{`a"b`, `"a""b"`},
		{"1abc", `"1abc"`},
		{"foo_bar", "foo_bar"},
		{"foo1", "foo1"},
		{"", `""`},
		{"with space", `"with space"`},
		{"user", `"user"`},
	} {
		if got := QuoteIdent(c.in); got != c.want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := QuoteQualified("Shop", "order"); got != `"Shop"."order"` {
		t.Errorf("QuoteQualified = %s", got)
	}
}
