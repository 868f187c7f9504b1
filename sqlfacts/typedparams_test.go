package sqlfacts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestCastTypedParams(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT * FROM t WHERE ts > now() - interval $1", "SELECT * FROM t WHERE ts > now() - $1::interval"},
		{"SELECT * FROM t WHERE a = timestamptz $1 AND b < date $2", "SELECT * FROM t WHERE a = $1::timestamptz AND b < $2::date"},
		{"SELECT timestamp with time zone $1", "SELECT $1::timestamp with time zone"},
		{"SELECT * FROM t WHERE a = $1 LIMIT $2", "SELECT * FROM t WHERE a = $1 LIMIT $2"},
		{"SELECT 'interval $1' /* date $2 */, x FROM t WHERE y = $3", "SELECT 'interval $1' /* date $2 */, x FROM t WHERE y = $3"},
	} {
		got := CastTypedParams(c.in)
		if got != c.want {
			t.Errorf("CastTypedParams(%q) = %q, want %q", c.in, got, c.want)
		}
		if got != c.in {
			if _, err := Analyze(got); err != nil {
				t.Errorf("%q does not parse: %v", got, err)
			}
		}
	}
}

// TestTypedParamsPrefilter: skipping the scan changes nothing: over every
// statement text of the recorded snapshots and cases made to fool the
// byte check, castTypedParams equals the full scan's rewrite.
func TestTypedParamsPrefilter(t *testing.T) {
	texts := []string{
		"SELECT * FROM t WHERE at > now() - interval $1", "SELECT date $1, DATE\t\n$2", "SELECT timestamp with time zone $1",
		"SELECT double precision $1", "SELECT x FROM t WHERE a = $1 AND b = $2", "SELECT 'interval $1'", "SELECT /* date */ $1",
		"SELECT date/* c */$1", "SELECT date$1", "SELECT \"interval\" $1", "SELECT interval\u00a0$1", "SELECT é $1", "SELECT $1::date",
		"SELECT jsonb $1, uuid $2, int $3", "SELECT $1", "$1", "SELECT x$1 FROM t",
	}
	files, err := filepath.Glob("../advisor/testdata/*/snapshot.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded snapshots: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var snap struct {
			Statements []struct {
				Query string `json:"query"`
			} `json:"statements"`
		}
		if err := json.Unmarshal(data, &snap); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, s := range snap.Statements {
			texts = append(texts, s.Query)
		}
	}
	skipped := 0
	for _, q := range texts {
		if got, want := castTypedParams(q), scanTypedParams(q); got != want {
			t.Errorf("%q: %q with the byte check, %q by the scan", q, got, want)
		}
		if !mayHaveTypedLiteral(q) {
			skipped++
		}
	}
	if skipped < len(texts)/2 {
		t.Errorf("the byte check skips the scan for %d of %d texts only", skipped, len(texts))
	}
	t.Logf("%d texts, %d without a scan", len(texts), skipped)
}
