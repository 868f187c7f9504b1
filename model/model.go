// Package model owns the workload statements every command reads: Statement
// (a pg_stat_statements row with the facts of its text and its recorded
// plan), Statements, which builds them from a snapshot and leaves out what
// is never a finding (pgadvisor's own statements, PostgreSQL's internal
// foreign-key checks, catalog-only and utility statements), and QueryID.
//
// It is a leaf: it may import pgstat, sqlfacts and explain, never a package
// that imports advisor, audit, whatif or report, so that every one of them
// can list statements the same way.
package model

import (
	"fmt"
	"strconv"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// QueryID is pg_stat_statements' queryid. Findings, recorded plans and
// what-if results carry it as its decimal String (an int64 does not survive
// JSON numbers in every reader).
type QueryID int64

// String is the queryid in decimal, e.g. "-4392619211830383022".
func (q QueryID) String() string { return strconv.FormatInt(int64(q), 10) }

// ParseQueryID reads a queryid written by String.
func ParseQueryID(s string) (QueryID, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("queryid %q: %w", s, err)
	}
	return QueryID(v), nil
}

// Statement is one workload statement as rules see it: its pg_stat_statements
// row, the facts of its text and, for the heaviest ones, its plan.
type Statement struct {
	pgstat.Statement
	// Facts is nil when the text does not parse; ParseError says why.
	Facts      *sqlfacts.Facts
	ParseError string
	// Plan is the recorded EXPLAIN result, nil when the statement was not explained.
	Plan *explain.Result
	// Share is TotalTime() as a fraction of the workload's total time.
	Share float64
}

// ID is the statement's queryid.
func (s *Statement) ID() QueryID { return QueryID(s.QueryID) }
