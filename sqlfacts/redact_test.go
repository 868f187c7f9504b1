package sqlfacts

import (
	"errors"
	"strings"
	"testing"
)

// credentialForms are statements that carry secret in every spelling the
// server accepts.
var credentialForms = map[string]string{
	"role plain":            "CREATE ROLE app LOGIN PASSWORD 'Zq7Secret'",
	"role escaped quote":    "ALTER USER app WITH ENCRYPTED PASSWORD 'it''s Zq7Secret'",
	"role E string":         `ALTER ROLE app PASSWORD E'Zq7\x53ecret\''`,
	"role dollar":           "CREATE ROLE app LOGIN PASSWORD $$Zq7Secret$$",
	"role tagged dollar":    "ALTER ROLE app PASSWORD $q$Zq7Secret'$$x$q$",
	"role unicode":          `ALTER ROLE app PASSWORD U&'Zq7Secret\0041'`,
	"role unicode uescape":  `ALTER ROLE app PASSWORD U&'Zq7Secret!0041' UESCAPE '!'`,
	"role after comment":    "ALTER ROLE app PASSWORD /* it's 'x */ 'Zq7Secret'",
	"role after line comm":  "-- rotate\nALTER ROLE app PASSWORD -- new one\n 'Zq7Secret' VALID UNTIL 'infinity'",
	"role continued string": "ALTER ROLE app PASSWORD 'Zq7'\n'Secret'",
	"do block":              "DO $$BEGIN PERFORM dblink_connect('host=h password=Zq7Secret'); END$$",
	"do tagged":             "DO LANGUAGE plpgsql $body$BEGIN EXECUTE 'ALTER ROLE a PASSWORD ''Zq7Secret'''; END$body$",
	"alter system":          "ALTER SYSTEM SET primary_conninfo = 'host=h user=r password=Zq7Secret'",
	"alter system ident":    `ALTER SYSTEM SET primary_conninfo = "host=h password=Zq7Secret"`,
	"set ident":             `SET myapp.token = "Zq7Secret"`,
	"role set":              "ALTER ROLE app SET myapp.token TO 'Zq7Secret'",
	"dblink":                "SELECT * FROM dblink('host=h password=Zq7Secret', 'select 1') AS t(a int)",
	"dblink connect":        "SELECT dblink_connect('c', 'dbname=x password=Zq7Secret')",
	"dblink after $n":       "SELECT dblink_exec($1, 'host=h password=Zq7Secret' || $2)",
	"server":                "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', password 'Zq7Secret')",
	"alter server":          "ALTER SERVER s OPTIONS (SET password 'Zq7Secret')",
	"user mapping":          "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'Zq7Secret')",
	"alter user mapping":    "ALTER USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (ADD password $$Zq7Secret$$)",
	"subscription":          "CREATE SUBSCRIPTION sub CONNECTION 'host=h password=Zq7Secret' PUBLICATION p",
	"explain":               "EXPLAIN SELECT dblink_connect('password=Zq7Secret')",
	"prepare":               "PREPARE p AS SELECT dblink_connect('password=Zq7Secret')",
	"function body":         "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $f$SELECT dblink_connect('password=Zq7Secret')$f$",
	"two statements":        "SELECT 1; ALTER ROLE app PASSWORD 'Zq7Secret'",
	"bit and hex":           "SELECT B'1010', X'5A71375365637265', 'Zq7Secret'",
}

