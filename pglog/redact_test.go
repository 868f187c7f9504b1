package pglog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestSequencesAreNormalised: a logged statement carries its values; the
// summary (which enters findings and the snapshot) keeps none of them.
func TestSequencesAreNormalised(t *testing.T) {
	line := func(session, stmt string) string {
		return fmt.Sprintf("2026-01-02 10:00:00.001 UTC [100] %s alice@shop app=api LOG:  duration: 20.000 ms  statement: %s\n", session, stmt)
	}
	var log strings.Builder
	parents := map[string]string{
		"65a1b2c3.1": "SELECT dblink_connect('c', 'host=h password=Zq7Secret')",
		"65a1b2c3.2": "DO $$BEGIN PERFORM dblink_exec('host=h password=Zq7Secret', 'SELECT 1'); END$$",
		"65a1b2c3.3": "ALTER ROLE app PASSWORD /* rotated */ U&'Zq7Secret'",
		"65a1b2c3.4": "SELECT * FROM users WHERE note = 'Zq7Secret", // cut off: does not parse
	}
	for session, parent := range parents {
		log.WriteString(line(session, parent))
		for i := 0; i < 6; i++ {
			log.WriteString(line(session, fmt.Sprintf("SELECT id FROM users WHERE email = 'user%d@example.com' AND id > %d", i, i)))
		}
	}
	sum, err := Parse(strings.NewReader(log.String()), FormatStderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Sequences) != len(parents) {
		t.Fatalf("want %d sequences (one per parent), got %+v", len(parents), sum.Sequences)
	}
	js, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"Zq7Secret", "example.com", "user0"} {
		if strings.Contains(string(js), leak) {
			t.Errorf("%q in the summary: %s", leak, js)
		}
	}
	dropped := 0
	for _, s := range sum.Sequences {
		if s.ChildQuery != "SELECT id FROM users WHERE email = $1 AND id > $2" {
			t.Errorf("child query %q", s.ChildQuery)
		}
		if s.ParentQuery == sqlfacts.DroppedText {
			dropped++
		}
	}
	if dropped != 1 {
		t.Errorf("want the one parent that does not parse dropped, got %d: %+v", dropped, sum.Sequences)
	}
}
