// Package explain owns the typed EXPLAIN plan tree (field names as in EXPLAIN
// FORMAT JSON), its parsing and walking, and running EXPLAIN through the safety
// gate of DESIGN.md. It never executes a statement outside that gate.
package explain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Plan is one element of the array EXPLAIN (FORMAT JSON) returns.
type Plan struct {
	Plan          *Node           `json:"Plan"`
	PlanningTime  float64         `json:"Planning Time,omitempty"`  // milliseconds, ANALYZE only
	ExecutionTime float64         `json:"Execution Time,omitempty"` // milliseconds, ANALYZE only
	Triggers      []Trigger       `json:"Triggers,omitempty"`
	JIT           *JIT            `json:"JIT,omitempty"`
	Settings      map[string]any  `json:"Settings,omitempty"`
	Planning      json.RawMessage `json:"Planning,omitempty"` // buffers used by planning, 13+
	// Extra holds the keys not read as they came (see Extra).
	Extra Extra `json:"-"`
}

// Setting is the value of a setting the plan records for itself (EXPLAIN
// SETTINGS, 12+: the settings that differ from their defaults, as
// written there, e.g. "64kB"), and whether the plan records it.
func (p *Plan) Setting(name string) (string, bool) {
	if p == nil {
		return "", false
	}
	switch v := p.Settings[name].(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// Trigger is the time spent in one trigger (ANALYZE only).
type Trigger struct {
	Name     string  `json:"Trigger Name"`
	Relation string  `json:"Relation,omitempty"`
	Time     float64 `json:"Time"` // milliseconds
	Calls    float64 `json:"Calls"`
}

// JIT summarises just-in-time compilation of the statement.
type JIT struct {
	Functions int             `json:"Functions"`
	Options   map[string]bool `json:"Options,omitempty"`
	Timing    *JITTiming      `json:"Timing,omitempty"`
	Extra     Extra           `json:"-"`
}

// JITTiming is the time JIT took, in milliseconds (ANALYZE only).
type JITTiming struct {
	// Generation is the time generating code took; PostgreSQL 17 writes it
	// as an object {"Deform", "Total"}: this is its Total.
	Generation float64 `json:"Generation"`
	// GenerationDeform is the part of Generation spent on tuple deforming
	// (PostgreSQL 17+, zero before).
	GenerationDeform float64 `json:"Generation Deform,omitempty"`
	Inlining         float64 `json:"Inlining"`
	Optimization     float64 `json:"Optimization"`
	Emission         float64 `json:"Emission"`
	Total            float64 `json:"Total"`
	Extra            Extra   `json:"-"`
}

// Worker is one parallel worker's share of a node (ANALYZE, VERBOSE or a
// sort or hash node under Gather): a Sort's figures in the leader's fields
// of Node are the leader's only, and each worker's are here.
type Worker struct {
	WorkerNumber      int     `json:"Worker Number"`
	ActualStartupTime float64 `json:"Actual Startup Time,omitempty"` // milliseconds
	ActualTotalTime   float64 `json:"Actual Total Time,omitempty"`   // milliseconds
	ActualRows        float64 `json:"Actual Rows,omitempty"`
	ActualLoops       float64 `json:"Actual Loops,omitempty"`
	SortMethod        string  `json:"Sort Method,omitempty"`
	SortSpaceUsed     float64 `json:"Sort Space Used,omitempty"`   // kB
	SortSpaceType     string  `json:"Sort Space Type,omitempty"`   // Disk or Memory
	PeakMemoryUsage   float64 `json:"Peak Memory Usage,omitempty"` // kB
	DiskUsage         float64 `json:"Disk Usage,omitempty"`        // kB
	HashAggBatches    float64 `json:"HashAgg Batches,omitempty"`
	TempReadBlocks    float64 `json:"Temp Read Blocks,omitempty"`
	TempWrittenBlocks float64 `json:"Temp Written Blocks,omitempty"`
	Extra             Extra   `json:"-"`
}

// Node is one plan node. Field names and JSON tags are those of EXPLAIN FORMAT
// JSON; fields that appear only with ANALYZE or BUFFERS are zero otherwise.
type Node struct {
	NodeType                  string   `json:"Node Type"`
	ParentRelationship        string   `json:"Parent Relationship,omitempty"` // Outer, Inner, SubPlan, InitPlan, Member
	SubplanName               string   `json:"Subplan Name,omitempty"`
	Strategy                  string   `json:"Strategy,omitempty"`
	PartialMode               string   `json:"Partial Mode,omitempty"`
	Operation                 string   `json:"Operation,omitempty"` // ModifyTable: Insert, Update, Delete
	JoinType                  string   `json:"Join Type,omitempty"`
	ParallelAware             bool     `json:"Parallel Aware,omitempty"`
	AsyncCapable              bool     `json:"Async Capable,omitempty"`
	RelationName              string   `json:"Relation Name,omitempty"`
	Schema                    string   `json:"Schema,omitempty"`
	Alias                     string   `json:"Alias,omitempty"`
	IndexName                 string   `json:"Index Name,omitempty"`
	ScanDirection             string   `json:"Scan Direction,omitempty"`
	CTEName                   string   `json:"CTE Name,omitempty"`
	FunctionName              string   `json:"Function Name,omitempty"`
	StartupCost               float64  `json:"Startup Cost"`
	TotalCost                 float64  `json:"Total Cost"`
	PlanRows                  float64  `json:"Plan Rows"`
	PlanWidth                 int      `json:"Plan Width"`
	ActualStartupTime         float64  `json:"Actual Startup Time,omitempty"` // milliseconds, per loop
	ActualTotalTime           float64  `json:"Actual Total Time,omitempty"`   // milliseconds, per loop
	ActualRows                float64  `json:"Actual Rows,omitempty"`         // per loop
	ActualLoops               float64  `json:"Actual Loops,omitempty"`
	Output                    []string `json:"Output,omitempty"`
	Filter                    string   `json:"Filter,omitempty"`
	RunCondition              string   `json:"Run Condition,omitempty"`          // WindowAgg, 15+: stops reading once false
	RowsRemovedByFilter       float64  `json:"Rows Removed by Filter,omitempty"` // per loop
	JoinFilter                string   `json:"Join Filter,omitempty"`
	RowsRemovedByJoinFilter   float64  `json:"Rows Removed by Join Filter,omitempty"`
	IndexCond                 string   `json:"Index Cond,omitempty"`
	RecheckCond               string   `json:"Recheck Cond,omitempty"`
	RowsRemovedByIndexRecheck float64  `json:"Rows Removed by Index Recheck,omitempty"`
	ExactHeapBlocks           float64  `json:"Exact Heap Blocks,omitempty"`
	LossyHeapBlocks           float64  `json:"Lossy Heap Blocks,omitempty"`
	HeapFetches               float64  `json:"Heap Fetches,omitempty"`
	HashCond                  string   `json:"Hash Cond,omitempty"`
	MergeCond                 string   `json:"Merge Cond,omitempty"`
	SortKey                   []string `json:"Sort Key,omitempty"`
	PresortedKey              []string `json:"Presorted Key,omitempty"`
	GroupKey                  []string `json:"Group Key,omitempty"`
	SortMethod                string   `json:"Sort Method,omitempty"`     // e.g. "external merge", "quicksort", "top-N heapsort"
	SortSpaceUsed             float64  `json:"Sort Space Used,omitempty"` // kB
	SortSpaceType             string   `json:"Sort Space Type,omitempty"` // Disk or Memory
	HashBuckets               float64  `json:"Hash Buckets,omitempty"`
	OriginalHashBuckets       float64  `json:"Original Hash Buckets,omitempty"`
	HashBatches               float64  `json:"Hash Batches,omitempty"`
	OriginalHashBatches       float64  `json:"Original Hash Batches,omitempty"`
	PeakMemoryUsage           float64  `json:"Peak Memory Usage,omitempty"` // kB
	DiskUsage                 float64  `json:"Disk Usage,omitempty"`        // kB (HashAggregate spills, 13+)
	HashAggBatches            float64  `json:"HashAgg Batches,omitempty"`
	WorkersPlanned            int      `json:"Workers Planned,omitempty"`
	WorkersLaunched           int      `json:"Workers Launched,omitempty"`
	SingleCopy                bool     `json:"Single Copy,omitempty"`
	CacheKey                  string   `json:"Cache Key,omitempty"` // Memoize
	SharedHitBlocks           float64  `json:"Shared Hit Blocks,omitempty"`
	SharedReadBlocks          float64  `json:"Shared Read Blocks,omitempty"`
	SharedDirtiedBlocks       float64  `json:"Shared Dirtied Blocks,omitempty"`
	SharedWrittenBlocks       float64  `json:"Shared Written Blocks,omitempty"`
	LocalHitBlocks            float64  `json:"Local Hit Blocks,omitempty"`
	LocalReadBlocks           float64  `json:"Local Read Blocks,omitempty"`
	TempReadBlocks            float64  `json:"Temp Read Blocks,omitempty"`
	TempWrittenBlocks         float64  `json:"Temp Written Blocks,omitempty"`
	IOReadTime                float64  `json:"I/O Read Time,omitempty"`  // milliseconds, track_io_timing
	IOWriteTime               float64  `json:"I/O Write Time,omitempty"` // milliseconds
	Workers                   []Worker `json:"Workers,omitempty"`        // per parallel worker (ANALYZE)
	Plans                     []*Node  `json:"Plans,omitempty"`
	// Extra holds the keys not read as they came (see Extra).
	Extra Extra `json:"-"`
}

// Parse decodes the output of EXPLAIN (FORMAT JSON): an array with one plan,
// or a single plan object, also with a UTF-8 byte order mark or as psql
// prints it (Unframe). Unknown fields (from newer servers and other tools)
// and fields of another JSON kind than pgadvisor's types are kept in Extra,
// never an error; anything that is not such JSON is rejected with an error
// saying what was expected.
func Parse(data []byte) (*Plan, error) {
	trimmed := bytes.TrimSpace(Unframe(data))
	if len(trimmed) == 0 {
		return nil, errors.New("parse plan: empty input, expected the output of EXPLAIN (FORMAT JSON)")
	}
	var plan *Plan
	switch trimmed[0] {
	case '[':
		var many []Plan
		if err := json.Unmarshal(trimmed, &many); err != nil {
			return nil, fmt.Errorf("parse plan: not the output of EXPLAIN (FORMAT JSON): %w", err)
		}
		if len(many) > 0 {
			plan = &many[0]
		}
	case '{':
		var one Plan
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return nil, fmt.Errorf("parse plan: not the output of EXPLAIN (FORMAT JSON): %w", err)
		}
		plan = &one
	default:
		if bytes.Contains(trimmed, []byte("cost=")) {
			return nil, errors.New("parse plan: this is EXPLAIN text output; use EXPLAIN (FORMAT JSON)")
		}
		return nil, fmt.Errorf("parse plan: not the output of EXPLAIN (FORMAT JSON): starts with %q, expected [ or {", shorten(string(trimmed), 20))
	}
	if plan == nil || plan.Plan == nil {
		return nil, errors.New("parse plan: no \"Plan\" in EXPLAIN output")
	}
	if err := checkShape(plan.Plan); err != nil {
		return nil, fmt.Errorf("parse plan: not the output of EXPLAIN (FORMAT JSON): %w", err)
	}
	return plan, nil
}

// checkShape checks the two fields that make a tree of plan nodes, which
// are decoded leniently like the rest: every node has a "Node Type" string,
// and "Plans", when present, is an array of nodes.
func checkShape(root *Node) error {
	var err error
	Walk(root, func(n *Node, depth int) bool {
		switch {
		case n.Extra["Plans"] != nil:
			err = fmt.Errorf("\"Plans\" of a %s node at depth %d is not an array of plan nodes", shorten(n.NodeType, 40), depth)
		case n.NodeType == "":
			err = fmt.Errorf("a plan node at depth %d has no \"Node Type\" string", depth)
		case slices.Contains(n.Plans, nil):
			err = fmt.Errorf("\"Plans\" of a %s node at depth %d holds a null", shorten(n.NodeType, 40), depth)
		}
		return err == nil
	})
	return err
}

// Walk calls fn for n and every node below it, depth first, parents before
// children. It stops descending below a node for which fn returns false.
func Walk(n *Node, fn func(n *Node, depth int) bool) {
	walk(n, 0, fn)
}

func walk(n *Node, depth int, fn func(*Node, int) bool) {
	if n == nil || !fn(n, depth) {
		return
	}
	for _, c := range n.Plans {
		walk(c, depth+1, fn)
	}
}

// Mode says how a plan was obtained.
type Mode string

// Modes of Result.
const (
	// ModeAnalyze: EXPLAIN (ANALYZE, BUFFERS) inside BEGIN READ ONLY … ROLLBACK.
	ModeAnalyze Mode = "analyze"
	// ModeGeneric: a generic plan for a statement with $n parameters, not executed.
	ModeGeneric Mode = "generic"
	// ModePlain: plain EXPLAIN, not executed.
	ModePlain Mode = "plain"
	// ModeCustom: a custom plan for representative values of the $n
	// parameters (Options.Values), not executed.
	ModeCustom Mode = "custom"
)

// Result is the recorded outcome of explaining one statement; it is stored in
// the snapshot so that advice can be re-run offline.
type Result struct {
	QueryID    string  `json:"queryid,omitempty"` // pg_stat_statements queryid, decimal
	Query      string  `json:"query"`
	Mode       Mode    `json:"mode,omitempty"`
	Reason     string  `json:"reason,omitempty"` // why ANALYZE was not used, or how it was done (sampled $n, --analyze-writes)
	Plan       *Plan   `json:"plan,omitempty"`
	Error      string  `json:"error,omitempty"` // EXPLAIN failed: the server's message
	DurationMS float64 `json:"duration_ms"`     // wall time of the EXPLAIN, milliseconds
	// ReleasedAdvisoryLocks counts the session-level advisory locks an
	// analysed statement left held, which pgadvisor released.
	ReleasedAdvisoryLocks int `json:"released_advisory_locks,omitempty"`

	// SQLState is the SQLSTATE of the server error behind Error, when there was one.
	SQLState string `json:"sqlstate,omitempty"`
	// Skipped says why the statement was not sent at all (a relation it
	// touches was found locked earlier in the audit); Error is empty then.
	Skipped string `json:"skipped,omitempty"`
}

// Marker starts every statement pgadvisor sends, so that its own statements
// can be told apart in pg_stat_statements and pg_stat_activity and are never
// findings. pgstat and the advisor use this same value.
const Marker = "/* pgadvisor */ "
