package history

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

func TestStoreSaveLatestPrune(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Open(dir, "../x"); err == nil {
		t.Error("a target name with .. is accepted")
	}
	s, err := Open(dir, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Latest(ctx); p != nil || err != nil {
		t.Fatalf("empty history: %v, %v", p, err)
	}
	th := advisor.DefaultOptions().Report
	for i := 0; i < 4; i++ {
		snap := snapshotAt(t0.Add(time.Duration(i)*24*time.Hour), stmt(1, "SELECT * FROM t WHERE a = $1", int64(100*(i+1)), 2, 0.5))
		prev, err := s.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := Compare("shop", snap, &report.Report{}, prev, th)
		if (prev != nil) != r.Period.Compared {
			t.Errorf("run %d: compared %v with previous %v", i, r.Period.Compared, prev != nil)
		}
		if i > 0 && (prev.Report == nil || prev.Snapshot.Statements[0].Calls != int64(100*i)) {
			t.Errorf("run %d: Latest is not the previous run: %+v", i, prev)
		}
		if _, err := s.Save(ctx, snap, r); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := s.Runs()
	if len(runs) != 4 || !runs[0].At.Equal(t0) {
		t.Fatalf("runs %+v", runs)
	}
	// 2.5 days: the runs of the last two days and a half stay.
	n, err := s.Prune(ctx, Keep{Age: 60 * time.Hour}, t0.Add(3*24*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("prune by age removed %d (%v), want 1", n, err)
	}
	if n, _ := s.Prune(ctx, Keep{Runs: 1}, time.Now()); n != 2 {
		t.Errorf("prune to 1 run removed %d, want 2", n)
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 2 {
		t.Errorf("left %d files, want the last run's two", len(entries))
	}
	if _, err := os.Stat(filepath.Join(s.Dir, t0.Add(72*time.Hour).Format(stampLayout)+snapshotSuffix)); err != nil {
		t.Errorf("the newest run was removed: %v", err)
	}
}

func TestTargetOf(t *testing.T) {
	for in, want := range map[string]string{"shop": "shop", "my db": "my_db", "../etc": "etc", "..": "database", "a/b": "a_b", "x..y": "x_y"} {
		if got := TargetOf(in); got != want || !ValidTarget(got) {
			t.Errorf("TargetOf(%q) = %q, want %q (valid)", in, got, want)
		}
	}
}

func TestParseKeep(t *testing.T) {
	for in, want := range map[string]Keep{"30": {Runs: 30}, "30d": {Age: 30 * 24 * time.Hour}, "12h": {Age: 12 * time.Hour}, "4w": {Age: 28 * 24 * time.Hour}} {
		if got, err := ParseKeep(in); err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-3", "d", "30y", "soon"} {
		if _, err := ParseKeep(in); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

// BenchmarkCompare5000 compares two snapshots of 5,000 statements each (the
// README's figure), fingerprints included.
func BenchmarkCompare5000(b *testing.B) {
	th := advisor.DefaultOptions().Report
	var before, after []pgstat.Statement
	for i := 0; i < 5000; i++ {
		q := fmt.Sprintf("SELECT a, b, c FROM app.t%d t JOIN app.u%d u ON u.id = t.u_id WHERE t.id = $1 AND u.k%d > $2 ORDER BY t.created_at DESC LIMIT 50", i%300, i%7, i)
		s := stmt(int64(i+1), q, int64(100+i), 1+float64(i%50), 0.5)
		before = append(before, s)
		after = append(after, grow(s, 50, 1+float64(i%37), 0.5))
	}
	prev := snapshotAt(t0, before...)
	cur := snapshotAt(t0.Add(24*time.Hour), after...)
	base := Compare("bench", prev, &report.Report{}, nil, th)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := Compare("bench", cur, &report.Report{}, &Previous{Snapshot: prev, Report: base}, th)
		if len(r.Statements) != 5000 {
			b.Fatalf("%d statements", len(r.Statements))
		}
	}
}
