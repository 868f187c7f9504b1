// Package audit owns the pipeline of one audit: connect, collect the snapshot,
// explain the heaviest statements through the safety gate, run the what-if
// index engine, advise and build the report. Everything that touches the
// database happens before the snapshot is complete; offline runs start from a
// saved snapshot and skip straight to advice. It prints nothing.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// Version is pgadvisor's version, reported in every report.
var Version = "0.1.0"

// Options configure a live audit.
type Options struct {
	DSN              string
	Top              int           // statements to explain, heaviest first
	MinCalls         int64         // ignore statements called fewer times
	MaxStatements    int           // keep the heaviest N pg_stat_statements entries (0: pgstat.DefaultMaxStatements)
	SampleWindow     time.Duration // pg_stat_activity sampling window
	StatementTimeout time.Duration // per statement pgadvisor runs
	LockTimeout      time.Duration
	NoAnalyze        bool // never EXPLAIN ANALYZE, even when the gate allows it
	AnalyzeWrites    bool // EXPLAIN ANALYZE writes inside a rolled-back transaction (explicit)
	// InstallHypoPG allows the what-if phase to run CREATE EXTENSION hypopg.
	// The what-if engine's other options are Advisor.WhatIf (one source for
	// the live evaluation and the offline re-run).
	InstallHypoPG bool
	NoWhatIf      bool
	// Verify builds the chosen indexes for real inside a transaction that is
	// rolled back and measures the statements before and after (staging only).
	Verify bool
	// TrustFunctions are user functions the safety gate trusts (--trust-functions).
	TrustFunctions []string
	Advisor        advisor.Options
	// Timeout bounds the whole audit; 0 means no bound. When it passes, what
	// was collected is returned with an *Error naming --timeout.
	Timeout time.Duration
	// Progress, when set, is told when each long phase starts and, for
	// explain, after each statement: phase "collect", "explain" (done of
	// total statements), "what-if" or "verify"; total is 0 when unknown.
	// The audit package never prints; the caller decides what to show.
	Progress func(phase string, done, total int)

	// guard is shared by the phases of one Collect; nil: each phase has its own.
	guard *explain.Guard
}

// DefaultOptions are the CLI's defaults.
func DefaultOptions() Options {
	return Options{
		Top:              20,
		MinCalls:         1,
		SampleWindow:     3 * time.Second,
		StatementTimeout: 10 * time.Second,
		LockTimeout:      time.Second,
		Timeout:          5 * time.Minute,
		Advisor:          advisor.DefaultOptions(),
	}
}

