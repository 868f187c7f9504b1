package sqlfacts

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// CodeRefs are the names in a statement through which PostgreSQL may run
// code: the safety gate resolves them against the catalog. The lists are an
// over-approximation taken from the raw parse tree: every function call,
// every operator (including the ones the grammar hides: BETWEEN is >= and
// <=, IN and a simple CASE are =, LIKE is ~~), every type named in a cast,
// and every qualified column reference whose last name could be a function
// applied to a row (attribute notation, t.f meaning f(t)).
type CodeRefs struct {
	// Functions are qualified names ("schema.name" or "name"), as written.
	Functions []QualifiedName `json:"functions,omitempty"`
	// Operators are operator names, schema-qualified when written with OPERATOR(schema.op).
	Operators []QualifiedName `json:"operators,omitempty"`
	// Types are the types named in casts and elsewhere in the statement.
	Types []QualifiedName `json:"types,omitempty"`
	// AttributeNames are the last names of qualified column references
	// (t.f, (t).f): a function f taking t's row type would be called.
	AttributeNames []string `json:"attribute_names,omitempty"`
}

// QualifiedName is an object name with its schema ("" when unqualified).
type QualifiedName struct {
	Schema string `json:"schema,omitempty"`
	Name   string `json:"name"`
}

// String is the name as schema.name, or name when unqualified.
func (q QualifiedName) String() string {
	if q.Schema == "" {
		return q.Name
	}
	return q.Schema + "." + q.Name
}

// Code returns the code references of sql (all statements in it).
func Code(sql string) (*CodeRefs, error) {
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, fmt.Errorf("decode parse tree: %w", err)
	}
	c := &codeCollector{seen: map[string]bool{}}
	c.walk(tree)
	out := &c.refs
	sortNames(out.Functions)
	sortNames(out.Operators)
	sortNames(out.Types)
	sort.Strings(out.AttributeNames)
	return out, nil
}

func sortNames(q []QualifiedName) {
	sort.Slice(q, func(i, j int) bool { return q[i].String() < q[j].String() })
}

type codeCollector struct {
	refs CodeRefs
	seen map[string]bool
}

func (c *codeCollector) add(kind string, q QualifiedName) {
	if q.Name == "" {
		return
	}
	key := kind + "\x00" + q.Schema + "\x00" + q.Name
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	switch kind {
	case "f":
		c.refs.Functions = append(c.refs.Functions, q)
	case "o":
		c.refs.Operators = append(c.refs.Operators, q)
	case "t":
		c.refs.Types = append(c.refs.Types, q)
	case "a":
		c.refs.AttributeNames = append(c.refs.AttributeNames, q.Name)
	}
}

// strings of a JSON list of {"String":{"sval":…}} nodes.
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		s, _ := m["String"].(map[string]any)
		if sv, ok := s["sval"].(string); ok {
			out = append(out, sv)
		}
	}
	return out
}

func qualified(parts []string) QualifiedName {
	switch len(parts) {
	case 0:
		return QualifiedName{}
	case 1:
		return QualifiedName{Name: parts[0]}
	default:
		return QualifiedName{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]}
	}
}

// walk visits every node of the JSON parse tree.
func (c *codeCollector) walk(v any) {
	switch x := v.(type) {
	case []any:
		for _, item := range x {
			c.walk(item)
		}
	case map[string]any:
		for key, val := range x {
			node, _ := val.(map[string]any)
			if node != nil {
				c.node(key, node)
			}
			if key == "typeName" && node != nil {
				c.typeName(node)
			}
			c.walk(val)
		}
	}
}

// node records what one parse node may run.
func (c *codeCollector) node(kind string, n map[string]any) {
	switch kind {
	case "FuncCall":
		c.add("f", qualified(stringList(n["funcname"])))
	case "A_Expr":
		name := qualified(stringList(n["name"]))
		switch k, _ := n["kind"].(string); k {
		case "AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM":
			c.add("o", QualifiedName{Name: ">="})
			c.add("o", QualifiedName{Name: "<="})
			c.add("o", QualifiedName{Name: ">"})
			c.add("o", QualifiedName{Name: "<"})
		case "AEXPR_SIMILAR":
			c.add("o", name)
			c.add("f", QualifiedName{Schema: "pg_catalog", Name: "similar_to_escape"})
		default:
			c.add("o", name)
		}
	case "SubLink":
		if ops := stringList(n["operName"]); len(ops) > 0 {
			c.add("o", qualified(ops))
		} else if t, _ := n["subLinkType"].(string); t == "ANY_SUBLINK" || t == "ALL_SUBLINK" || t == "ROWCOMPARE_SUBLINK" {
			c.add("o", QualifiedName{Name: "="})
		}
	case "CaseExpr":
		if n["arg"] != nil {
			c.add("o", QualifiedName{Name: "="})
		}
	case "SortBy":
		if ops := stringList(n["useOp"]); len(ops) > 0 {
			c.add("o", qualified(ops))
		}
	case "ColumnRef":
		if f := stringList(n["fields"]); len(f) > 1 {
			c.add("a", QualifiedName{Name: f[len(f)-1]})
		}
	case "TypeName":
		c.typeName(n)
	case "A_Indirection":
		for _, s := range stringList(n["indirection"]) {
			c.add("a", QualifiedName{Name: s})
		}
	}
}

// typeName records a TypeName (a cast target, a column definition).
func (c *codeCollector) typeName(n map[string]any) {
	names := stringList(n["names"])
	if len(names) == 0 {
		return
	}
	q := qualified(names)
	// pg_query writes built-in type names the grammar knows as pg_catalog.x.
	q.Name = strings.TrimSpace(q.Name)
	c.add("t", q)
}
