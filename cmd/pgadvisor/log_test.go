package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/report"
)

// TestAuditLogNPlusOne runs an N+1 loop on a cluster that logs every
// statement, then audits with --log on the log the server really wrote.
func TestAuditLogNPlusOne(t *testing.T) {
	ctx := context.Background()
	cluster, dsn, conn := loggingCluster(t, ctx, "app")
	for _, sql := range []string{
		"CREATE TABLE orders (id int PRIMARY KEY, customer_id int)",
		"CREATE TABLE items (id int PRIMARY KEY, order_id int REFERENCES orders, sku text)",
		"INSERT INTO orders SELECT g, g % 20 FROM generate_series(1, 400) g",
		"INSERT INTO items SELECT g, g % 400 + 1, 'sku' || g FROM generate_series(1, 1200) g",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for customer := 0; customer < 20; customer++ {
		rows, err := conn.Query(ctx, "SELECT id FROM orders WHERE customer_id = $1", customer)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int
		for rows.Next() {
			var id int
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM items WHERE order_id = $1", id).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0", "--no-what-if",
		"--log", cluster.LogFile(), "--log-format", "stderr", "--log-min-ms", "0.01")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range r.Findings {
		if f.Rule == "n-plus-one" && strings.Contains(f.Query, "FROM items WHERE order_id") {
			found = true
		}
	}
	if !found {
		t.Errorf("the N+1 loop in the log was not reported; findings: %+v", r.Findings)
	}

	// A file that is not a statement log is a usage error naming the file.
	bad := filepath.Join(t.TempDir(), "notes.log")
	os.WriteFile(bad, []byte("just some text\nnot a log\n"), 0o644)
	code, _, stderr = runCLI(t, "audit", "--dsn", dsn, "--log", bad, "--log-format", "csvlog")
	if code != exitUsage || !strings.Contains(stderr, "notes.log") {
		t.Errorf("bad log: exit %d, stderr %q", code, stderr)
	}
}
