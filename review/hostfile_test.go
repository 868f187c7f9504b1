package review

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBindParams: the placeholders of each language read as $n in order,
// never inside SQL strings, quoted identifiers, dollar quotes or comments;
// JDBC's ?? is the jsonb ? operator; one :name is one number.
func TestBindParams(t *testing.T) {
	for _, c := range []struct {
		in     string
		params paramStyle
		want   string
	}{
		{"SELECT 1 FROM t WHERE a = ? AND b IN (?, ?)", paramQuestion, "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)"},
		{"SELECT 'what?', \"odd?\" FROM t WHERE a = ? -- b = ?\n AND c = ?", paramQuestion, "SELECT 'what?', \"odd?\" FROM t WHERE a = $1 -- b = ?\n AND c = $2"},
		{"SELECT $$ ? $$, E'it\\'s ?', /* ? /* ? */ ? */ ? FROM t", paramQuestion, "SELECT $$ ? $$, E'it\\'s ?', /* ? /* ? */ ? */ $1 FROM t"},
		{"SELECT id FROM t WHERE data ?? 'k' AND id = ?", paramQuestion, "SELECT id FROM t WHERE data ? 'k' AND id = $1"},
		{"SELECT id FROM t WHERE a = ?2 AND b = ?1", paramQuestion, "SELECT id FROM t WHERE a = $2 AND b = $1"},
		{"SELECT id FROM t WHERE a = :a AND b = :b AND c = :a AND d::int = 1 AND e = '10:30'", paramColon, "SELECT id FROM t WHERE a = $1 AND b = $2 AND c = $1 AND d::int = 1 AND e = '10:30'"},
		{"SELECT id FROM t WHERE a = %s AND b = %(b)s AND c = %(b)s AND d LIKE 'x%'", paramPercent, "SELECT id FROM t WHERE a = $1 AND b = $2 AND c = $2 AND d LIKE 'x%'"},
		{"SELECT id FROM t WHERE a = ? AND b = :b", paramColon, "SELECT id FROM t WHERE a = ? AND b = $1"},
	} {
		cs := constString{value: c.in, segs: []segment{{fileOff: 0, verbatim: true}}}
		if got := bindParams(cs, nil, c.params).value; got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// writeFiles writes name → text under a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// colOf is the 1-based line and column of the first occurrence of what in
// src, at or after the occurrence of after.
func colOf(t *testing.T, src, after, what string) string {
	t.Helper()
	i := strings.Index(src, after)
	j := strings.Index(src[max(i, 0):], what)
	if i < 0 || j < 0 {
		t.Fatalf("%q not in the source", what)
	}
	li := newLineIndex(src)
	p := li.at(i + j)
	return fmt.Sprintf("%d:%d", p.line, p.col)
}

// TestPlaceholderSyntaxErrorColumn: ? placeholders become $1, $2 (one byte
// longer each), yet the syntax error after them is reported at its exact
// column in the file, in Java, JavaScript, Ruby, Python and Go; escapes
// before it (\" in Java, \n in JavaScript) do not move it either. The end of
// a statement whose last token is a ? is after that ?.
func TestPlaceholderSyntaxErrorColumn(t *testing.T) {
	srcs := map[string]string{
		"src/Orders.java": "class Orders {\n  void f(Connection conn) throws Exception {\n" +
			"    PreparedStatement ps = conn.prepareStatement(\"SELECT id, \\\"total\\\" FROM shop.orders WHERE customer_id = ? AND status = ? ORDER BY created_at DESC LIMT 10\");\n" +
			"    conn.prepareStatement(\"SELECT id FROM shop.orders WHERE id = ?\");\n  }\n}\n",
		"web/orders.js":       "const rows = await db.query('SELECT id FROM shop.orders\\nWHERE customer_id = ? AND status = ? GROUP status', [a, b])\n",
		"app/models/order.rb": "class Order\n  def self.recent(id)\n    find_by_sql([<<~SQL, id, 10])\n      SELECT id FROM shop.orders\n      WHERE customer_id = ? AND total > ? ORDR BY id\n    SQL\n  end\nend\n",
		"app/report.py":       "cur.execute(\"SELECT id FROM shop.orders WHERE customer_id = ? AND status = ? ORDER BY id DESK\", (a, b))\n",
		"store/store.go":      "package store\n\nfunc f(db DB) {\n\tdb.Query(\"SELECT id FROM shop.orders WHERE customer_id = ? AND status = ? ORDER BY id FETCH\", a, b)\n}\n",
	}
	dir := writeFiles(t, srcs)
	r := reviewDir(t, dir, Options{})
	got := map[string]string{}
	for _, f := range r.Findings {
		if f.Rule == "syntax-error" {
			got[f.Location.Path] = fmt.Sprintf("%d:%d %s", f.Location.Line, f.Location.Column, f.Message)
		}
	}
	want := map[string]string{
		"src/Orders.java":     colOf(t, srcs["src/Orders.java"], "DESC", "LIMT") + ` syntax error at or near "LIMT"`,
		"web/orders.js":       colOf(t, srcs["web/orders.js"], "GROUP", "status") + ` syntax error at or near "status"`,
		"app/models/order.rb": colOf(t, srcs["app/models/order.rb"], "ORDR", "ORDR") + ` syntax error at or near "ORDR"`,
		"app/report.py":       colOf(t, srcs["app/report.py"], "DESK", "DESK") + ` syntax error at or near "DESK"`,
		"store/store.go":      colOf(t, srcs["store/store.go"], "FETCH", `"`) + ` syntax error at end of input`,
	}
	for path, w := range want {
		if got[path] != w {
			t.Errorf("%s: syntax error at %q, want %q", path, got[path], w)
		}
	}
	var st *Statement
	files, _, _ := Collect(dir, []string{"src"})
	for _, s := range files[0].Statements {
		if strings.HasSuffix(s.SQL, "id = $1") {
			st = s
		}
	}
	if st == nil {
		t.Fatalf("the second Java statement is not read: %+v", files[0].Statements)
	}
	end := colOf(t, srcs["src/Orders.java"], "id = ?\"", `"`)
	if fmt.Sprintf("%d:%d", st.Location.EndLine, st.Location.EndColumn) != end {
		t.Errorf("statement %q ends at %d:%d, want %s (after its ?)", st.SQL, st.Location.EndLine, st.Location.EndColumn, end)
	}
}

// TestJSONBQuestionOperators: a ? that cannot be a placeholder (the jsonb
// operators ?, ?| and ?& between operands) is kept when the statement only
// parses with it; JDBC's ?? reads as ?.
func TestJSONBQuestionOperators(t *testing.T) {
	src := "const a = \"SELECT id FROM t WHERE data ? 'k'\"\n" +
		"const b = \"SELECT id FROM t WHERE tags ?| array['a'] AND id = $1\"\n" +
		"String c = \"SELECT id FROM t WHERE data ?? 'k' AND id = ?\";\n"
	f := readJVM("X.java", src)
	var got []string
	for _, st := range f.Statements {
		got = append(got, st.SQL)
	}
	want := []string{"SELECT id FROM t WHERE data ? 'k'", "SELECT id FROM t WHERE tags ?| array['a'] AND id = $1", "SELECT id FROM t WHERE data ? 'k' AND id = $1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
