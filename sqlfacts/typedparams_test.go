package sqlfacts

import "testing"

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
