package benchadvice

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// adviceSet is pgadvisor's index set: the statements of its "What to run"
// fixes that build indexes, and those it leaves out.
type adviceSet struct {
	apply      []string
	notApplied []string
	fixes      []AdvisorFix
}

// pgadvisorSet audits the database as `pgadvisor audit` does (collect,
// explain, what-if with HypoPG, advise) and returns the SQL of its fixes
// that cut time: the table report's "What to run", neither hygiene (listed
// apart, buys no time in the workload) nor advisory (design sketches).
// Of those, the statements that build indexes are the set; the others
// (DROP INDEX, settings, statistics objects) are returned as not applied.
func pgadvisorSet(ctx context.Context, dsn string) (adviceSet, error) {
	opts := audit.DefaultOptions()
	opts.DSN = dsn
	opts.SampleWindow = time.Second
	snap, err := audit.Collect(ctx, opts)
	if err != nil {
		return adviceSet{}, fmt.Errorf("pgadvisor audit: %w", err)
	}
	for _, p := range snap.Problems {
		if p.Phase == "what-if" {
			// Without the what-if phase there is no index advice to measure.
			return adviceSet{}, fmt.Errorf("pgadvisor audit: what-if failed: %s (fix: %s)", p.Message, p.Fix)
		}
	}
	r := audit.Advise(snap, opts.Advisor, advisor.All(), "live")
	var set adviceSet
	seen := map[string]bool{}
	for _, e := range r.Fixes {
		if e.Advisory || e.Hygiene {
			continue
		}
		fix := AdvisorFix{Label: e.Label, Rules: e.Rules, Summary: e.Summary, EstimatedBytes: e.SizeBytes}
		for _, sql := range e.SQL {
			sql = strings.TrimSuffix(strings.TrimSpace(sql), ";")
			if buildsIndex(sql) {
				fix.SQL = append(fix.SQL, sql)
			}
			if seen[sql] {
				continue // CREATE EXTENSION pg_trgm, once
			}
			seen[sql] = true
			if buildsIndex(sql) {
				set.apply = append(set.apply, sql)
			} else {
				set.notApplied = append(set.notApplied, sql)
			}
		}
		if len(fix.SQL) > 0 {
			set.fixes = append(set.fixes, fix)
		}
	}
	return set, nil
}

