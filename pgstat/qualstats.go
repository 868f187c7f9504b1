package pgstat

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ObservedValues are the values a statement's predicate was executed with,
// as pg_qualstats sampled them (issue 10): pg_stat_statements keeps only
// the normalised text ($1), so that a parameter that is always 'pending'
// or 'paid' looks like any other. Only values that are among the column's
// pg_stats most common values (already in the snapshot) are kept, so no new
// user data reaches a snapshot file; the executions with any other value
// are counted in Other.
type ObservedValues struct {
	QueryID  int64  `json:"queryid,string"`
	Schema   string `json:"schema"`
	Table    string `json:"table"`
	Column   string `json:"column"`
	Operator string `json:"operator"` // pg_operator.oprname, e.g. =
	// Values are the most common values seen, each with the number of
	// sampled executions (pg_qualstats occurences), most seen first.
	Values []ObservedValue `json:"values,omitempty"`
	// Other counts the sampled executions with a value that is not one of
	// the column's most common values.
	Other int64 `json:"other,omitempty"`
}

// ObservedValue is one value and how many sampled executions used it.
type ObservedValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Observations is the number of sampled executions in all.
func (o ObservedValues) Observations() int64 {
	n := o.Other
	for _, v := range o.Values {
		n += v.Count
	}
	return n
}

// ObservedFor returns the values statement queryID was executed with for
// schema.table.column under operator, nil when none were sampled.
func (s *Snapshot) ObservedFor(queryID int64, schema, table, column, operator string) *ObservedValues {
	return FindObserved(s.Observed, queryID, schema, table, column, operator)
}

// FindObserved is the entry of list for statement queryID,
// schema.table.column and operator, nil when there is none.
func FindObserved(list []ObservedValues, queryID int64, schema, table, column, operator string) *ObservedValues {
	for i := range list {
		o := &list[i]
		if o.QueryID == queryID && o.Schema == schema && o.Table == table && o.Column == column && o.Operator == operator {
			return o
		}
	}
	return nil
}

// qualstatsQuery reads, per statement, column and operator, the constant
// values pg_qualstats sampled (comparisons with a constant or a parameter
// of a custom plan: a generic plan's executions record no value), for this
// database and the statements of the snapshot. %s is the extension's schema.
const qualstatsQuery = Marker + ` SELECT q.queryid, n.nspname::text, c.relname::text, a.attname::text, o.oprname::text,
  q.constvalue::text, sum(q.occurences)::bigint
FROM %s.pg_qualstats q
JOIN pg_catalog.pg_class c ON c.oid = q.lrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = q.lrelid AND a.attnum = q.lattnum
JOIN pg_catalog.pg_operator o ON o.oid = q.opno
WHERE q.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND q.rrelid IS NULL AND q.constvalue IS NOT NULL AND q.queryid = ANY($1)
GROUP BY 1, 2, 3, 4, 5, 6`

// collectQualstats fills Snapshot.Observed from pg_qualstats when the
// extension is installed in the database; without it, it reads nothing.
func (c *collector) collectQualstats(ctx context.Context) error {
	ids := make([]int64, 0, len(c.snap.Statements))
	for _, st := range c.snap.Statements {
		ids = append(ids, st.QueryID)
	}
	obs, err := ReadQualstats(ctx, c.conn, ids, c.mostCommon)
	c.snap.Observed = append(c.snap.Observed, obs...)
	return err
}

// ReadQualstats reads the values pg_qualstats sampled for the statements
// queryIDs, per statement, column and operator: the values keep accepts,
// each with its count, the others counted in Other. Nothing when the
// extension is not installed in the database. The what-if reads them with
// a keep that accepts every value, in memory only.
func ReadQualstats(ctx context.Context, conn *pgx.Conn, queryIDs []int64, keep func(schema, table, column, value string) bool) ([]ObservedValues, error) {
	var schema string
	err := conn.QueryRow(ctx, Marker+` SELECT coalesce((SELECT n.nspname::text FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_qualstats'), '')`).Scan(&schema)
	if err != nil || schema == "" || len(queryIDs) == 0 {
		return nil, err
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(qualstatsQuery, pgx.Identifier{schema}.Sanitize()), queryIDs)
	if err != nil {
		return nil, fmt.Errorf("read pg_qualstats: %w", err)
	}
	defer rows.Close()
	byKey := map[string]*ObservedValues{}
	var order []string
	for rows.Next() {
		var o ObservedValues
		var constant string
		var n int64
		if err := rows.Scan(&o.QueryID, &o.Schema, &o.Table, &o.Column, &o.Operator, &constant, &n); err != nil {
			return nil, fmt.Errorf("read pg_qualstats: %w", err)
		}
		key := strconv.FormatInt(o.QueryID, 10) + "\x00" + o.Schema + "\x00" + o.Table + "\x00" + o.Column + "\x00" + o.Operator
		agg := byKey[key]
		if agg == nil {
			agg = &o
			byKey[key] = agg
			order = append(order, key)
		}
		value, ok := ConstValue(constant)
		if ok && keep(o.Schema, o.Table, o.Column, value) {
			agg.add(value, n)
		} else {
			agg.Other += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pg_qualstats: %w", err)
	}
	out := make([]ObservedValues, 0, len(order))
	for _, k := range order {
		o := byKey[k]
		sort.SliceStable(o.Values, func(i, j int) bool { return o.Values[i].Count > o.Values[j].Count })
		out = append(out, *o)
	}
	return out, nil
}

func (o *ObservedValues) add(value string, n int64) {
	for i := range o.Values {
		if o.Values[i].Value == value {
			o.Values[i].Count += n
			return
		}
	}
	o.Values = append(o.Values, ObservedValue{Value: value, Count: n})
}

// mostCommon reports whether value is one of the column's pg_stats most
// common values in the snapshot.
func (c *collector) mostCommon(schema, table, column, value string) bool {
	t := c.snap.Table(schema, table)
	if t == nil {
		return false
	}
	for _, cl := range t.Columns {
		if cl.Name == column {
			for _, v := range cl.MostCommonValues {
				if v == value {
					return true
				}
			}
		}
	}
	return false
}

// ConstValue is the value of a constant as pg_qualstats prints it
// ('pending'::text, 5::integer, 'it”s'::text) as text, the way pg_stats
// prints most common values; ok false for anything else (an array, a
// ROW, an expression).
func ConstValue(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "'") {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '\'' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			rest := s[i+1:]
			if rest == "" || strings.HasPrefix(rest, "::") && !strings.ContainsAny(rest[2:], "'(),[]") {
				return b.String(), true
			}
			return "", false
		}
		return "", false
	}
	if i := strings.Index(s, "::"); i > 0 {
		s = s[:i]
	}
	if s == "" || strings.ContainsAny(s, "'(),[] ") {
		return "", false
	}
	return s, true
}
