package pgstat

import "testing"

func TestRedactSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE ROLE app LOGIN PASSWORD 'Secr3tPw'":                 "CREATE ROLE app LOGIN PASSWORD '…'",
		"ALTER USER app WITH ENCRYPTED PASSWORD 'it''s'":            "ALTER USER app WITH ENCRYPTED PASSWORD '…'",
		"CREATE USER MAPPING FOR u SERVER s OPTIONS (password 'x')": "CREATE USER MAPPING FOR u SERVER s OPTIONS (password '…')",
		"SELECT * FROM users WHERE password_hash = $1":              "SELECT * FROM users WHERE password_hash = $1",
	} {
		if got := RedactSecrets(in); got != want {
			t.Errorf("RedactSecrets(%q) = %q, want %q", in, got, want)
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
