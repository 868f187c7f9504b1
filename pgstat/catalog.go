package pgstat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// userSchemas filters pg_namespace n to the schemas of user objects.
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

const tablesQuery = Marker + ` SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text,
  COALESCE(pn.nspname::text, ''), COALESCE(pc.relname::text, ''),
  CASE WHEN c.relkind = 'p' THEN (SELECT count(*) FROM pg_inherits ch WHERE ch.inhparent = c.oid) ELSE 0 END,
  c.reltuples::float8, c.relpages::int8, c.relallvisible::int8,
  COALESCE(s.seq_scan, 0), COALESCE(s.seq_tup_read, 0), COALESCE(s.idx_scan, 0), COALESCE(s.idx_tup_fetch, 0),
  COALESCE(s.n_tup_ins, 0), COALESCE(s.n_tup_upd, 0), COALESCE(s.n_tup_del, 0), COALESCE(s.n_tup_hot_upd, 0),
  COALESCE(s.n_live_tup, 0), COALESCE(s.n_dead_tup, 0), COALESCE(s.n_mod_since_analyze, 0),
  GREATEST(s.last_analyze, s.last_autoanalyze),
  CASE WHEN c.relispartition THEN COALESCE(pg_get_expr(c.relpartbound, c.oid), '') ELSE '' END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'f') AND ` + userSchemas + `
ORDER BY n.nspname, c.relname`

func (c *collector) collectTables(ctx context.Context) error {
	rows, err := c.conn.Query(ctx, tablesQuery)
	if err != nil {
		return fmt.Errorf("read tables: %w", err)
	}
	defer rows.Close()
	tables := []Table{}
	for rows.Next() {
		var t Table
		var oid int64
		var parentSchema, parentName string
		var analyzed *time.Time
		if err := rows.Scan(&oid, &t.Schema, &t.Name, &t.Kind, &parentSchema, &parentName, &t.Partitions,
			&t.Rows, &t.Pages, &t.AllVisiblePages, &t.SeqScan, &t.SeqTupRead, &t.IdxScan, &t.IdxTupFetch,
			&t.NTupIns, &t.NTupUpd, &t.NTupDel, &t.NTupHotUpd, &t.NLiveTup, &t.NDeadTup, &t.NModSinceAnalyze,
			&analyzed, &t.PartitionBound); err != nil {
			return fmt.Errorf("read tables: %w", err)
		}
		t.OID = uint32(oid)
		if parentName != "" {
			t.Parent = QuoteQualified(parentSchema, parentName)
		}
		t.LastAnalyze = utc(analyzed)
		t.Columns = []Column{}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read tables: %w", err)
	}
	c.snap.Tables = tables
	return nil
}

// columnsQuery reads the columns of the tables $1 with their pg_stats row
// (the inherited one for partitioned tables). pg_stats shows only columns the
// user may read; the others keep nil statistics. The most common value is
// read only for built-in types: turning a value into text runs its type's
// output function, which for a user type is user code.
const columnsQuery = Marker + ` SELECT a.attrelid::int8, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
  st.null_frac::float8, st.n_distinct::float8, st.correlation::float8, st.avg_width,
  CASE WHEN a.atttypid < 16384 THEN (st.most_common_vals::text::text[])[1] END,
  CASE WHEN a.atttypid < 16384 AND st.avg_width <= 64 THEN st.most_common_vals::text::text[] END,
  CASE WHEN a.atttypid < 16384 AND st.avg_width <= 64 THEN st.most_common_freqs::float8[] END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = a.attname
  AND st.inherited = (c.relkind = 'p')
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`

