package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
)

var fixParam = regexp.MustCompile(`\$\d+`)

// checkAdvisoryFixesRun runs the SQL of every advisory fix (a keyset
// rewrite, a batched statement, a materialised view, an N+1's ANY($1)
// rewrite) on the audited database, each fix in one transaction that is
// rolled back: a statement with $n parameters is PREPAREd (the server plans
// it and infers its parameters' types), any other is executed. Comment
// lines are advice, not SQL; a COPY … FROM STDIN needs a data stream and is
// only counted. It returns how many statements ran.
func checkAdvisoryFixesRun(t *testing.T, ctx context.Context, conn *pgx.Conn, fs []advisor.Finding) int {
	t.Helper()
	ran := 0
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Fix == nil || !f.Fix.Advisory || len(f.Fix.SQL) == 0 || seen[f.FixID] {
			continue
		}
		seen[f.FixID] = true
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range f.Fix.SQL {
			sql := stripCommentLines(piece)
			switch {
			case sql == "":
				continue
			case strings.HasPrefix(strings.ToUpper(sql), "COPY "):
				continue
			case strings.HasPrefix(strings.ToUpper(sql), "CREATE INDEX CONCURRENTLY "):
				// A sketch's index (the rewrite's, non-sargable): built in
				// the rolled-back transaction, where CONCURRENTLY (which
				// changes only the locking) cannot run.
				_, err = tx.Exec(ctx, "CREATE INDEX "+sql[len("CREATE INDEX CONCURRENTLY "):])
			case fixParam.MatchString(sql):
				_, err = tx.Exec(ctx, "PREPARE pgadvisor_fix_check AS "+sql)
				if err == nil {
					_, err = tx.Exec(ctx, "DEALLOCATE pgadvisor_fix_check")
				}
			default:
				_, err = tx.Exec(ctx, sql)
			}
			if err != nil {
				t.Errorf("advisory fix of %s does not run: %v\n%s", f.Rule, err, sql)
				break
			}
			ran++
		}
		tx.Rollback(ctx)
	}
	return ran
}

// stripCommentLines drops the lines that are only a -- comment.
func stripCommentLines(sql string) string {
	var keep []string
	for _, l := range strings.Split(sql, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			keep = append(keep, l)
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Join(keep, "\n")), ";")
}
