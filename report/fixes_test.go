package report

import "testing"

func TestTerminateSQL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1;"},
		{"SELECT 1;", "SELECT 1;"},
		{"-- only advice", "-- only advice"},
		{"-- comment first\nSELECT 1", "-- comment first\nSELECT 1;"},
		{"COPY t FROM STDIN\n-- and commit once per batch", "COPY t FROM STDIN;\n-- and commit once per batch"},
		{"SELECT 1 -- trailing comment", "SELECT 1 -- trailing comment"},
	} {
		if got := terminateSQL(c.in); got != c.want {
			t.Errorf("terminateSQL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIndentWrapKeepsSpaces(t *testing.T) {
	for _, c := range []struct {
		text, indent string
		width        int
		want         string
	}{
		// A first word shorter than the indent keeps its space (" 1.549 calls" was printed).
		{" 1. 549 calls", "    ", 40, " 1. 549 calls"},
		{"30 statements left out", "  ", 40, "30 statements left out"},
		{"aaaa bbbb cccc", "  ", 9, "aaaa bbbb\n  cccc"},
	} {
		if got := indentWrap(c.text, c.width, c.indent); got != c.want {
			t.Errorf("indentWrap(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
