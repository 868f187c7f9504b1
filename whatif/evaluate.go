package whatif

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// HypoPGInstallHint says how to install HypoPG on a server of that major version.
func HypoPGInstallHint(versionNum int) string {
	major := "<major>"
	if versionNum >= 100000 {
		major = fmt.Sprint(versionNum / 10000)
	}
	return fmt.Sprintf("install HypoPG (apt-get install postgresql-%s-hypopg, or yum install hypopg_%s) and run CREATE EXTENSION hypopg in this database, or rerun with --install-hypopg", major, major)
}

// Evaluate builds each candidate hypothetically with HypoPG, re-plans the
// statements it serves (generic plans for $n; a custom plan for
// representative values when the generic plan's row estimate and the
// statement's rows per call differ by opts.CustomPlanMisestimate or more,
// recorded in StatementCost.Representative), then chooses the set for the
// whole workload, re-planning with the chosen indexes present. Hypothetical
// indexes are created in batches of opts.BatchSize and reset between rounds;
// they are session-local and all are gone when Evaluate returns. Without
// HypoPG (and without opts.InstallHypoPG) it returns a Result whose
// Unavailable and Install say so, and a nil error.
func Evaluate(ctx context.Context, conn *pgx.Conn, snap *pgstat.Snapshot, inputs []Input, cands []Candidate, opts Options) (*Result, error) {
	start := time.Now()
	opts = withDefaults(opts)
	res := &Result{Options: opts, Statements: []StatementCost{}, Candidates: []CandidateCost{}, Evaluations: []Evaluation{}}
	defer func() { res.DurationMS = float64(time.Since(start).Microseconds()) / 1000 }()
	var err error
	versionNum := snap.Server.VersionNum
	if versionNum == 0 {
		if err := conn.QueryRow(ctx, ownMarker+"SELECT current_setting('server_version_num')::int").Scan(&versionNum); err != nil {
			return res, fmt.Errorf("read server version: %w", err)
		}
	}
	if res.NotImmutable, err = notImmutable(ctx, conn, snap, cands); err != nil {
		return res, err
	}
	ver, err := hypopgVersion(ctx, conn)
	if err != nil {
		return res, err
	}
	if ver == "" && opts.InstallHypoPG {
		if _, err := conn.Exec(ctx, ownMarker+"CREATE EXTENSION IF NOT EXISTS hypopg"); err != nil {
			res.Unavailable = fmt.Sprintf("CREATE EXTENSION hypopg failed: %v", err)
			res.Install = HypoPGInstallHint(versionNum)
			return res, nil
		}
		if ver, err = hypopgVersion(ctx, conn); err != nil {
			return res, err
		}
	}
	if ver == "" {
		res.Unavailable = "HypoPG is not installed in this database: index candidates are not verified by the planner"
		res.Install = HypoPGInstallHint(versionNum)
		return res, nil
	}
	res.HypoPG = ver
	e := &evaluator{ctx: ctx, conn: conn, res: res, opts: opts, versionNum: versionNum, inputs: map[string]Input{}, ids: map[string]uint32{}, values: map[string][]string{}}
	defer e.reset()
	if err := e.reset(); err != nil {
		return res, err
	}
	for _, in := range inputs {
		if _, dup := e.inputs[in.QueryID]; !dup {
			e.inputs[in.QueryID] = in
		}
	}
	cands = e.trimDependentKeys(snap, cands)
	e.inputs = map[string]Input{}
	served, observed := map[string]bool{}, map[string]bool{}
	for _, c := range cands {
		for _, q := range c.QueryIDs {
			served[q] = true
			observed[q] = observed[q] || c.FromObserved
		}
	}
	for q := range served {
		if id, err := strconv.ParseInt(q, 10, 64); err == nil {
			e.sampledFor = append(e.sampledFor, id)
		}
	}
	for _, in := range inputs {
		if !served[in.QueryID] {
			continue
		}
		if _, dup := e.inputs[in.QueryID]; dup {
			continue
		}
		e.inputs[in.QueryID] = in
		sc := StatementCost{QueryID: in.QueryID}
		plan, mode, err := e.plan(in)
		if err != nil {
			sc.Error = err.Error()
		} else {
			if mode == explain.ModeGeneric && observed[in.QueryID] {
				if rep, custom := e.customizeObserved(snap, in, plan); custom != nil {
					sc.Representative, plan, mode = rep, custom, explain.ModeCustom
				}
			}
			if mode == explain.ModeGeneric && sc.Representative == nil {
				if rep, custom := e.customizeSampled(snap, in, plan); custom != nil {
					sc.Representative, plan, mode = rep, custom, explain.ModeCustom
				}
			}
			if mode == explain.ModeGeneric {
				var custom *explain.Plan
				if sc.Representative, custom = e.customize(in, plan); custom != nil {
					plan, mode = custom, explain.ModeCustom
				}
			}
			sc.Cost, sc.Mode = plan.Plan.TotalCost, mode
		}
		res.Statements = append(res.Statements, sc)
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("what-if: %w", err)
		}
	}
	// Round 1: every candidate alone.
	created := 0
	for _, c := range cands {
		cc := CandidateCost{Candidate: c, ID: c.ID()}
		if !hypoSupported(c) {
			cc.Unsupported = true
			cc.SizeBytes = c.EstimatedSize()
			res.Candidates = append(res.Candidates, cc)
			continue
		}
		if created >= opts.BatchSize {
			if err := e.reset(); err != nil {
				return res, err
			}
			created = 0
		}
		oid, err := e.create(c)
		created++
		res.CandidatesTried++
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("what-if: %w", ctx.Err())
			}
			cc.Error = err.Error()
			res.Candidates = append(res.Candidates, cc)
			continue
		}
		if err := conn.QueryRow(ctx, ownMarker+"SELECT hypopg_relation_size($1)", oid).Scan(&cc.SizeBytes); err != nil {
			cc.SizeBytes = c.EstimatedSize()
		}
		if c.Partitioned && len(c.Partitions) > 0 {
			cc.Candidate.Partitions, cc.SizeBytes = e.partitionSizes(c)
		} else {
			cc.SizeBytes, cc.Candidate.SizeDedup = e.dedupSize(snap, c, cc.SizeBytes)
		}
		res.Candidates = append(res.Candidates, cc)
		for _, q := range c.QueryIDs {
			if _, ok := e.inputs[q]; ok {
				e.record(q, []string{cc.ID}, map[uint32]string{oid: cc.ID})
			}
		}
		if _, err := conn.Exec(ctx, ownMarker+"SELECT hypopg_drop_index($1)", oid); err != nil {
			return res, fmt.Errorf("hypopg_drop_index: %w", err)
		}
		delete(e.ids, cc.ID)
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("what-if: %w", err)
		}
	}
	// Round 2: the workload-level choice, re-planning each combined set.
	if err := e.reset(); err != nil {
		return res, err
	}
	sel := newSelector(inputs, res, opts, e.live)
	sel.snap = snap
	chosen := sel.run()
	for _, c := range chosen {
		res.Chosen = append(res.Chosen, c.ID)
	}
	if e.err != nil {
		return res, e.err
	}
	return res, nil
}

