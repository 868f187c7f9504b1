// Package sqlfacts owns everything pg_query: parsing a statement, its
// fingerprint, and the facts the rules need (relations, predicates, joins,
// ordering, limits, parameters). It never talks to a database; where a column's
// table cannot be known from the text alone, Table is left empty.
package sqlfacts

// Kind is the kind of a statement.
type Kind string

// Statement kinds.
const (
	KindSelect  Kind = "select"
	KindInsert  Kind = "insert"
	KindUpdate  Kind = "update"
	KindDelete  Kind = "delete"
	KindMerge   Kind = "merge"
	KindUtility Kind = "utility" // DDL, SET, BEGIN, COPY, EXPLAIN, ...
	KindOther   Kind = "other"
)

// Facts are what the text of one statement says.
type Facts struct {
	Fingerprint string `json:"fingerprint"` // pg_query fingerprint, 16 hex digits
	Kind        Kind   `json:"kind"`
	// Statements is the number of statements in the text (facts describe the first).
	Statements int `json:"statements"`
	// Relations are the base relations read or written, each once, with
	// views unresolved (the advisor resolves them with the catalog).
	Relations []Relation `json:"relations"`
	// Target is the relation an INSERT/UPDATE/DELETE/MERGE writes.
	Target     *Relation   `json:"target,omitempty"`
	Predicates []Predicate `json:"predicates,omitempty"` // WHERE and JOIN ON conjuncts, all query levels
	Joins      []Join      `json:"joins,omitempty"`
	OrderBy    []OrderItem `json:"order_by,omitempty"` // of the outermost SELECT
	GroupBy    []ColumnRef `json:"group_by,omitempty"`
	Limit      *Bound      `json:"limit,omitempty"`  // of the outermost SELECT
	Offset     *Bound      `json:"offset,omitempty"` // of the outermost SELECT
	SelectStar bool        `json:"select_star,omitempty"`
	Subqueries int         `json:"subqueries,omitempty"` // sublinks and subselects in FROM
	CTEs       []CTE       `json:"ctes,omitempty"`
	Aggregates bool        `json:"aggregates,omitempty"` // uses an aggregate function or GROUP BY
	Distinct   bool        `json:"distinct,omitempty"`
	// GroupByExpression is set when the outermost GROUP BY has a key that is
	// not a plain column (an expression), which GroupBy leaves out.
	GroupByExpression bool `json:"group_by_expression,omitempty"`
	// AggregateDistinct are the plain columns the outermost SELECT
	// aggregates with DISTINCT (count(DISTINCT post_id)), each once.
	AggregateDistinct []ColumnRef `json:"aggregate_distinct,omitempty"`
	// Functions are the names of every function called (schema-qualified when written so).
	Functions []string `json:"functions,omitempty"`
	// Locking is set for SELECT ... FOR UPDATE/SHARE/NO KEY UPDATE/KEY SHARE.
	Locking bool `json:"locking,omitempty"`
	// SelectInto is set for SELECT ... INTO.
	SelectInto bool `json:"select_into,omitempty"`
	// ModifyingCTE is set when a WITH clause holds an INSERT/UPDATE/DELETE/MERGE.
	ModifyingCTE bool `json:"modifying_cte,omitempty"`
	// InsertRows is the number of VALUES rows of an INSERT (0 for INSERT … SELECT).
	InsertRows int `json:"insert_rows,omitempty"`
	// Params is the number of distinct $n parameters.
	Params int `json:"params,omitempty"`
	// ParamColumns maps $n to the column it is compared with, where one is.
	ParamColumns map[int]ColumnRef `json:"param_columns,omitempty"`
}

// Relation is a table (or view) named in FROM, JOIN, or as a write target.
type Relation struct {
	Schema string `json:"schema,omitempty"` // as written; empty when unqualified
	Name   string `json:"name"`
	Alias  string `json:"alias,omitempty"`
}

// ColumnRef is a column resolved to its relation as far as the text allows.
type ColumnRef struct {
	Schema string `json:"schema,omitempty"`
	Table  string `json:"table,omitempty"` // relation name (alias resolved); empty when ambiguous
	Column string `json:"column"`
}

// Predicate is one conjunct comparing a column with something.
type Predicate struct {
	Column   ColumnRef `json:"column"`
	Operator string    `json:"operator"` // =, <, <=, >, >=, <>, LIKE, ILIKE, ~~, IN, = ANY, IS NULL, IS NOT NULL, BETWEEN
	// Param is n when the other side is $n, else 0.
	Param int `json:"param,omitempty"`
	// Const is the constant's text when the other side is a constant.
	Const    string `json:"const,omitempty"`
	HasConst bool   `json:"has_const,omitempty"`
	// NowMinusParam is n when the other side is the current time minus $n
	// (ts > now() - $1::interval: a window back from now), else 0.
	NowMinusParam int `json:"now_minus_param,omitempty"`
	// Function is the function wrapping the column, e.g. "lower"; Cast the type it is cast to.
	Function string `json:"function,omitempty"`
	Cast     string `json:"cast,omitempty"`
	// Expression is the deparsed column-side expression when wrapped, e.g. "lower(email)".
	Expression string `json:"expression,omitempty"`
	// InOr is set when the conjunct sits under an OR (not usable alone by an index).
	InOr bool `json:"in_or,omitempty"`
	// Join is set when both sides are columns (a join condition written in WHERE or ON).
	Join bool `json:"join,omitempty"`
}

// IsEquality reports whether the predicate can use an index equality key.
func (p Predicate) IsEquality() bool {
	switch p.Operator {
	case "=", "IN", "= ANY", "IS NULL":
		return true
	}
	return false
}

// IsRange reports whether the predicate is a btree range condition.
func (p Predicate) IsRange() bool {
	switch p.Operator {
	case "<", "<=", ">", ">=", "BETWEEN":
		return true
	}
	return false
}

// Join is an equality between columns of two relations.
type Join struct {
	Type  string    `json:"type"` // inner, left, right, full, cross
	Left  ColumnRef `json:"left"`
	Right ColumnRef `json:"right"`
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Column     ColumnRef `json:"column"`
	Expression string    `json:"expression,omitempty"` // when the key is not a plain column
	Desc       bool      `json:"desc,omitempty"`
	NullsFirst *bool     `json:"nulls_first,omitempty"` // nil: default for the direction
	// Aggregate is set when the key is or holds an aggregate (ORDER BY
	// count(*), or an output column that is one): no index can serve it.
	Aggregate bool `json:"aggregate,omitempty"`
}

// Bound is a LIMIT or OFFSET value.
type Bound struct {
	Param int   `json:"param,omitempty"` // $n
	Value int64 `json:"value,omitempty"` // constant, when Param == 0
	All   bool  `json:"all,omitempty"`   // LIMIT ALL / NULL
	// Expression is the deparsed value when it is neither a constant nor $n.
	Expression string `json:"expression,omitempty"`
}

// CTE is one WITH query.
type CTE struct {
	Name         string `json:"name"`
	Materialized string `json:"materialized,omitempty"` // "", "materialized", "not materialized"
	Kind         Kind   `json:"kind"`
	// Relations are the relations the CTE reads.
	Relations []Relation `json:"relations,omitempty"`
}
