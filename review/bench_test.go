package review

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// benchRepo writes 1,000 files of 10 statements each: 600 SQL files (a
// third of them sqlc query files) and 400 Go files, with a mix of clean
// statements and ones the rules report.
func benchRepo(b *testing.B) string {
	dir := b.TempDir()
	stmts := []string{
		"SELECT id, email FROM shop.customers WHERE id = $1",
		"SELECT id, total FROM shop.orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20",
		"SELECT id FROM shop.customers WHERE lower(email) = $1",
		"SELECT id, name FROM shop.products WHERE name ILIKE '%lamp%'",
		"SELECT p.id, c.name FROM shop.products p JOIN shop.categories c ON c.id = p.category_id WHERE p.id = $1",
		"UPDATE shop.orders SET status = $2 WHERE id = $1",
		"INSERT INTO shop.events (kind, payload, created_at) VALUES ($1, $2, now())",
		"SELECT id FROM shop.orders ORDER BY created_at DESC LIMIT 20 OFFSET 5000",
		"DELETE FROM shop.sessions WHERE expires_at < now()",
		"SELECT count(*) FROM shop.orders WHERE created_at::date = $1",
	}
	for i := 0; i < 1000; i++ {
		var b2 strings.Builder
		name := filepath.Join(dir, fmt.Sprintf("pkg%03d", i/50))
		if err := os.MkdirAll(name, 0o755); err != nil {
			b.Fatal(err)
		}
		if i%5 < 3 {
			for j, s := range stmts {
				if i%3 == 0 {
					fmt.Fprintf(&b2, "-- name: Q%d :many\n", j)
				}
				fmt.Fprintf(&b2, "%s;\n\n", s)
			}
			name = filepath.Join(name, fmt.Sprintf("q%04d.sql", i))
		} else {
			b2.WriteString("package x\n\nfunc f(db DB) {\n")
			for _, s := range stmts {
				fmt.Fprintf(&b2, "\tdb.QueryContext(ctx, `%s`, 1)\n", s)
			}
			b2.WriteString("}\n")
			name = filepath.Join(name, fmt.Sprintf("q%04d.go", i))
		}
		if err := os.WriteFile(name, []byte(b2.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkReview is the offline review of 10,000 statements in 1,000
// files: walk, read, split, parse, the sql-family and migration rules.
func BenchmarkReview(b *testing.B) {
	dir := benchRepo(b)
	opts := Options{Advisor: advisor.DefaultOptions()}
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		files, _, err := Collect(dir, []string{"."})
		if err != nil {
			b.Fatal(err)
		}
		r := Check(files, opts)
		if r.Statements != 10000 || r.Files != 1000 {
			b.Fatalf("%d statements in %d files", r.Statements, r.Files)
		}
		if i == 0 {
			b.ReportMetric(float64(len(r.Findings)), "findings")
		}
	}
	// CPU time is the figure that holds on a shared machine, where the
	// wall time depends on the other processes.
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
