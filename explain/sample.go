package explain

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Values used for LIMIT $n and OFFSET $n when analysing.
const (
	sampleLimit  = "100"
	sampleOffset = "0"
)

// sampleParams finds a value for each of the n parameters, inside the
// current transaction. values are the values as text; sources say where each
// came from, without the value itself (sampled values may be personal data
// and the reason ends up in reports). missing names the first parameter
// without a value ("" when all have one).
func (r *runner) sampleParams(n int) (values, sources []string, missing string, err error) {
	for i := 1; i <= n; i++ {
		f := r.facts
		switch {
		case f != nil && f.Limit != nil && f.Limit.Param == i:
			values = append(values, sampleLimit)
			sources = append(sources, fmt.Sprintf("$%d = %s (LIMIT)", i, sampleLimit))
			continue
		case f != nil && f.Offset != nil && f.Offset.Param == i:
			values = append(values, sampleOffset)
			sources = append(sources, fmt.Sprintf("$%d = %s (OFFSET)", i, sampleOffset))
			continue
		}
		var col sqlfacts.ColumnRef
		ok := false
		if f != nil {
			col, ok = f.ParamColumns[i]
		}
		if !ok || col.Table == "" || col.Column == "" {
			return nil, nil, fmt.Sprintf("$%d (not compared with a known column)", i), nil
		}
		v, src, err := r.sampleColumn(col)
		if err != nil {
			return nil, nil, "", err
		}
		if src == "" {
			return nil, nil, fmt.Sprintf("$%d (no non-null value in %s)", i, columnName(col)), nil
		}
		values = append(values, v)
		sources = append(sources, fmt.Sprintf("$%d from %s", i, src))
	}
	return values, sources, "", nil
}

func columnName(c sqlfacts.ColumnRef) string {
	if c.Schema != "" {
		return c.Schema + "." + c.Table + "." + c.Column
	}
	return c.Table + "." + c.Column
}

// sampleColumn returns a value of col as text: the most common value from
// pg_stats, else the middle bound of its histogram (a value ANALYZE sampled:
// a column of unique values has no most common value), else the value of a
// row from a 1% block sample, else of any row. pg_stats is read with one
// fixed text; the row samples name the table and column, so each sampled
// column adds an entry to pg_stat_statements: they come last.
// src is "" when none was found. Each attempt runs in a savepoint, so that a
// failing one (a view cannot be sampled, a timeout) leaves the transaction
// usable; err is set only for a cancelled context or a lost connection.
func (r *runner) sampleColumn(col sqlfacts.ColumnRef) (value, src string, err error) {
	rel := pgx.Identifier{col.Table}
	if col.Schema != "" {
		rel = pgx.Identifier{col.Schema, col.Table}
	}
	var schema, table string
	e := r.savepoint(func() error {
		return r.conn.QueryRow(r.ctx, Marker+`SELECT n.nspname::text, c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass($1)`, pgx.QueryExecModeExec, rel.Sanitize()).Scan(&schema, &table)
	})
	if err := r.fatal(e); err != nil {
		return "", "", err
	}
	if e != nil {
		return "", "", nil
	}
	full := schema + "." + table + "." + col.Column
	var mcv, hist *string
	e = r.savepoint(func() error {
		err := r.conn.QueryRow(r.ctx, Marker+`SELECT (most_common_vals::text::text[])[1],
  (SELECT h[pg_catalog.array_length(h, 1) / 2 + 1] FROM (SELECT histogram_bounds::text::text[] AS h) b)
FROM pg_catalog.pg_stats
WHERE schemaname = $1 AND tablename = $2 AND attname = $3`, pgx.QueryExecModeExec, schema, table, col.Column).Scan(&mcv, &hist)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err := r.fatal(e); err != nil {
		return "", "", err
	}
	if e == nil && mcv != nil {
		return *mcv, "the most common value of " + full + " (pg_stats)", nil
	}
	if e == nil && hist != nil {
		return *hist, "the middle of the histogram of " + full + " (pg_stats)", nil
	}
	qcol := pgx.Identifier{col.Column}.Sanitize()
	from := pgx.Identifier{schema, table}.Sanitize()
	for _, s := range []struct{ sample, src string }{
		{" TABLESAMPLE SYSTEM (1)", "a sampled row of " + full},
		{"", "a row of " + full},
	} {
		var v *string
		e = r.savepoint(func() error {
			err := r.conn.QueryRow(r.ctx, Marker+"SELECT "+qcol+"::text FROM "+from+s.sample+" WHERE "+qcol+" IS NOT NULL LIMIT 1",
				pgx.QueryExecModeExec).Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		if err := r.fatal(e); err != nil {
			return "", "", err
		}
		if e == nil && v != nil {
			return *v, s.src, nil
		}
	}
	return "", "", nil
}

// fatal returns err when it leaves nothing to fall back on: a cancelled
// context, a lost connection or a failed savepoint.
func (r *runner) fatal(err error) error {
	if err == nil {
		return nil
	}
	if r.ctx.Err() != nil || r.conn.IsClosed() || r.conn.PgConn().TxStatus() == 'E' {
		return err
	}
	var se *stepError
	if errors.As(err, &se) && se.what != "" {
		return err
	}
	return nil
}
