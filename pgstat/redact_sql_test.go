package pgstat

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func TestRedactStatement(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE ROLE app LOGIN PASSWORD 'Secr3tPw'":                 "CREATE ROLE app LOGIN PASSWORD $1",
		"ALTER USER app WITH ENCRYPTED PASSWORD $q$it's$q$":         "ALTER USER app WITH ENCRYPTED PASSWORD $1",
		"CREATE USER MAPPING FOR u SERVER s OPTIONS (password 'x')": "CREATE USER MAPPING FOR u SERVER s OPTIONS (password $1)",
		"SELECT * FROM users WHERE password_hash = $1":              "SELECT * FROM users WHERE password_hash = $1",
		"SELECT * FROM users WHERE email = 'a@b.exa":                sqlfacts.DroppedText,
		insufficientPrivilege:                                       insufficientPrivilege,
	} {
		if got := RedactStatement(in); got != want {
			t.Errorf("RedactStatement(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncateText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"SELECT 1", 200, "SELECT 1"},
		{"SELECT $1, $2", 9, "SELECT $1…"},
		{"SELECT ééé", 9, "SELECT é…"}, // byte 9 is inside the second é
	} {
		if got := truncateText(c.in, c.n); got != c.want {
			t.Errorf("truncateText(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestMaskLiterals(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT * FROM t WHERE email = 'a@b.c' AND n = 3": "SELECT * FROM t WHERE email = '…' AND n = 3",
		"SELECT 'it''s', 'x'":                             "SELECT '…', '…'",
		"SELECT * FROM t WHERE name = 'truncat":           "SELECT * FROM t WHERE name = '…",
		"SELECT 1":                                        "SELECT 1",
	} {
		if got := MaskLiterals(in); got != want {
			t.Errorf("MaskLiterals(%q) = %q, want %q", in, got, want)
		}
	}
}