// buildsIndex reports whether a fix statement is part of building an index:
// CREATE [UNIQUE] INDEX, the extension an index's operator class needs, or
// the ALTER INDEX … ATTACH PARTITION of a partitioned index's online recipe.
func buildsIndex(sql string) bool {
	u := strings.ToUpper(stripComments(sql))
	for _, p := range []string{"CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE EXTENSION"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return strings.HasPrefix(u, "ALTER INDEX") && strings.Contains(u, "ATTACH PARTITION")
}

// stripComments drops the leading "--" comment lines and whitespace of a statement.
func stripComments(sql string) string {
	lines := strings.Split(sql, "\n")
	for len(lines) > 0 {
		t := strings.TrimSpace(lines[0])
		if t != "" && !strings.HasPrefix(t, "--") {
			break
		}
		lines = lines[1:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// splitSQL cuts a script into its statements (PostgreSQL's parser: comments
// and strings respected); a statement that does not parse is an error.
func splitSQL(script string) ([]string, error) {
	pieces, err := sqlfacts.Split(script)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pieces {
		if p.Err != nil {
			return nil, fmt.Errorf("line %d: %v", p.Line, p.Err)
		}
		if s := strings.TrimSpace(p.SQL); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// indexRow is one index of the catalog.
type indexRow struct {
	oid        uint32
	name       string
	definition string
	size       int64
	valid      bool
	parent     uint32 // the partitioned index it is attached to, 0 if none
}

// readIndexes lists the user indexes of the database (partitioned ones
// and their partitions' included).
func readIndexes(ctx context.Context, conn *pgx.Conn) ([]indexRow, error) {
	rows, err := conn.Query(ctx, `SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(c.oid),
	pg_relation_size(c.oid), coalesce(x.indisvalid, false),
	coalesce((SELECT inhparent FROM pg_inherits WHERE inhrelid = c.oid), 0)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index x ON x.indexrelid = c.oid
WHERE c.relkind IN ('i', 'I') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'`)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (indexRow, error) {
		var ix indexRow
		err := r.Scan(&ix.oid, &ix.name, &ix.definition, &ix.size, &ix.valid, &ix.parent)
		return ix, err
	})
}

// indexNames returns the names of the database's user indexes.
func indexNames(ctx context.Context, dsn string) (map[string]bool, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	list, err := readIndexes(ctx, conn)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, ix := range list {
		names[ix.name] = true
	}
	return names, nil
}

// buildArm runs the arm's SQL in its database, one statement at a time in
// autocommit (CREATE INDEX CONCURRENTLY cannot run in a transaction), then
// ANALYZE (every arm alike: expression indexes get their statistics), and
// records the indexes that were not there before with their sizes. A
// partition's new index is counted in its new partitioned parent.
func buildArm(ctx context.Context, dsn string, arm *Arm, before map[string]bool) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	for _, sql := range arm.SQL {
		if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("run %q: %w", sql, err)
		}
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	list, err := readIndexes(ctx, conn)
	if err != nil {
		return err
	}
	isNew := map[uint32]bool{}
	byOID := map[uint32]indexRow{}
	for _, ix := range list {
		byOID[ix.oid] = ix
		if !before[ix.name] {
			isNew[ix.oid] = true
		}
	}
	// top returns the outermost new index that ix rolls up into.
	top := func(ix indexRow) uint32 {
		oid := ix.oid
		for {
			p := byOID[oid].parent
			if p == 0 || !isNew[p] {
				return oid
			}
			oid = p
		}
	}
	tops := map[uint32]*Index{}
	var order []uint32
	for _, ix := range list {
		if !isNew[ix.oid] {
			continue
		}
		if !ix.valid {
			return fmt.Errorf("index %s is not valid after the build", ix.name)
		}
		t := top(ix)
		e := tops[t]
		if e == nil {
			ti := byOID[t]
			e = &Index{Name: ti.name, Definition: ti.definition}
			tops[t] = e
			order = append(order, t)
		}
		e.SizeBytes += ix.size
		if t != ix.oid {
			e.Partitions++
		}
		arm.SizeBytes += ix.size
	}
	for _, t := range order {
		arm.Indexes = append(arm.Indexes, *tops[t])
	}
	return nil
}

// measurement is one measured run of an arm.
type measurement struct {
	serverMS   float64
	buffers    float64
	wallMS     float64
	statements map[string]StatementTime
}

// measure resets pg_stat_statements, runs the fixture's measured workload
// on the arm's database and reads back the time of its top-level
// statements there (execution and planning; nested statements such as
// foreign-key checks are inside their top-level statement's time).
func measure(ctx context.Context, admin *pgx.Conn, dsn, db string, f Fixture, requests int) (measurement, error) {
	m := measurement{statements: map[string]StatementTime{}}
	if _, err := admin.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		return m, fmt.Errorf("reset pg_stat_statements: %w", err)
	}
	start := time.Now()
	if err := f.BenchWorkload(ctx, dsn, requests); err != nil {
		return m, fmt.Errorf("workload: %w", err)
	}
	m.wallMS = float64(time.Since(start).Microseconds()) / 1000
	rows, err := admin.Query(ctx, `SELECT s.query, s.calls, s.total_exec_time + s.total_plan_time,
	(s.shared_blks_hit + s.shared_blks_read + s.shared_blks_dirtied + s.shared_blks_written
	 + s.local_blks_hit + s.local_blks_read + s.local_blks_dirtied + s.local_blks_written
	 + s.temp_blks_read + s.temp_blks_written)::float8
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = $1 AND s.toplevel`, db)
	if err != nil {
		return m, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var query string
		var calls int64
		var ms, buffers float64
		if err := rows.Scan(&query, &calls, &ms, &buffers); err != nil {
			return m, fmt.Errorf("read pg_stat_statements: %w", err)
		}
		// One text can have several entries (one per user or queryid).
		st := m.statements[query]
		st.Query, st.Calls, st.MS = query, st.Calls+float64(calls), st.MS+ms
		m.statements[query] = st
		m.serverMS += ms
		m.buffers += buffers
	}
	if err := rows.Err(); err != nil {
		return m, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	if len(m.statements) == 0 {
		return m, errNoStatements
	}
	return m, nil
}