func hypopgVersion(ctx context.Context, conn *pgx.Conn) (string, error) {
	var ver string
	err := conn.QueryRow(ctx, ownMarker+"SELECT COALESCE((SELECT extversion FROM pg_extension WHERE extname = 'hypopg'), '')").Scan(&ver)
	if err != nil {
		return "", fmt.Errorf("check for hypopg: %w", err)
	}
	return ver, nil
}

type evaluator struct {
	ctx        context.Context
	conn       *pgx.Conn
	res        *Result
	opts       Options
	versionNum int
	inputs     map[string]Input
	ids        map[string]uint32   // candidate ID → hypothetical index OID, currently created
	values     map[string][]string // queryid → representative values of its $n, when costed with a custom plan
	err        error               // first fatal error of the live oracle
	// sampled are the values pg_qualstats sampled for the statements,
	// every value, read once on first use (sampledValues); in memory only.
	sampled     []pgstat.ObservedValues
	sampledFor  []int64 // the statements whose samples are read: those the candidates serve
	sampledRead bool
}

func (e *evaluator) reset() error {
	ctx := e.ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
	}
	e.ids = map[string]uint32{}
	if _, err := e.conn.Exec(ctx, ownMarker+"SELECT hypopg_reset()"); err != nil {
		return fmt.Errorf("hypopg_reset: %w", err)
	}
	return nil
}

func (e *evaluator) create(c Candidate) (uint32, error) {
	var oid uint32
	var name string
	if g := e.opts.Guard; g != nil {
		if rel := g.SkipTable(e.ctx, e.conn, c.Schema, c.Table); rel != "" {
			return 0, fmt.Errorf("skipped: %s is locked (found earlier in the audit)", rel)
		}
	}
	if err := e.conn.QueryRow(e.ctx, ownMarker+"SELECT indexrelid, indexname FROM hypopg_create_index($1)", hypoSQL(c)).Scan(&oid, &name); err != nil {
		var pgErr *pgconn.PgError
		if g := e.opts.Guard; g != nil && errors.As(err, &pgErr) && pgErr.Code == "55P03" {
			g.NoteLockTimeout(e.ctx, e.conn, "what-if", c.Schema, c.Table, "lock timeout while creating a hypothetical index on "+c.Schema+"."+c.Table)
		}
		return 0, fmt.Errorf("hypopg_create_index: %w", err)
	}
	e.ids[c.ID()] = oid
	return oid, nil
}