func (c *collector) collectColumns(ctx context.Context) error {
	if len(c.snap.Tables) == 0 {
		return nil
	}
	byOID := make(map[uint32]int, len(c.snap.Tables))
	oids := make([]int64, 0, len(c.snap.Tables))
	for i, t := range c.snap.Tables {
		byOID[t.OID] = i
		oids = append(oids, int64(t.OID))
	}
	rows, err := c.conn.Query(ctx, columnsQuery, oids)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rel int64
		var col Column
		var avgWidth *int32
		if err := rows.Scan(&rel, &col.Name, &col.Type, &col.NotNull, &col.NullFrac, &col.NDistinct,
			&col.Correlation, &avgWidth, &col.MostCommonValue, &col.MostCommonValues, &col.MostCommonFreqs); err != nil {
			return fmt.Errorf("read columns: %w", err)
		}
		if avgWidth != nil {
			col.AvgWidth = int(*avgWidth)
		}
		if i, ok := byOID[uint32(rel)]; ok {
			c.snap.Tables[i].Columns = append(c.snap.Tables[i].Columns, col)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	return nil
}

// indexesQuery reads the indexes of user tables from the catalogs alone,
// without pg_get_indexdef, which locks the table (see indexDefinitionsQuery).
// Key columns are the attribute name ("" for an expression key, filled in
// later); indoption bit 1 is DESC; an opclass is reported only when it is not
// the default. pg_get_expr does not lock.
const indexesQuery = Marker + ` SELECT i.indexrelid::int8, i.indrelid::int8, n.nspname::text, t.relname::text, ic.relname::text,
  am.amname::text, i.indnkeyatts::int,
  ARRAY(SELECT COALESCE(a.attname::text, '')
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum <> 0
        ORDER BY k.n),
  ARRAY(SELECT k.attnum = 0 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) ORDER BY k.n),
  ARRAY(SELECT (o.opt & 1) = 1 FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS o(opt, n) ORDER BY o.n),
  ARRAY(SELECT CASE WHEN oc.opcdefault THEN '' ELSE oc.opcname::text END
        FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS k(opc, n)
        JOIN pg_opclass oc ON oc.oid = k.opc
        ORDER BY k.n),
  COALESCE(pg_get_expr(i.indpred, i.indrelid, true), ''),
  i.indisunique, i.indisprimary,
  COALESCE((SELECT con.conname::text FROM pg_constraint con
            WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
            LIMIT 1), ''),
  i.indisvalid, i.indisready,
  COALESCE(s.idx_scan, 0), COALESCE(s.idx_tup_read, 0), COALESCE(s.idx_tup_fetch, 0),
  COALESCE(pn.nspname::text, ''), COALESCE(pc.relname::text, '')
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
LEFT JOIN pg_inherits ih ON ic.relispartition AND ih.inhrelid = i.indexrelid
LEFT JOIN pg_class pc ON pc.oid = ih.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE t.relkind IN ('r', 'p', 'm') AND ` + userSchemas + `
ORDER BY n.nspname, t.relname, ic.relname`

// indexDefinitionsQuery reads the definitions and expression keys of the
// indexes of the tables $1. pg_get_indexdef takes an AccessShareLock on the table, so it
// waits behind DDL (up to lock_timeout).
const indexDefinitionsQuery = Marker + ` SELECT i.indexrelid::int8, pg_get_indexdef(i.indexrelid),
  ARRAY(SELECT CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.n::int, true) ELSE '' END
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) ORDER BY k.n)
FROM pg_index i WHERE i.indrelid = ANY($1::oid[])`

func (c *collector) collectIndexes(ctx context.Context) error {
	rows, err := c.conn.Query(ctx, indexesQuery)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	defer rows.Close()
	indexes := []Index{}
	for rows.Next() {
		var ix Index
		var oid, table int64
		var nKey int
		var all, opclasses []string
		var exprs []bool
		var parentSchema, parentName string
		if err := rows.Scan(&oid, &table, &ix.Schema, &ix.Table, &ix.Name, &ix.Method, &nKey,
			&all, &exprs, &ix.Descending, &opclasses, &ix.Predicate, &ix.Unique, &ix.Primary, &ix.Constraint,
			&ix.Valid, &ix.Ready, &ix.IdxScan, &ix.IdxTupRead, &ix.IdxTupFetch, &parentSchema, &parentName); err != nil {
			return fmt.Errorf("read indexes: %w", err)
		}
		ix.OID = uint32(oid)
		if parentName != "" {
			ix.Parent = QuoteQualified(parentSchema, parentName)
		}
		c.indexTable[ix.OID] = uint32(table)
		if nKey > len(all) {
			nKey = len(all)
		}
		ix.Columns = all[:nKey:nKey]
		ix.Expressions = exprs[:min(nKey, len(exprs)):min(nKey, len(exprs))]
		if len(all) > nKey {
			ix.Include = all[nKey:]
		}
		if len(ix.Descending) == 0 {
			ix.Descending = nil
		}
		for _, o := range opclasses {
			if o != "" {
				ix.Opclasses = opclasses
				break
			}
		}
		if len(ix.Expressions) == 0 {
			ix.Expressions = nil
		}
		indexes = append(indexes, ix)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	c.snap.Indexes = indexes
	return c.collectIndexDefinitions(ctx)
}

// collectIndexDefinitions fills in Definition and the expression keys. When
// some tables are locked, the indexes whose definitions cannot be read are
// named in a Problem and keep their catalog facts.
func (c *collector) collectIndexDefinitions(ctx context.Context) error {
	pos := map[uint32]int{}
	var tables []int64
	seen := map[uint32]bool{}
	for i, ix := range c.snap.Indexes {
		pos[ix.OID] = i
		if t := c.indexTable[ix.OID]; !seen[t] {
			seen[t] = true
			tables = append(tables, int64(t))
		}
	}
	if len(tables) == 0 {
		return nil
	}
	failed, err := c.queryWithFallback(ctx, indexDefinitionsQuery, tables, func(rows pgx.Rows) error {
		var oid int64
		var def string
		var keys []string
		if err := rows.Scan(&oid, &def, &keys); err != nil {
			return err
		}
		i, ok := pos[uint32(oid)]
		if !ok {
			return nil
		}
		ix := &c.snap.Indexes[i]
		ix.Definition = def
		for k := range ix.Expressions {
			if ix.Expressions[k] && k < len(keys) {
				ix.Columns[k] = keys[k]
			}
		}
		return nil
	})
	if err != nil && len(failed) == 0 {
		return fmt.Errorf("read index definitions: %w", err)
	}
	if len(failed) > 0 {
		var names []string
		for _, table := range failed {
			for _, ix := range c.snap.Indexes {
				if c.indexTable[ix.OID] == uint32(table) {
					names = append(names, QuoteQualified(ix.Schema, ix.Name))
				}
			}
		}
		msg, fix := describe(err, c.snap.Server.CurrentUser)
		c.problem(PhaseIndexes, fmt.Sprintf("definitions of %s not read: %s", listNames(names), msg), fix)
	}
	return nil
}

// foreignKeysQuery reads the foreign keys of user tables, columns in
// constraint order; constraints cloned onto partitions are left out (the
// parent's constraint stands for them).
const foreignKeysQuery = Marker + ` SELECT n.nspname::text, c.relname::text, con.conname::text,
  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n),
  rn.nspname::text, rc.relname::text,
  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND ` + userSchemas + `
ORDER BY n.nspname, c.relname, con.conname`

func (c *collector) collectForeignKeys(ctx context.Context) error {
	rows, err := c.conn.Query(ctx, foreignKeysQuery)
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ForeignKey, error) {
		var fk ForeignKey
		err := r.Scan(&fk.Schema, &fk.Table, &fk.Name, &fk.Columns, &fk.RefSchema, &fk.RefTable, &fk.RefColumns)
		return fk, err
	})
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	if fks == nil {
		fks = []ForeignKey{}
	}
	c.snap.ForeignKeys = fks
	return nil
}

