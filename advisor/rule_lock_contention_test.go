package advisor

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// contentionSnapshot is a wait profile of active (0: 100) active samples in
// database "app": the entries, and a read on CPU for the rest.
func contentionSnapshot(active int64, entries ...pgstat.WaitEntry) *pgstat.Snapshot {
	if active == 0 {
		active = 100
	}
	snap := pgstat.New()
	snap.Database = "app"
	snap.Statements = []pgstat.Statement{
		{QueryID: 11, Query: "UPDATE counters SET n = n + $1 WHERE id = $2", Calls: 1000, TotalExecTime: 2000},
		{QueryID: 12, Query: "SELECT n FROM counters WHERE id = $1", Calls: 1000, TotalExecTime: 500},
	}
	snap.Tables = []pgstat.Table{{OID: 1, Schema: "public", Name: "counters", Kind: "r", Rows: 3}}
	var sum int64
	for _, e := range entries {
		sum += e.Samples
	}
	w := &pgstat.WaitProfile{IntervalMS: 100, Ticks: 50, WindowMS: 4900, ActiveSamples: active}
	w.Entries = append(entries, pgstat.WaitEntry{Database: "app", QueryID: 12, Query: "SELECT n FROM counters WHERE id = $1", Samples: active - sum})
	snap.Waits = w
	return snap
}

func withBlockers(e pgstat.WaitEntry, b ...pgstat.WaitBlocker) pgstat.WaitEntry {
	e.Blockers = b
	return e
}

func TestLockContentionCases(t *testing.T) {
	update := func(samples int64, event, relation string) pgstat.WaitEntry {
		e := pgstat.WaitEntry{Database: "app", QueryID: 11, Query: "UPDATE counters SET n = n + $1 WHERE id = $2;", Samples: samples, Relation: relation}
		if event != "" {
			e.WaitEventType, e.WaitEvent = "Lock", event
		}
		return e
	}
	for _, c := range []struct {
		name    string
		entries []pgstat.WaitEntry
		// want is "" for no finding, else the severity, and the message holds wantText.
		want     Severity
		wantText string
		object   string
		active   int64 // active samples of the window (0: 100)
	}{
		{"row locks", []pgstat.WaitEntry{withBlockers(update(20, "transactionid", "public.counters"),
			pgstat.WaitBlocker{Query: "COMMIT", State: "active", Samples: 2},
			pgstat.WaitBlocker{Query: "UPDATE counters SET n = n + $1 WHERE id = $2;", State: "idle in transaction", Samples: 15}),
			withBlockers(update(10, "tuple", "public.counters"), pgstat.WaitBlocker{Query: "UPDATE counters SET n = n + $1 WHERE id = $2;", State: "active", Wait: "Lock:transactionid", Samples: 10}),
			update(10, "", "")},
			SeverityWarning, "waits on row locks of public.counters in 75% of its active time, 30% of all active session time", "public.counters", 0},
		{"transactionid without a tuple lock: the statement's target", []pgstat.WaitEntry{update(12, "transactionid", "")},
			SeverityWarning, "row locks of public.counters", "public.counters", 0},
		{"half of all active time waiting is an error", []pgstat.WaitEntry{update(60, "transactionid", "public.counters")},
			SeverityError, "60% of all active session time", "public.counters", 0},
		{"below contention_min_samples", []pgstat.WaitEntry{update(9, "transactionid", "public.counters")}, "", "", "", 0},
		{"below contention_min_share", []pgstat.WaitEntry{update(12, "transactionid", "public.counters")}, "", "", "", 400}, // 3%
		{"another database's waits", []pgstat.WaitEntry{{Database: "other", QueryID: 99, Query: "UPDATE x SET a = $1", WaitEventType: "Lock", WaitEvent: "transactionid", Samples: 50}}, "", "", "", 0},
		{"a table lock, no queryid: matched by fingerprint", []pgstat.WaitEntry{{Database: "app", Query: "UPDATE counters SET n = n + $1 WHERE id = $2", WaitEventType: "Lock", WaitEvent: "relation", Relation: "public.counters", Samples: 30}},
			SeverityWarning, "waits on locks of public.counters", "public.counters", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := contentionSnapshot(c.active, c.entries...)
			if err := snap.Validate(); err != nil {
				t.Fatal(err)
			}
			res := Run(snap, []*Rule{LockContention}, DefaultOptions())
			if len(res.RuleErrors) > 0 {
				t.Fatal(res.RuleErrors)
			}
			if c.want == "" {
				if len(res.Findings) != 0 {
					t.Errorf("findings: %+v", res.Findings)
				}
				return
			}
			if len(res.Findings) != 1 {
				t.Fatalf("%d findings, want 1: %+v", len(res.Findings), res.Findings)
			}
			f := res.Findings[0]
			if f.Severity != c.want || !strings.Contains(f.Message, c.wantText) || len(f.Objects) != 1 || f.Objects[0] != c.object {
				t.Errorf("got %s %q on %v; want %s, %q, on %s", f.Severity, f.Message, f.Objects, c.want, c.wantText, c.object)
			}
			if c.name == "row locks" {
				want := []string{"15 samples, idle in transaction: UPDATE counters SET n = n + $1 WHERE id = $2;",
					"10 samples, active, waiting on Lock:transactionid: UPDATE counters SET n = n + $1 WHERE id = $2;",
					"2 samples, active: COMMIT"}
				if got := f.Evidence["blockers"]; !reflect.DeepEqual(got, want) || !strings.Contains(f.Message, `blocked by a transaction idle after "UPDATE counters`) {
					t.Errorf("blockers %q, want %q; message %q", got, want, f.Message)
				}
			}
			if f.QueryID != "11" || f.Query != "UPDATE counters SET n = n + $1 WHERE id = $2" || !f.Fix.Advisory {
				t.Errorf("not tied to the statement of pg_stat_statements: queryid %q, query %q", f.QueryID, f.Query)
			}
		})
	}
}