// partitionSizes sizes the index on each partition the online recipe
// builds it on, with a hypothetical index there (an estimate when HypoPG
// cannot), and returns the steps with their sizes and the sum: the size of
// the parent's hypothetical index would count the partitions that already
// have an index to attach too.
func (e *evaluator) partitionSizes(c Candidate) ([]PartitionStep, int64) {
	steps := append([]PartitionStep(nil), c.Partitions...)
	var total int64
	for i, s := range steps {
		if !s.Builds() {
			continue
		}
		pc := s.On(c)
		var oid uint32
		var size int64
		err := e.conn.QueryRow(e.ctx, ownMarker+"SELECT indexrelid FROM hypopg_create_index($1)", hypoSQL(pc)).Scan(&oid)
		if err == nil {
			err = e.conn.QueryRow(e.ctx, ownMarker+"SELECT hypopg_relation_size($1)", oid).Scan(&size)
			if _, derr := e.conn.Exec(e.ctx, ownMarker+"SELECT hypopg_drop_index($1)", oid); derr != nil && err == nil {
				err = derr
			}
		}
		if err != nil {
			size = pc.EstimatedSize()
		}
		steps[i].SizeBytes = size
		total += size
	}
	return steps, total
}

// plan plans a statement: a generic plan when it has $n (a custom plan for
// its representative values when customize chose them), else plain EXPLAIN.
func (e *evaluator) plan(in Input) (*explain.Plan, explain.Mode, error) {
	var r explain.Result
	eo := explain.Options{ServerVersionNum: e.versionNum, TrustFunctions: e.opts.TrustFunctions, Values: e.values[in.QueryID]}
	if g := e.opts.Guard; g != nil {
		r = g.Run(e.ctx, e.conn, "what-if", in.QueryID, in.Query, in.Facts, eo)
		if r.Skipped != "" {
			return nil, "", errors.New("skipped: " + r.Skipped)
		}
	} else {
		r = explain.Run(e.ctx, e.conn, in.Query, in.Facts, eo)
	}
	e.res.PlannerCalls++
	if r.Error != "" {
		return nil, "", errors.New(r.Error)
	}
	if r.Plan == nil || r.Plan.Plan == nil {
		return nil, "", errors.New("EXPLAIN returned no plan")
	}
	return r.Plan, r.Mode, nil
}

// record plans statement q with the hypothetical indexes byOID present and
// stores the evaluation.
func (e *evaluator) record(q string, set []string, byOID map[uint32]string) Evaluation {
	ev := Evaluation{QueryID: q, Set: set}
	plan, _, err := e.plan(e.inputs[q])
	if err != nil {
		ev.Error = err.Error()
	} else {
		ev.Cost = plan.Plan.TotalCost
		used := map[string]bool{}
		explain.Walk(plan.Plan, func(n *explain.Node, _ int) bool {
			if strings.HasPrefix(n.IndexName, "<") {
				if end := strings.IndexByte(n.IndexName, '>'); end > 0 {
					var oid uint32
					if _, err := fmt.Sscan(n.IndexName[1:end], &oid); err == nil {
						if id, ok := byOID[oid]; ok {
							used[id] = true
						}
					}
				}
			}
			return true
		})
		for id := range used {
			ev.Used = append(ev.Used, id)
		}
		sort.Strings(ev.Used)
	}
	e.res.Evaluations = append(e.res.Evaluations, ev)
	return ev
}

// live is the selector's oracle during Evaluate: it builds exactly the set
// (reusing what is already built) and plans the statement.
func (e *evaluator) live(q string, set []string) (Evaluation, bool) {
	if e.err != nil {
		return Evaluation{}, false
	}
	if _, ok := e.inputs[q]; !ok {
		return Evaluation{}, false
	}
	want := map[string]bool{}
	for _, id := range set {
		want[id] = true
	}
	for id, oid := range e.ids {
		if !want[id] {
			if _, err := e.conn.Exec(e.ctx, ownMarker+"SELECT hypopg_drop_index($1)", oid); err != nil {
				e.err = fmt.Errorf("hypopg_drop_index: %w", err)
				return Evaluation{}, false
			}
			delete(e.ids, id)
		}
	}
	byOID := map[uint32]string{}
	for _, id := range set {
		oid, ok := e.ids[id]
		if !ok {
			c := e.candidate(id)
			if c == nil {
				return Evaluation{}, false
			}
			var err error
			if oid, err = e.create(*c); err != nil {
				return Evaluation{}, false
			}
		}
		byOID[oid] = id
	}
	if e.ctx.Err() != nil {
		e.err = fmt.Errorf("what-if: %w", e.ctx.Err())
		return Evaluation{}, false
	}
	ev := e.record(q, set, byOID)
	return ev, ev.Error == ""
}

func (e *evaluator) candidate(id string) *Candidate {
	for i := range e.res.Candidates {
		if e.res.Candidates[i].ID == id {
			return &e.res.Candidates[i].Candidate
		}
	}
	return nil
}
