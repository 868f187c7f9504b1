package sqlfacts

import (
	"reflect"
	"testing"
)

// tokens lexes sql whole, as "kind:text" strings.
func tokens(sql string) []string {
	names := map[TokenKind]string{TokenOther: "other", TokenSpace: "space", TokenComment: "comment", TokenString: "string",
		TokenQuotedIdentifier: "ident", TokenDollarQuoted: "dollar", TokenParam: "param"}
	var out []string
	for i := 0; i < len(sql); {
		kind, end := NextToken(sql, i)
		if end <= i {
			return append(out, "stuck")
		}
		out = append(out, names[kind]+":"+sql[i:end])
		i = end
	}
	return out
}

func TestNextToken(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"select 1", []string{"other:select", "space: ", "other:1"}},
		{"/* a /* b */ c */x", []string{"comment:/* a /* b */ c */", "other:x"}},
		{"/* a /* b */ c", []string{"comment:/* a /* b */ c"}},
		{"-- note\nx", []string{"comment:-- note", "space:\n", "other:x"}},
		{"-- to the end", []string{"comment:-- to the end"}},
		{"$tag$ it's $1 */ $tag$;", []string{"dollar:$tag$ it's $1 */ $tag$", "other:;"}},
		{"$$a$b$$", []string{"dollar:$$a$b$$"}},
		{"$a$ open", []string{"dollar:$a$ open"}},
		{"E'\\' $1' e'x'", []string{"string:E'\\' $1'", "space: ", "string:e'x'"}},
		{"'it''s' 'a\\'", []string{"string:'it''s'", "space: ", "string:'a\\'"}},
		{"xE'a'", []string{"other:xE", "string:'a'"}},
		{"\"we\"\"ird\" \"open", []string{"ident:\"we\"", "ident:\"ird\"", "space: ", "ident:\"open"}},
		{"a$1 $12+$ ", []string{"other:a$1", "space: ", "param:$12", "other:+", "other:$", "space: "}},
		{"x<=y", []string{"other:x", "other:<", "other:=", "other:y"}},
		{"\t\r\n\f\v", []string{"space:\t\r\n\f\v"}},
		{"café", []string{"other:café"}},
	} {
		if got := tokens(c.sql); !reflect.DeepEqual(got, c.want) {
			t.Errorf("tokens(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}

func TestSkipSpaceAndComments(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want string // what is left
	}{
		{"select", "select"},
		{"  -- a\n /* b /* c */ d */\tselect 1", "select 1"},
		{"/* a */ /* b */-- c", ""},
		{"/* open /* nested */", ""},
		{"'x' -- y", "'x' -- y"},
		{"", ""},
	} {
		if got := c.sql[SkipSpaceAndComments(c.sql):]; got != c.want {
			t.Errorf("rest of %q = %q, want %q", c.sql, got, c.want)
		}
	}
}

func TestMaxParam(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want int
	}{
		{"SELECT 1", 0},
		{"SELECT * FROM t WHERE a = $1 AND b = $12", 12},
		{"SELECT '$3', \"$4\", $$ $5 $$, $tag$ $6 $tag$ -- $7\n /* $8 /* $9 */ */ FROM t WHERE a=$2", 2},
		{"SELECT E'\\' $3', a$1 FROM t", 0},
		{"SELECT 'it''s $4' || $1", 1},
		{"SELECT $2 /* $3 /* $4 */ $5 */ $1", 2},
		{"SELECT $1, $x$ $9 open", 1},
		{"SELECT $99999999999999999999", 9999999}, // cut, never overflowing
	} {
		if got := MaxParam(c.sql); got != c.want {
			t.Errorf("MaxParam(%q) = %d, want %d", c.sql, got, c.want)
		}
	}
}