// collectSizes reads table and index sizes separately from the catalogs:
// the size functions take a lock on each relation, so a table locked by DDL
// makes only this part wait (up to lock_timeout) and fail.
func (c *collector) collectSizes(ctx context.Context) error {
	if len(c.snap.Tables) == 0 && len(c.snap.Indexes) == 0 {
		return nil
	}
	tables := map[uint32]int{}
	indexes := map[uint32]int{}
	var oids []int64
	seen := map[uint32]bool{}
	for i, t := range c.snap.Tables {
		tables[t.OID] = i
		seen[t.OID] = true
		oids = append(oids, int64(t.OID))
	}
	for i, ix := range c.snap.Indexes {
		indexes[ix.OID] = i
		if t := c.indexTable[ix.OID]; !seen[t] {
			seen[t] = true
			oids = append(oids, int64(t))
		}
	}
	// Tables $1 and their indexes, so that a locked table costs one retry.
	failed, err := c.queryWithFallback(ctx, Marker+` SELECT c.oid::int8,
  CASE WHEN c.relkind IN ('i', 'I') THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END,
  pg_total_relation_size(c.oid)
FROM pg_class c
WHERE c.oid = ANY($1::oid[]) OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ANY($1::oid[]))`, oids, func(rows pgx.Rows) error {
		var oid int64
		var size, total *int64
		if err := rows.Scan(&oid, &size, &total); err != nil {
			return err
		}
		if size == nil || total == nil {
			return nil // dropped meanwhile
		}
		if i, ok := tables[uint32(oid)]; ok {
			c.snap.Tables[i].SizeBytes = *size
			c.snap.Tables[i].TotalBytes = *total
		}
		if i, ok := indexes[uint32(oid)]; ok {
			c.snap.Indexes[i].SizeBytes = *size
		}
		return nil
	})
	if err != nil && len(failed) == 0 {
		return fmt.Errorf("read sizes: %w", err)
	}
	if len(failed) > 0 {
		var names []string
		for _, oid := range failed {
			if i, ok := tables[uint32(oid)]; ok {
				names = append(names, c.snap.Tables[i].QualifiedName())
			}
			for _, ix := range c.snap.Indexes {
				if c.indexTable[ix.OID] == uint32(oid) {
					names = append(names, QuoteQualified(ix.Schema, ix.Name))
				}
			}
		}
		msg, fix := describe(err, c.snap.Server.CurrentUser)
		c.problem(PhaseSizes, fmt.Sprintf("sizes of %s not read: %s", listNames(names), msg), fix)
	}
	return nil
}

