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
