package audit

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// CollectStatements builds a snapshot for statements that come from files
// rather than from pg_stat_statements (pgadvisor review --dsn): the catalog
// of the database, the statements as a workload of one call each (their
// QueryIDs as given, so that findings map back to them), each one planned
// through the safety gate (a generic plan for $n; ANALYZE only when
// opts.NoAnalyze is off), and the what-if result for the whole set. A
// statement the server cannot plan (a table it lacks) is recorded with its
// error and SQLSTATE in snap.Plans; the others are still planned.
func CollectStatements(ctx context.Context, stmts []pgstat.Statement, opts Options) (snap *pgstat.Snapshot, err error) {
	ctx, cancel := withAuditTimeout(ctx, opts.Timeout)
	defer cancel()
	defer func() { err = timedOut(ctx, snap, err, opts.Timeout) }()
	var conn *pgx.Conn
	conn, snap, err = connectCatalog(ctx, opts)
	if conn != nil {
		defer closeConn(conn)
	}
	if err != nil {
		return snap, err
	}
	snap.Statements = append([]pgstat.Statement(nil), stmts...)
	for i := range snap.Statements {
		s := &snap.Statements[i]
		s.Calls, s.TotalExecTime, s.MeanExecTime, s.TopLevel = 1, 1, 1, true
	}
	if ss := snap.StatStatements; ss != nil {
		ss.TotalTime, ss.Entries = nil, nil // the server's totals are not this workload's
	}
	snap.Activity = nil
	opts.guard = explain.NewGuard(snap.Server.VersionNum)
	defer recordPlanFailures(snap, opts.guard, opts)
	list, _ := model.Statements(snap)
	eo := opts
	eo.Top = len(list)
	if err := ExplainTop(ctx, conn, snap, list, eo); err != nil {
		return snap, err
	}
	if !opts.NoWhatIf {
		// Rebuilt: the statements now carry their plans.
		list, total := model.Statements(snap)
		if err := WhatIf(ctx, conn, snap, list, total, opts); err != nil {
			return snap, err
		}
	}
	return snap, nil
}
