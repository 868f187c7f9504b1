package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// BenchmarkReportOffline5000 is the README's figure: pgadvisor report
// --from A --to B on two snapshots of 5,000 statements each (the blog
// fixture's schema, its statements repeated under distinct queryids): both
// audits, the comparison and the JSON report.
// Each iteration gets snapshots of its own texts (a comment names the
// iteration), so that sqlfacts' parse cache starts cold as in a real run:
// the first audit parses every text, the second finds most in the cache.
func BenchmarkReportOffline5000(b *testing.B) {
	data, err := os.ReadFile("../../advisor/testdata/blog-unseen-schema/snapshot.json")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	paths := [2]string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	write := func(iteration int) {
		for k, path := range paths {
			snap, err := pgstat.Read(data)
			if err != nil {
				b.Fatal(err)
			}
			base := snap.Statements
			snap.Statements = nil
			for i := 0; len(snap.Statements) < 5000; i++ {
				s := base[i%len(base)]
				if i >= len(base) { // the originals keep their queryids (plans and what-if refer to them)
					s.QueryID = int64(1_000_000_000 + i)
					s.Query = fmt.Sprintf("%s /* copy %d */", s.Query, i)
				}
				s.Query = fmt.Sprintf("%s /* iteration %d */", s.Query, iteration)
				s.Calls += int64(k * 10)
				s.TotalExecTime += float64(k*10) * s.MeanExecTime
				snap.Statements = append(snap.Statements, s)
			}
			snap.CollectedAt = snap.CollectedAt.Add(time.Duration(k) * 24 * time.Hour)
			var sb strings.Builder
			if err := snap.Write(&sb); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		write(i)
		runtime.GC()
		b.StartTimer()
		before := processCPU()
		var errb strings.Builder
		if code := run(context.Background(), []string{"pgadvisor", "report", "--from", paths[0], "--to", paths[1], "--format", "json"}, strings.NewReader(""), io.Discard, &errb); code != exitClean {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
		cpu += processCPU() - before
	}
	// The CPU time per run, which the machine's load changes less than the
	// wall time.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}
