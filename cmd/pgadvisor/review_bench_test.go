package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// BenchmarkReviewStaging is the README's staging figure: pgadvisor review
// --dsn on the sample repository's internal/ and queries/ (13 statements
// sent) with the shop fixture (scale 0.3) on the throwaway PostgreSQL as
// staging, generic plans and the what-if engine; it reports the time per
// statement sent (the whole run, start-up included) and the explain phase's.
func BenchmarkReviewStaging(b *testing.B) {
	ctx := context.Background()
	dsn := pgtest.DB(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := shop.Load(ctx, conn, 0.3); err != nil {
		b.Fatalf("load: %v", err)
	}
	conn.Close(ctx)
	b.Chdir(sampleRepo)
	b.ResetTimer()
	var explainMS, whatIfMS float64
	sent := 0
	for i := 0; i < b.N; i++ {
		var out, errb strings.Builder
		code := run(ctx, []string{"pgadvisor", "review", "--dsn", dsn, "--format", "json", "--fail-on", "never", "internal", "queries"}, strings.NewReader(""), &out, &errb)
		if code != exitClean {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
		var rep struct {
			Staging struct {
				Statements int                `json:"statements"`
				TimingsMS  map[string]float64 `json:"timings_ms"`
			} `json:"staging"`
		}
		if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
			b.Fatal(err)
		}
		sent = rep.Staging.Statements
		explainMS += rep.Staging.TimingsMS["explain"]
		whatIfMS += rep.Staging.TimingsMS["what_if"]
	}
	b.StopTimer()
	if sent == 0 {
		b.Fatal("no statement sent to staging")
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(sent), "ms/statement")
	b.ReportMetric(explainMS/float64(b.N)/float64(sent), "explain-ms/statement")
	b.ReportMetric(whatIfMS/float64(b.N), "what-if-ms/op")
	b.ReportMetric(float64(sent), "statements")
}