func TestRedactHidesEveryCredentialForm(t *testing.T) {
	for name, sql := range credentialForms {
		t.Run(name, func(t *testing.T) {
			if _, err := Analyze(sql); err != nil {
				t.Fatalf("the case itself does not parse: %v", err)
			}
			got, err := Redact(sql)
			if err != nil {
				t.Fatalf("Redact(%q): %v", sql, err)
			}
			if strings.Contains(got, "Zq7") || strings.Contains(got, "Secret") {
				t.Errorf("Redact(%q) = %q: a literal survived", sql, got)
			}
			if !strings.Contains(got, "$") {
				t.Errorf("Redact(%q) = %q: no $n placeholder", sql, got)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		// pg_stat_statements texts: already normalised, unchanged.
		"SELECT id FROM orders WHERE customer_id = $1 LIMIT $2": "SELECT id FROM orders WHERE customer_id = $1 LIMIT $2",
		"SET work_mem = $1": "SET work_mem = $1",
		// Numbering continues after the highest $n; negative numbers are one constant.
		"SELECT * FROM t WHERE a = $2 AND b = 'x' AND c > -5 AND d IN (1, 2.5)": "SELECT * FROM t WHERE a = $2 AND b = $3 AND c > $4 AND d IN ($5, $6)",
		// Type modifiers and identifiers are the statement's shape.
		`SELECT x::numeric(10,2), "Col" FROM "T" WHERE y = 'a@b.example'`: `SELECT x::numeric(10,2), "Col" FROM "T" WHERE y = $1`,
		"CREATE TABLE t (a varchar(20) DEFAULT 'x')":                      "CREATE TABLE t (a varchar(20) DEFAULT $1)",
		// Comments stay (pgadvisor's own marker is one), literals after them go.
		"/* pgadvisor */ SELECT 'x'":                                     "/* pgadvisor */ SELECT $1",
		"ALTER ROLE app PASSWORD /* it's */ 'pw' VALID UNTIL 'infinity'": "ALTER ROLE app PASSWORD /* it's */ $1 VALID UNTIL $2",
		`ALTER ROLE app PASSWORD U&'d\0061t' LOGIN`:                      "ALTER ROLE app PASSWORD $1 LOGIN",
		"DO $$BEGIN RAISE NOTICE 'x'; END$$":                             "DO $1",
		"SELECT extract(epoch FROM now())":                               "SELECT extract(epoch FROM now())",
		"":                                                               "",
	} {
		got, err := Redact(in)
		if err != nil {
			t.Errorf("Redact(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestRedactedTextDropsWhatDoesNotParse(t *testing.T) {
	for _, sql := range []string{
		"SELECT * FROM users WHERE email = 'a@b.exam", // cut off by track_activity_query_size
		"ALTER ROLE app PASSWORD 'Zq7Secret' garbage garbage",
		"ALTER ROLE app PASSWORD $$Zq7Secret",
	} {
		var se *SyntaxError
		if _, err := Redact(sql); err == nil {
			t.Errorf("Redact(%q): no error", sql)
		} else if !errors.As(err, &se) {
			t.Errorf("Redact(%q): %v is not a *SyntaxError", sql, err)
		}
		if got := RedactedText(sql); got != DroppedText {
			t.Errorf("RedactedText(%q) = %q, want the placeholder", sql, got)
		}
	}
	f, err := Analyze(DroppedText)
	if err != nil || f.Statements != 0 {
		t.Errorf("the placeholder must parse as no statement: %+v, %v", f, err)
	}
}

func TestRedactedTextParsesAgain(t *testing.T) {
	// Redacted DML stays analysable (rules and EXPLAIN read it).
	for _, sql := range []string{
		"SELECT * FROM t WHERE a = 'x' AND b = -5 ORDER BY c LIMIT 10",
		"INSERT INTO t (a, b) VALUES ('x', 1.5) RETURNING id",
		"UPDATE t SET a = U&'\\0041' WHERE id = $1",
	} {
		got := RedactedText(sql)
		if _, err := Analyze(got); err != nil {
			t.Errorf("RedactedText(%q) = %q does not parse: %v", sql, got, err)
		}
	}
}

func TestCallsConnectionFunction(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT * FROM dblink('host=h', 'select 1') AS t(a int)": true,
		"SELECT public.dblink_connect('c', 'x')":                 true,
		"SELECT a FROM t WHERE b = 'dblink'":                     false,
		"SELECT * FROM (SELECT dblink_exec('x')) s":              true,
		"SELECT (": true,
	} {
		if got := CallsConnectionFunction(sql); got != want {
			t.Errorf("CallsConnectionFunction(%q) = %v, want %v", sql, got, want)
		}
	}
}
