package review

import (
	"strings"
	"testing"
)

// TestReadJavaScript: the SQL literals of a JavaScript/TypeScript source are
// found at their exact line and column, with ${…} and :name read as $n (and
// casts, times and prose left alone).
func TestReadJavaScript(t *testing.T) {
	src := "import sql from 'db'\n" + // line 1
		"// a comment with SELECT 1 in it\n" + // 2
		"const byCountry = await sql`SELECT id FROM shop.orders WHERE shipping_country = ${country} AND status = ${s}`\n" + // 3
		"const label = \"Select a report below\"\n" + // 4
		"const q = 'SELECT id FROM t WHERE a = :a AND b::int > :bee'\n" + // 5
		"const mysql = 'SELECT id FROM t WHERE a = ?'\n" + // 6
		"/* SELECT * FROM hidden */ const multi = `\n" + // 7
		"  SELECT name\n" + // 8
		"  FROM shop.products WHERE id = ${id}`\n" // 9
	f := readJavaScript("app/orders.ts", src)
	if len(f.Statements) != 3 {
		for _, st := range f.Statements {
			t.Logf("%d:%d %q", st.Location.Line, st.Location.Column, st.SQL)
		}
		t.Fatalf("%d statements, want 3", len(f.Statements))
	}
	for i, want := range []struct {
		line, col int
		sql       string
	}{
		{3, 29, "SELECT id FROM shop.orders WHERE shipping_country = $1         AND status = $2  "},
		{5, 12, "SELECT id FROM t WHERE a = $1 AND b::int > $2  "},
		{8, 3, "SELECT name\n  FROM shop.products WHERE id = $1   "},
	} {
		st := f.Statements[i]
		if st.Location.Line != want.line || st.Location.Column != want.col || !strings.HasPrefix(st.SQL, strings.TrimSpace(want.sql[:20])) || !strings.Contains(st.SQL, "$1") {
			t.Errorf("statement %d at %d:%d %q, want %d:%d %q", i, st.Location.Line, st.Location.Column, st.SQL, want.line, want.col, want.sql)
		}
		if st.Source != "javascript" {
			t.Errorf("statement %d source %q", i, st.Source)
		}
	}
	if !strings.Contains(f.Statements[1].SQL, "b::int > $2") {
		t.Errorf("the cast was taken for a binding: %q", f.Statements[1].SQL)
	}
}
