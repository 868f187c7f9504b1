package audit

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// CollectOne builds a snapshot for one statement: the catalog of the database
// (tables, indexes, foreign keys), the statement as a one-call workload, its
// plan and the what-if result. A statement that does not parse is an error
// naming the line and column.
func CollectOne(ctx context.Context, sql string, opts Options) (snap *pgstat.Snapshot, err error) {
	ctx, cancel := withAuditTimeout(ctx, opts.Timeout)
	defer cancel()
	defer func() { err = timedOut(ctx, snap, err, opts.Timeout) }()
	facts, err := sqlfacts.Analyze(sql)
	if err != nil {
		var se *sqlfacts.SyntaxError
		if errors.As(err, &se) {
			return nil, &Error{Phase: "parse", Message: se.Error(), Fix: "correct the statement", Err: err}
		}
		return nil, &Error{Phase: "parse", Message: err.Error(), Err: err}
	}
	var conn *pgx.Conn
	conn, snap, err = connectCatalog(ctx, opts)
	if conn != nil {
		defer closeConn(conn)
	}
	if err != nil {
		return snap, err
	}
	// The statement is the whole workload: one call.
	snap.Statements = []pgstat.Statement{{Query: sql, Calls: 1, TotalExecTime: 1, MeanExecTime: 1, TopLevel: true}}
	if ss := snap.StatStatements; ss != nil {
		// The server's totals are not this workload's.
		ss.TotalTime, ss.Entries = nil, nil
	}
	snap.Activity = nil
	stmt := &model.Statement{Statement: snap.Statements[0], Facts: facts, Share: 1}
	stmts := []*model.Statement{stmt}
	opts.guard = explain.NewGuard(snap.Server.VersionNum)
	defer recordPlanFailures(snap, opts.guard, opts)
	if err := ExplainTop(ctx, conn, snap, stmts, Options{Top: 1, TrustFunctions: opts.TrustFunctions, NoAnalyze: opts.NoAnalyze, AnalyzeWrites: opts.AnalyzeWrites, StatementTimeout: opts.StatementTimeout, LockTimeout: opts.LockTimeout, guard: opts.guard}); err != nil {
		return snap, err
	}
	if len(snap.Plans) == 1 {
		snap.Plans[0].QueryID = "0"
		if p := snap.Plans[0].Plan; p != nil && p.ExecutionTime > 0 {
			snap.Statements[0].TotalExecTime = p.ExecutionTime
			snap.Statements[0].MeanExecTime = p.ExecutionTime
		}
	}
	if !opts.NoWhatIf {
		// Rebuilt from the snapshot: the statement's time now comes from its
		// plan, and a catalog-only statement drops out as in an audit.
		stmts, total := model.Statements(snap)
		if err := WhatIf(ctx, conn, snap, stmts, total, opts); err != nil {
			return snap, err
		}
	}
	return snap, nil
}

// connectCatalog connects with the audit's session settings and collects
// the catalog only (no activity window, one statement slot): the start of
// explain and review, whose workload is given rather than read from
// pg_stat_statements. conn is nil when the connection failed, snap when
// nothing was collected; the caller closes conn with closeConn.
func connectCatalog(ctx context.Context, opts Options) (*pgx.Conn, *pgstat.Snapshot, error) {
	conn, err := pgstat.Connect(ctx, opts.DSN, pgstat.ConnectOptions{StatementTimeout: opts.StatementTimeout, LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, nil, fail("connect", err)
	}
	start := time.Now()
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{SampleWindow: 0, MaxStatements: 1})
	if snap == nil {
		return conn, nil, fail("collect", err)
	}
	snap.Timings["collect"] = ms(time.Since(start))
	if err != nil {
		return conn, snap, fail("collect", err)
	}
	return conn, snap, nil
}

// closeConn closes a connection within 5 s, whatever the audit's context.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn.Close(ctx)
}