// maxFallbackFailures bounds the one-by-one retries of queryWithFallback: each
// failure may have waited a whole lock or statement timeout.
const maxFallbackFailures = 3

// queryWithFallback runs query with $1 = oids and calls scan for each row.
// When the query fails (a locked relation, a timeout), it runs the query again
// for one oid at a time, so that only the relations that cannot be read are
// missing: they are returned in failed with the first error. After
// maxFallbackFailures failures the remaining oids count as failed too. An
// error with no failed oids means the query itself does not work.
//
// A lock timeout costs one wait per locked table: the relations the guard
// knows to be locked are not queried at all, and after a lock timeout the
// tables found locked in pg_locks are marked in the guard and left out of
// the retry.
func (c *collector) queryWithFallback(ctx context.Context, query string, oids []int64, scan func(pgx.Rows) error) (failed []int64, err error) {
	run := func(ids []int64) error {
		rows, err := c.conn.Query(ctx, query, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	guard := c.opts.Guard
	var firstErr error
	oids, failed, firstErr = c.leaveOutLocked(oids)
	if len(oids) == 0 {
		return failed, firstErr
	}
	err = run(oids)
	if err == nil {
		return failed, firstErr
	}
	if firstErr == nil {
		firstErr = err
	}
	if !retryable(err) || ctx.Err() != nil || c.conn.IsClosed() {
		return failed, firstErr
	}
	if sqlstateOf(err) == "55P03" && guard != nil {
		ids := make([]uint32, len(oids))
		for i, oid := range oids {
			ids[i] = uint32(oid)
		}
		if marked, merr := guard.MarkLocked(ctx, c.conn, "collect", ids); merr == nil && len(marked) > 0 {
			var rest []int64
			var locked []int64
			rest, locked, _ = c.leaveOutLocked(oids)
			failed = append(failed, locked...)
			if len(rest) == 0 || run(rest) == nil {
				return failed, firstErr
			}
			oids = rest
		}
	}
	n := 0
	for i, oid := range oids {
		if n >= maxFallbackFailures || ctx.Err() != nil || c.conn.IsClosed() {
			return append(failed, oids[i:]...), firstErr
		}
		if err := run([]int64{oid}); err != nil {
			failed = append(failed, oid)
			n++
		}
	}
	return failed, firstErr
}

// leaveOutLocked splits oids into those to query and those the guard knows
// to be locked, with an error naming the first locked one.
func (c *collector) leaveOutLocked(oids []int64) (rest, locked []int64, err error) {
	if c.opts.Guard == nil {
		return oids, nil, nil
	}
	for _, oid := range oids {
		l, ok := c.opts.Guard.IsLocked(uint32(oid))
		if !ok {
			rest = append(rest, oid)
			continue
		}
		locked = append(locked, oid)
		if err == nil {
			err = &pgconn.PgError{Code: "55P03", Severity: "ERROR",
				Message: fmt.Sprintf("%s is locked (%s): not read again after the first lock timeout", l.Relation, l.Detail)}
		}
	}
	return rest, locked, err
}

func sqlstateOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// retryable reports whether err is a lock or statement timeout, which may
// concern only some of the relations a query reads.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "57014")
}

// listNames joins up to five names and says how many more there are.
func listNames(names []string) string {
	if len(names) <= 5 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
}
