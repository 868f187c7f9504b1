package review

import (
	"strings"
	"testing"
)

// TestReadJavaScript: the SQL literals of a JavaScript/TypeScript source are
// found at their exact line and column, with ${…}, :name and ? read as $n
// (and casts, times and prose left alone).
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
	if len(f.Statements) != 4 {
		for _, st := range f.Statements {
			t.Logf("%d:%d %q", st.Location.Line, st.Location.Column, st.SQL)
		}
		t.Fatalf("%d statements, want 4", len(f.Statements))
	}
	for i, want := range []struct {
		line, col int
		sql       string
	}{
		{3, 29, "SELECT id FROM shop.orders WHERE shipping_country = $1 AND status = $2"},
		{5, 12, "SELECT id FROM t WHERE a = $1 AND b::int > $2"},
		{6, 16, "SELECT id FROM t WHERE a = $1"},
		{8, 3, "SELECT name\n  FROM shop.products WHERE id = $1"},
	} {
		st := f.Statements[i]
		if st.Location.Line != want.line || st.Location.Column != want.col || st.SQL != want.sql {
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

// TestReadJVM: Java and Kotlin: "…" strings and """…""" text blocks located
// exactly, :name and Kotlin's ${…} and $name read as $n, a char literal
// never SQL.
func TestReadJVM(t *testing.T) {
	src := "class Orders {\n" + // 1
		"  static final String BY_ID = \"SELECT id, total FROM shop.orders WHERE id = :id\";\n" + // 2
		"  char c = 'S';\n" + // 3
		"  String history = \"\"\"\n" + // 4
		"      SELECT id FROM shop.orders\n" + // 5
		"      WHERE customer_id = ${customerId} ORDER BY created_at DESC\"\"\";\n" + // 6
		"  String prose = \"Select an order\";\n" + // 7
		"  val byName = \"SELECT id FROM shop.customers WHERE email = $email AND id = ${c.id}\"\n" + // 8
		"}\n"
	f := readJVM("src/Orders.kt", src)
	if len(f.Statements) != 3 {
		for _, st := range f.Statements {
			t.Logf("%d:%d %q", st.Location.Line, st.Location.Column, st.SQL)
		}
		t.Fatalf("%d statements, want 3", len(f.Statements))
	}
	a, b := f.Statements[0], f.Statements[1]
	if a.Location.Line != 2 || a.Location.Column != 32 || !strings.Contains(a.SQL, "WHERE id = $1") || a.Source != "jvm" {
		t.Errorf("first at %d:%d %q (%s)", a.Location.Line, a.Location.Column, a.SQL, a.Source)
	}
	if b.Location.Line != 5 || b.Location.Column != 7 || !strings.Contains(b.SQL, "customer_id = $1") {
		t.Errorf("text block at %d:%d %q", b.Location.Line, b.Location.Column, b.SQL)
	}
	if c := f.Statements[2]; c.SQL != "SELECT id FROM shop.customers WHERE email = $1 AND id = $2" || c.Location.EndColumn != 84 {
		t.Errorf("Kotlin $name template: %q ending at %d", c.SQL, c.Location.EndColumn)
	}
}
