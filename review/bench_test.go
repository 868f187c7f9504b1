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
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// benchRepo writes 1,000 files of 10 statements each: 600 SQL files (a
// third of them sqlc query files), 200 Go files and 50 each of Python,
// Ruby, JavaScript and Java (their placeholders ? and %s), with a mix of
// clean statements and ones the rules report. Every statement's text is
// its own (a number of its file in it), as in a real repository.
func benchRepo(b *testing.B) string {
	dir := b.TempDir()
	stmts := []string{
		"SELECT id, email FROM shop.customers WHERE id = $1",
		"SELECT id, total FROM shop.orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20",
		"SELECT id FROM shop.customers WHERE lower(email) = $1",
		"SELECT id, name FROM shop.products WHERE name ILIKE '%lamp%'",
		"SELECT p.id, c.name FROM shop.products p JOIN shop.categories c ON c.id = p.category_id WHERE p.id = $1",
		"UPDATE shop.orders SET status = $2 WHERE id = $1 RETURNING %d",
		"INSERT INTO shop.events (kind, payload, created_at) VALUES ($1, $2, now()) RETURNING %d",
		"SELECT id FROM shop.orders ORDER BY created_at DESC LIMIT 20 OFFSET 5000",
		"DELETE FROM shop.sessions WHERE expires_at < now() RETURNING %d",
		"SELECT count(*) FROM shop.orders WHERE created_at::date = $1",
	}
	// own is statement s of file i, a text of its own.
	own := func(s string, i int) string {
		if strings.Contains(s, "%d") {
			return fmt.Sprintf(s, i)
		}
		return strings.Replace(s, "SELECT ", fmt.Sprintf("SELECT %d AS f, ", i), 1)
	}
	question := strings.NewReplacer("$1", "?", "$2", "?")
	for i := 0; i < 1000; i++ {
		var b2 strings.Builder
		name := filepath.Join(dir, fmt.Sprintf("pkg%03d", i/50))
		if err := os.MkdirAll(name, 0o755); err != nil {
			b.Fatal(err)
		}
		switch k := i % 10; {
		case k < 6:
			for j, s := range stmts {
				if i%3 == 0 {
					fmt.Fprintf(&b2, "-- name: Q%d :many\n", j)
				}
				fmt.Fprintf(&b2, "%s;\n\n", own(s, i))
			}
			name = filepath.Join(name, fmt.Sprintf("q%04d.sql", i))
		case k < 8:
			b2.WriteString("package x\n\nfunc f(db DB) {\n")
			for _, s := range stmts {
				fmt.Fprintf(&b2, "\tdb.QueryContext(ctx, `%s`, 1)\n", own(s, i))
			}
			b2.WriteString("}\n")
			name = filepath.Join(name, fmt.Sprintf("q%04d.go", i))
		case k == 8 && i%20 < 10:
			b2.WriteString("def f(cur):\n")
			for _, s := range stmts {
				fmt.Fprintf(&b2, "    cur.execute(\"\"\"\n        %s\n    \"\"\", (1, 2))\n", strings.NewReplacer("$1", "%s", "$2", "%s").Replace(own(s, i)))
			}
			name = filepath.Join(name, fmt.Sprintf("q%04d.py", i))
		case k == 8:
			b2.WriteString("class Q\n")
			for _, s := range stmts {
				fmt.Fprintf(&b2, "  def q\n    find_by_sql([<<~SQL, 1, 2])\n      %s\n    SQL\n  end\n", question.Replace(own(s, i)))
			}
			b2.WriteString("end\n")
			name = filepath.Join(name, fmt.Sprintf("q%04d.rb", i))
		case i%20 < 10:
			for _, s := range stmts {
				fmt.Fprintf(&b2, "await db.query('%s', [1, 2])\n", strings.ReplaceAll(question.Replace(own(s, i)), "'", "\\'"))
			}
			name = filepath.Join(name, fmt.Sprintf("q%04d.js", i))
		default:
			b2.WriteString("class Q {\n  void f(Connection c) throws Exception {\n")
			for _, s := range stmts {
				fmt.Fprintf(&b2, "    c.prepareStatement(\"%s\");\n", question.Replace(own(s, i)))
			}
			b2.WriteString("  }\n}\n")
			name = filepath.Join(name, fmt.Sprintf("Q%04d.java", i))
		}
		if err := os.WriteFile(name, []byte(b2.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkReview is the offline review of 10,000 statements in 1,000
// files: walk, read, split, parse, the sql-family and migration rules,
// suppression. It reports the process's CPU time per run beside the wall
// time: on a shared machine the wall time depends on the other processes.
func BenchmarkReview(b *testing.B) {
	dir := benchRepo(b)
	opts := Options{Advisor: advisor.DefaultOptions()}
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		// Each run parses cold, as a fresh process does: without the reset
		// the parse cache answers every iteration after the first.
		b.StopTimer()
		sqlfacts.ResetCaches()
		b.StartTimer()
		files, _, err := Collect(dir, []string{"."})
		if err != nil {
			b.Fatal(err)
		}
		r := Check(files, opts)
		if r.Statements != 10000 || r.Files != 1000 {
			b.Fatalf("%d statements in %d files", r.Statements, r.Files)
		}
		for _, f := range r.Findings {
			if f.Rule == "syntax-error" {
				b.Fatalf("%s:%d: %s", f.Location.Path, f.Location.Line, f.Message)
			}
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