// Error is a failure that ends an audit; Fix names what to do.
type Error struct {
	Phase   string
	Message string
	Fix     string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Phase + ": " + e.Message
	if e.Fix != "" {
		msg += " (fix: " + e.Fix + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func fail(phase string, err error) *Error {
	msg, fix := pgstat.Describe(err)
	return &Error{Phase: phase, Message: msg, Fix: fix, Err: err}
}

// Collect connects and builds a complete snapshot: statistics, plans of the
// heaviest statements and what-if results. On failure it returns what was
// collected so far together with the error, so callers can still report it.
// Statements that could not be planned are Problems of the snapshot, one per
// cause (a locked or unreadable table names the table and the fix); a locked
// table is skipped after its first lock timeout. opts.Timeout bounds the
// whole of it.
func Collect(ctx context.Context, opts Options) (snap *pgstat.Snapshot, err error) {
	ctx, cancel := withAuditTimeout(ctx, opts.Timeout)
	defer cancel()
	defer func() { err = timedOut(ctx, snap, err, opts.Timeout) }()
	conn, err := pgstat.Connect(ctx, opts.DSN, pgstat.ConnectOptions{StatementTimeout: opts.StatementTimeout, LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, fail("connect", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	// What the audit does to pg_stat_statements is measured from here to
	// the end (explain, what-if and verify included).
	if probe, perr := pgstat.StartFootprint(ctx, conn); perr == nil {
		defer func() { recordFootprint(ctx, conn, snap, probe) }()
	}
	start := time.Now()
	opts.progress("collect", 0, 0)
	opts.guard = explain.NewGuard(0)
	snap, err = pgstat.Collect(ctx, conn, pgstat.CollectOptions{SampleWindow: opts.SampleWindow, MinCalls: opts.MinCalls, MaxStatements: opts.MaxStatements, Guard: opts.guard})
	if snap == nil {
		if err == nil {
			err = errors.New("nothing collected")
		}
		return nil, fail("collect", err)
	}
	snap.Timings["collect"] = ms(time.Since(start))
	if err != nil {
		return snap, fail("collect", err)
	}
	opts.guard.SetServerVersion(snap.Server.VersionNum)
	defer recordPlanFailures(snap, opts.guard, opts)
	stmts, total := model.Statements(snap)
	if err := ExplainTop(ctx, conn, snap, stmts, opts); err != nil {
		return snap, err
	}
	model.AttachPlans(snap, stmts)
	if !opts.NoWhatIf {
		if err := WhatIf(ctx, conn, snap, stmts, total, opts); err != nil {
			return snap, err
		}
	}
	if err := CheckFixes(ctx, conn, snap, opts.Advisor); err != nil {
		return snap, err
	}
	return snap, nil
}

// recordFootprint records in the snapshot what the audit did to
// pg_stat_statements since probe was taken; nothing when that cannot be read.
func recordFootprint(ctx context.Context, conn *pgx.Conn, snap *pgstat.Snapshot, probe *pgstat.FootprintProbe) {
	if snap == nil || snap.StatStatements == nil || conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if f, err := probe.Finish(fctx, conn, snap.StatStatements.Max); err == nil {
		snap.StatStatements.Footprint = f
	}
}

// progress reports a phase to opts.Progress, if any.
func (opts Options) progress(phase string, done, total int) {
	if opts.Progress != nil {
		opts.Progress(phase, done, total)
	}
}

// guardOf returns the guard of opts, or a new one that the caller owns
// (and records the failures of) when there is none.
func guardOf(snap *pgstat.Snapshot, opts Options) (g *explain.Guard, owned bool) {
	if opts.guard != nil {
		return opts.guard, false
	}
	return explain.NewGuard(snap.Server.VersionNum), true
}

// explainable returns the statements worth explaining, heaviest first.
func explainable(stmts []*model.Statement, top int) []*model.Statement {
	var out []*model.Statement
	for _, s := range stmts {
		if len(out) >= top {
			break
		}
		if s.Facts == nil || s.Facts.Statements != 1 {
			continue
		}
		switch s.Facts.Kind {
		case sqlfacts.KindSelect, sqlfacts.KindInsert, sqlfacts.KindUpdate, sqlfacts.KindDelete:
			out = append(out, s)
		}
	}
	return out
}

// ExplainTop explains the Top heaviest statements and records the plans in
// the snapshot. A statement that fails to explain is recorded with its error
// (and becomes a Problem); a statement on a table found locked earlier is
// recorded as skipped, without being sent; a cancelled context or a lost
// connection stops the phase. When none of the statements tried could be
// planned, a Problem says the audit is incomplete.
func ExplainTop(ctx context.Context, conn *pgx.Conn, snap *pgstat.Snapshot, stmts []*model.Statement, opts Options) error {
	start := time.Now()
	defer func() { snap.Timings["explain"] = ms(time.Since(start)) }()
	guard, owned := guardOf(snap, opts)
	if owned {
		defer recordPlanFailures(snap, guard, opts)
	}
	tried, planned := 0, 0
	defer func() {
		if tried > 0 && planned == 0 && ctx.Err() == nil {
			snap.Problems = append(snap.Problems, nonePlanned(tried, guard, snap.Server.VersionNum))
		}
	}()
	eo := explain.Options{
		Analyze:          !opts.NoAnalyze,
		AnalyzeWrites:    opts.AnalyzeWrites,
		StatementTimeout: opts.StatementTimeout,
		LockTimeout:      opts.LockTimeout,
		ServerVersionNum: snap.Server.VersionNum,
		TrustFunctions:   opts.TrustFunctions,
	}
	todo := explainable(stmts, opts.Top)
	for i, s := range todo {
		if err := ctx.Err(); err != nil {
			return fail("explain", err)
		}
		opts.progress("explain", i, len(todo))
		res := guard.Run(ctx, conn, "explain", s.ID().String(), s.Query, s.Facts, eo)
		snap.Plans = append(snap.Plans, res)
		tried++
		if res.Plan != nil {
			planned++
		}
		if conn.IsClosed() {
			return fail("explain", errors.New("connection lost: "+res.Error))
		}
	}
	return nil
}

// WhatIf runs the hypothetical-index engine on the workload's statements
// that cost enough time (the same list the missing-index rule reads offline,
// with their recorded plans) and records its result in the snapshot. With
// Verify set it then builds the chosen indexes for real inside a rolled-back
// transaction and records the measured effect.
func WhatIf(ctx context.Context, conn *pgx.Conn, snap *pgstat.Snapshot, stmts []*model.Statement, total float64, opts Options) error {
	start := time.Now()
	defer func() { snap.Timings["what_if"] = ms(time.Since(start)) }()
	guard, owned := guardOf(snap, opts)
	if owned {
		defer recordPlanFailures(snap, guard, opts)
	}
	opts.progress("what-if", 0, 0)
	wopts := WhatIfOptions(opts)
	inputs := advisor.WhatIfInputsOf(snap, stmts, total, opts.Advisor)
	cands := whatif.Candidates(snap, inputs, wopts)
	eopts := wopts
	eopts.Guard = guard
	res, err := whatif.Evaluate(ctx, conn, snap, inputs, cands, eopts)
	if res != nil {
		recorded, rerr := recordedCopy(res)
		if rerr != nil {
			return fmt.Errorf("record what-if result: %w", rerr)
		}
		snap.WhatIf = recorded
	}
	if err != nil {
		if ctx.Err() != nil {
			return fail("what-if", ctx.Err())
		}
		msg, fix := pgstat.Describe(err)
		snap.Problems = append(snap.Problems, pgstat.Problem{Phase: "what-if", Message: msg, Fix: fix})
		return nil
	}
	if opts.Verify {
		recs := whatif.Select(snap, inputs, res, wopts)
		opts.progress("verify", 0, 0)
		vstart := time.Now()
		measured, err := whatif.Verify(ctx, conn, recs, inputs, wopts)
		snap.Timings["verify"] = ms(time.Since(vstart))
		if recorded, rerr := recordedCopy(measured); rerr == nil {
			snap.Verify = recorded
		}
		if err != nil {
			if ctx.Err() != nil {
				return fail("verify", ctx.Err())
			}
			msg, fix := pgstat.Describe(err)
			snap.Problems = append(snap.Problems, pgstat.Problem{Phase: "verify", Message: msg, Fix: fix})
		}
	}
	return nil
}

// recordedCopy is v as the snapshot file records it: a copy through its JSON
// form, so that the rules of a live audit read exactly what an offline run
// of the saved snapshot reads (no session-only field such as
// whatif.Options.Guard, nothing shared with the engine's own values).
func recordedCopy[T any](v T) (T, error) {
	var out T
	data, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return out, err
	}
	return out, nil
}

// WhatIfOptions are the what-if engine's options of a live audit: the
// advisor's (advisor.WhatIfOptions, which the offline re-run reads too) and
// what only a live run has: whether to install HypoPG, the trusted functions.
func WhatIfOptions(opts Options) whatif.Options {
	w := advisor.WhatIfOptions(opts.Advisor)
	w.InstallHypoPG = opts.InstallHypoPG
	w.TrustFunctions = opts.TrustFunctions
	return w
}

// Advise runs the rules over a snapshot and builds the report.
func Advise(snap *pgstat.Snapshot, opts advisor.Options, rules []*advisor.Rule, source string) *report.Report {
	start := time.Now()
	res := advisor.Run(snap, rules, opts)
	if snap.Timings == nil {
		snap.Timings = map[string]float64{}
	}
	snap.Timings["advise"] = ms(time.Since(start))
	return report.New(Version, snap, res, source)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
