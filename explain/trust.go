package explain

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// firstNormalObjectID is FirstNormalObjectId: objects with a smaller OID were
// created by initdb (built-ins), every other one by a user or an extension.
const firstNormalObjectID = 16384

// deniedBuiltins are built-in functions that pg_proc marks STABLE but that
// read a relation, schema or database named by an argument: through a view
// they can reach any code, which the gate cannot see from the statement.
var deniedBuiltins = map[string]bool{
	"table_to_xml": true, "table_to_xmlschema": true, "table_to_xml_and_xmlschema": true,
	"schema_to_xml": true, "schema_to_xmlschema": true, "schema_to_xml_and_xmlschema": true,
	"database_to_xml": true, "database_to_xmlschema": true, "database_to_xml_and_xmlschema": true,
}

// trustedExtensions are extensions whose C functions compute values
// and nothing else (operators, index support, type I/O): their non-volatile
// functions are trusted like built-ins, so a trigram or citext column does
// not cost every statement its plan. dblink, postgres_fdw, file_fdw and
// pg_stat_statements are deliberately absent.
var trustedExtensions = map[string]bool{
	"pg_trgm": true, "btree_gin": true, "btree_gist": true, "citext": true, "hstore": true,
	"cube": true, "earthdistance": true, "ltree": true, "intarray": true, "isn": true,
	"seg": true, "fuzzystrmatch": true, "unaccent": true, "pgcrypto": true, "uuid-ossp": true,
	"bloom": true, "tsm_system_rows": true, "tsm_system_time": true,
	// Not contrib, but the most common column-type extensions: without
	// them every statement on a table with a geometry or vector column
	// could not even be planned.
	"postgis": true, "vector": true,
}

// Untrusted is one piece of code, or one relation, that a statement may
// reach and that the gate does not trust.
type Untrusted struct {
	Kind string `json:"kind"` // "function", "foreign table", "row-level security", "type", "relation"
	Name string `json:"name"` // schema-qualified
	// Detail says why it is not trusted and how the statement reaches it.
	Detail string `json:"detail,omitempty"`
	// PlanTime is set when PostgreSQL may run the code while planning (a
	// non-volatile function folded or used for an estimate, an operator's
	// function, a type's input function): then not even a plain EXPLAIN is
	// sent.
	PlanTime bool `json:"plan_time,omitempty"`
	// Function is set for functions: the name --trust-functions takes.
	Function string `json:"function,omitempty"`
}

func (u Untrusted) String() string {
	s := u.Kind + " " + u.Name
	if u.Detail != "" {
		s += " (" + u.Detail + ")"
	}
	return s
}

// Verdict is what the gate allows for one statement.
type Verdict struct {
	// Analyze: EXPLAIN ANALYZE may execute the statement.
	Analyze bool
	// Plan: the statement may be planned (plain EXPLAIN, generic plan,
	// hypothetical indexes): PostgreSQL runs no untrusted code while planning.
	Plan bool
	// Reason says why Analyze (or Plan) is false, naming the fix.
	Reason    string
	Untrusted []Untrusted
}

// Check is the whole safety gate of DESIGN.md. It resolves, from the
// server's own catalogs, every piece of code the statement may execute:
// functions called (every overload of the name), operators (every operator
// of the name, the grammar's hidden ones included) through pg_operator's
// oprcode, oprrest and oprjoin, aggregates through pg_aggregate's support
// functions, types named in casts and the types of every column of every
// relation read (input/output/receive/send/typmod/subscript functions,
// domains' CHECK constraints through pg_constraint and pg_depend, base,
// element, range and composite member types, default operator classes and
// user-created casts), attribute notation (t.f calling f(t)), and relations
// (views followed through the dependencies of their rewrite rules, which
// PostgreSQL records exactly; inheritance children and partitions; the
// operator classes of their indexes; row-level security policies; virtual
// generated columns; for a write target its defaults and CHECK constraints).
// A function is trusted only when it is a built-in (OID below
// FirstNormalObjectId, in pg_catalog or information_schema) that is not
// volatile (or one of the harmless volatile ones), or a non-volatile
// function of a contrib extension in trustedExtensions, or named in trusted
// ("schema.name" or "name"). Volatility markings of user code are never
// trusted. A foreign table or a table with row-level security rules out
// ANALYZE. Untrusted code that PostgreSQL may run while planning rules out
// planning too.
func Check(ctx context.Context, conn *pgx.Conn, query string, facts *sqlfacts.Facts, trusted []string) (Verdict, error) {
	stmtOK, stmtWhy := CheckStatement(facts)
	if facts == nil {
		return Verdict{Plan: true, Reason: stmtWhy}, nil
	}
	refs, err := sqlfacts.Code(query)
	if err != nil {
		// The text does not parse: the server will refuse it too.
		return Verdict{Plan: true, Reason: "statement could not be parsed: plain EXPLAIN only"}, nil
	}
	rc := newReacher(ctx, conn, trusted)
	var target *sqlfacts.Relation
	if facts.Target != nil && facts.Kind != sqlfacts.KindSelect {
		target = facts.Target
	}
	if err := rc.names(refs, ""); err != nil {
		return Verdict{}, err
	}
	if err := rc.entries(facts.Relations, target); err != nil {
		return Verdict{}, err
	}
	if err := rc.expand(); err != nil {
		return Verdict{}, err
	}
	v := Verdict{Untrusted: rc.untrusted(), Plan: true, Analyze: stmtOK}
	var planBlock []Untrusted
	for _, u := range v.Untrusted {
		v.Analyze = false
		if u.PlanTime {
			planBlock = append(planBlock, u)
		}
	}
	switch {
	case len(planBlock) > 0:
		v.Plan = false
		v.Reason = "not planned: PostgreSQL may run " + describeUntrusted(planBlock) + " while planning" + trustHint(planBlock)
	case !stmtOK:
		v.Reason = stmtWhy
	case len(v.Untrusted) > 0:
		v.Reason = "may run " + describeUntrusted(v.Untrusted) + ": plain EXPLAIN only" + trustHint(v.Untrusted)
	}
	return v, nil
}

// describeUntrusted names at most three untrusted objects.
func describeUntrusted(us []Untrusted) string {
	var parts []string
	for i, u := range us {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(us)-3))
			break
		}
		parts = append(parts, u.String())
	}
	return strings.Join(parts, ", ")
}

// trustHint names the --trust-functions value that would allow the
// functions among us, when all that stands in the way is functions.
func trustHint(us []Untrusted) string {
	var names []string
	seen := map[string]bool{}
	for _, u := range us {
		if u.Function == "" {
			return ""
		}
		if !seen[u.Function] {
			seen[u.Function] = true
			names = append(names, u.Function)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (if that code is safe to run: --trust-functions " + strings.Join(names, ",") + ")"
}

// Object classes of the reachability walk.
const (
	classRelation = 'r'
	classFunction = 'f'
	classOperator = 'o'
	classType     = 't'
	classOpclass  = 'c'
)

// How a function is reached, which decides whether the planner may run it.
const (
	viaExec = iota // run only by the executor (aggregate support, domain CHECK)
	viaCall        // called by the statement (or a view): folded when not volatile
	viaPlan        // operator, type I/O, cast, operator class: may run while planning
)

type objKey struct {
	class byte
	oid   uint32
}

// reacher walks the catalog from a statement's names to everything they may run.
type reacher struct {
	ctx     context.Context
	conn    *pgx.Conn
	trusted map[string]bool
	seen    map[objKey]bool
	label   map[objKey]string // how each object was reached ("operator public.====")
	via     map[objKey]int
	targets map[uint32]bool // relations written by the statement
	next    map[byte][]uint32
	bad     map[string]*Untrusted // by kind+name
	order   []string
	version int // server_version_num, read when first needed
}

func newReacher(ctx context.Context, conn *pgx.Conn, trusted []string) *reacher {
	rc := &reacher{ctx: ctx, conn: conn, trusted: map[string]bool{}, seen: map[objKey]bool{},
		label: map[objKey]string{}, via: map[objKey]int{}, targets: map[uint32]bool{},
		next: map[byte][]uint32{}, bad: map[string]*Untrusted{}}
	for _, t := range trusted {
		if t = strings.TrimSpace(t); t != "" {
			sch, name := splitFuncName(t)
			if sch != "" {
				rc.trusted[sch+"."+name] = true
			} else {
				rc.trusted[name] = true
			}
		}
	}
	return rc
}

// push queues an object reached from parent (label) the way via says.
func (rc *reacher) push(class byte, oid uint32, label string, via int) {
	if oid == 0 {
		return
	}
	k := objKey{class, oid}
	if rc.seen[k] {
		if class == classFunction && via > rc.via[k] {
			// Reached again in a way that matters more: re-check it.
			rc.via[k] = via
			rc.label[k] = label
			rc.next[class] = append(rc.next[class], oid)
		}
		return
	}
	rc.seen[k] = true
	rc.label[k] = label
	rc.via[k] = via
	rc.next[class] = append(rc.next[class], oid)
}

func (rc *reacher) flag(u Untrusted) {
	key := u.Kind + "\x00" + u.Name
	if old, ok := rc.bad[key]; ok {
		old.PlanTime = old.PlanTime || u.PlanTime
		if u.PlanTime && u.Detail != "" {
			old.Detail = u.Detail
		}
		return
	}
	rc.bad[key] = &u
	rc.order = append(rc.order, key)
}

// untrusted lists what was flagged, plan-time dangers first.
func (rc *reacher) untrusted() []Untrusted {
	var out []Untrusted
	for _, k := range rc.order {
		out = append(out, *rc.bad[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PlanTime && !out[j].PlanTime })
	return out
}

func (rc *reacher) query(sql string, args ...any) (pgx.Rows, error) {
	return rc.conn.Query(rc.ctx, Marker+sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}

const entryFunctionsQuery = `SELECT p.oid, f.attr
FROM unnest($1::text[], $2::text[], $3::bool[]) AS f(sch, name, attr)
JOIN pg_catalog.pg_namespace n
  ON (f.sch = '' AND n.nspname = ANY (pg_catalog.current_schemas(true))) OR n.nspname = f.sch
JOIN pg_catalog.pg_proc p ON p.pronamespace = n.oid AND p.proname = f.name
WHERE NOT f.attr OR (p.pronargs >= 1 AND p.pronargs - p.pronargdefaults <= 1)`

// entryOperatorsQuery resolves operator names to the user-made operators of
// that name (built-in operators run built-in, non-volatile functions).
const entryOperatorsQuery = `SELECT o.oid
FROM unnest($1::text[], $2::text[]) AS f(sch, name)
JOIN pg_catalog.pg_namespace n
  ON (f.sch = '' AND n.nspname = ANY (pg_catalog.current_schemas(true))) OR n.nspname = f.sch
JOIN pg_catalog.pg_operator o ON o.oprnamespace = n.oid AND o.oprname = f.name
WHERE o.oid >= 16384`

const entryObjectsQuery = `SELECT f.kind, f.name, coalesce(CASE WHEN f.kind = 't' THEN pg_catalog.to_regtype(f.name)::oid
  ELSE pg_catalog.to_regclass(f.name)::oid END, 0)
FROM unnest($1::text[], $2::text[]) AS f(kind, name)`

// names resolves the function, operator and type names of a statement (or
// of a view's definition, label) to catalog objects.
func (rc *reacher) names(refs *sqlfacts.CodeRefs, label string) error {
	var schs, names []string
	var attr []bool
	for _, f := range refs.Functions {
		schs, names, attr = append(schs, f.Schema), append(names, f.Name), append(attr, false)
	}
	for _, a := range refs.AttributeNames {
		schs, names, attr = append(schs, ""), append(names, a), append(attr, true)
	}
	if len(names) > 0 {
		rows, err := rc.query(entryFunctionsQuery, schs, names, attr)
		if err != nil {
			return fmt.Errorf("resolve the statement's functions in pg_proc: %w", err)
		}
		for rows.Next() {
			var oid uint32
			var isAttr bool
			if err := rows.Scan(&oid, &isAttr); err != nil {
				rows.Close()
				return fmt.Errorf("resolve the statement's functions in pg_proc: %w", err)
			}
			l := label
			if isAttr {
				l = strings.TrimPrefix(label+", attribute notation", ", ")
			}
			rc.push(classFunction, oid, l, viaCall)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("resolve the statement's functions in pg_proc: %w", err)
		}
	}
	if len(refs.Operators) > 0 {
		schs, names = nil, nil
		for _, o := range refs.Operators {
			schs, names = append(schs, o.Schema), append(names, o.Name)
		}
		rows, err := rc.query(entryOperatorsQuery, schs, names)
		if err != nil {
			return fmt.Errorf("resolve the statement's operators in pg_operator: %w", err)
		}
		for rows.Next() {
			var oid uint32
			if err := rows.Scan(&oid); err != nil {
				rows.Close()
				return fmt.Errorf("resolve the statement's operators in pg_operator: %w", err)
			}
			rc.push(classOperator, oid, label, viaPlan)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("resolve the statement's operators in pg_operator: %w", err)
		}
	}
	if len(refs.Types) == 0 {
		return nil
	}
	var kinds []string
	names = nil
	for _, t := range refs.Types {
		kinds, names = append(kinds, "t"), append(names, qualifiedText(t.Schema, t.Name))
	}
	return rc.objects(kinds, names, "", label)
}

// entries resolves the relations a statement reads and writes.
func (rc *reacher) entries(rels []sqlfacts.Relation, target *sqlfacts.Relation) error {
	var kinds, names []string
	targetName := ""
	if target != nil {
		targetName = qualifiedText(target.Schema, target.Name)
		kinds, names = append(kinds, "r"), append(names, targetName)
	}
	for _, r := range rels {
		kinds, names = append(kinds, "r"), append(names, qualifiedText(r.Schema, r.Name))
	}
	return rc.objects(kinds, names, targetName, "")
}

// objects resolves type (kind "t") and relation (kind "r") names.
func (rc *reacher) objects(kinds, names []string, targetName, label string) error {
	if len(names) == 0 {
		return nil
	}
	rows, err := rc.query(entryObjectsQuery, kinds, names)
	if err != nil {
		return fmt.Errorf("resolve the statement's types and relations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name string
		var oid uint32
		if err := rows.Scan(&kind, &name, &oid); err != nil {
			return fmt.Errorf("resolve the statement's types and relations: %w", err)
		}
		switch {
		case oid == 0 && kind == "t":
			rc.flag(Untrusted{Kind: "type", Name: name, Detail: "does not resolve on this server"})
		case oid == 0:
			rc.flag(Untrusted{Kind: "relation", Name: name, Detail: "does not resolve on this server"})
		case kind == "t":
			rc.push(classType, oid, label, viaPlan)
		default:
			if targetName != "" && name == targetName {
				rc.targets[oid] = true
			}
			rc.push(classRelation, oid, label, viaCall)
		}
	}
	return rows.Err()
}

// displayName is schema.name for messages, each part quoted only where it must be.
func displayName(schema, name string) string {
	return displayIdent(schema) + "." + displayIdent(name)
}

// displayIdent quotes an identifier for a message only where it must be.
func displayIdent(s string) string {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || (i > 0 && r >= '0' && r <= '9')) {
			return pgx.Identifier{s}.Sanitize()
		}
	}
	return s
}

// qualifiedText quotes a possibly qualified name for to_regclass/to_regtype.
func qualifiedText(schema, name string) string {
	if schema == "" {
		return pgx.Identifier{name}.Sanitize()
	}
	return pgx.Identifier{schema, name}.Sanitize()
}

// maxReachRounds bounds the walk (views over views over types …).
const maxReachRounds = 64

// expand walks until nothing new is reached.
func (rc *reacher) expand() error {
	for round := 0; len(rc.next) > 0; round++ {
		if round >= maxReachRounds {
			rc.flag(Untrusted{Kind: "relation", Name: "(nested objects)", Detail: "nest too deep to check", PlanTime: true})
			return nil
		}
		cur := rc.next
		rc.next = map[byte][]uint32{}
		for _, class := range []byte{classRelation, classType, classOpclass, classOperator, classFunction} {
			oids := cur[class]
			if len(oids) == 0 {
				continue
			}
			var err error
			switch class {
			case classRelation:
				err = rc.relations(oids)
			case classType:
				err = rc.types(oids)
			case classOpclass:
				err = rc.opclasses(oids)
			case classOperator:
				err = rc.operators(oids)
			case classFunction:
				err = rc.functions(oids)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

const relationsReachQuery = `SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relrowsecurity,
  coalesce((SELECT array_agg(a.atttypid) FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}'),
  coalesce((SELECT array_agg(i.inhrelid) FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid), '{}'),
  coalesce((SELECT array_agg(DISTINCT oc) FROM pg_catalog.pg_index x, unnest(x.indclass::oid[]) oc
    WHERE x.indrelid = c.oid), '{}'),
  coalesce((SELECT array_agg(r.oid) FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid), '{}'),
  coalesce((SELECT array_agg(p.oid) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid), '{}'),
  coalesce((SELECT array_agg(ad.oid) FROM pg_catalog.pg_attrdef ad
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    WHERE ad.adrelid = c.oid AND (a.attgenerated::text = 'v' OR $2)), '{}'),
  coalesce((SELECT array_agg(k.oid) FROM pg_catalog.pg_constraint k
    WHERE k.conrelid = c.oid AND k.contype = 'c' AND $2), '{}'),
  CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY ($1::oid[])`

func (rc *reacher) relations(oids []uint32) error {
	// Write targets first, with their defaults and CHECK constraints.
	var targets, others []uint32
	for _, o := range oids {
		if rc.targets[o] {
			targets = append(targets, o)
		} else {
			others = append(others, o)
		}
	}
	for _, batch := range []struct {
		oids   []uint32
		target bool
	}{{targets, true}, {others, false}} {
		if len(batch.oids) == 0 {
			continue
		}
		if err := rc.relationBatch(batch.oids, batch.target); err != nil {
			return err
		}
	}
	return nil
}

func (rc *reacher) relationBatch(oids []uint32, target bool) error {
	rows, err := rc.query(relationsReachQuery, oids, target)
	if err != nil {
		return fmt.Errorf("follow the relations a statement reads: %w", err)
	}
	type deps struct {
		class string
		oids  []uint32
		label string
	}
	var later []deps
	type viewDef struct{ what, def string }
	var views []viewDef
	for rows.Next() {
		var oid uint32
		var nsp, name, kind string
		var rls bool
		var colTypes, children, opclasses, rules, policies, attrdefs, checks []uint32
		var def *string
		if err := rows.Scan(&oid, &nsp, &name, &kind, &rls, &colTypes, &children, &opclasses, &rules, &policies, &attrdefs, &checks, &def); err != nil {
			rows.Close()
			return fmt.Errorf("follow the relations a statement reads: %w", err)
		}
		qname := displayName(nsp, name)
		what := "table " + qname
		switch kind {
		case "v":
			what = "view " + qname
		case "m":
			what = "materialized view " + qname
		case "f":
			rc.flag(Untrusted{Kind: "foreign table", Name: qname, Detail: "reading it runs its foreign data wrapper's code"})
		case "p":
			what = "partitioned table " + qname
		}
		if def != nil {
			views = append(views, viewDef{what, *def})
		}
		if rls {
			rc.flag(Untrusted{Kind: "row-level security", Name: qname, Detail: "its policies depend on the role"})
		}
		for _, t := range colTypes {
			rc.push(classType, t, "a column of "+what, viaPlan)
		}
		for _, c := range children {
			rc.push(classRelation, c, "a child of "+what, viaCall)
		}
		for _, c := range opclasses {
			rc.push(classOpclass, c, "an index of "+what, viaPlan)
		}
		later = append(later,
			deps{"pg_catalog.pg_rewrite", rules, what},
			deps{"pg_catalog.pg_policy", policies, "a policy of " + what},
			deps{"pg_catalog.pg_attrdef", attrdefs, "a column default of " + what},
			deps{"pg_catalog.pg_constraint", checks, "a CHECK constraint of " + what})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("follow the relations a statement reads: %w", err)
	}
	for _, d := range later {
		if err := rc.dependencies(d.class, d.oids, d.label, viaCall); err != nil {
			return err
		}
	}
	// pg_depend leaves out pinned (built-in) objects: a view's built-in
	// functions are read from its definition.
	for _, v := range views {
		refs, err := sqlfacts.Code(v.def)
		if err != nil {
			rc.flag(Untrusted{Kind: "relation", Name: v.what, Detail: "its definition could not be parsed", PlanTime: true})
			continue
		}
		if err := rc.names(refs, v.what); err != nil {
			return err
		}
	}
	return nil
}

const dependenciesQuery = `SELECT DISTINCT d.refclassid::regclass::text, d.refobjid
FROM pg_catalog.pg_depend d
WHERE d.classid = $1::regclass AND d.objid = ANY ($2::oid[]) AND d.deptype = 'n'
  AND d.refclassid IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_proc'::regclass,
                       'pg_catalog.pg_operator'::regclass, 'pg_catalog.pg_type'::regclass)`

// dependencies follows what PostgreSQL recorded that the objects (a view's
// rewrite rule, a policy, a default, a constraint) use.
func (rc *reacher) dependencies(class string, oids []uint32, label string, via int) error {
	if len(oids) == 0 {
		return nil
	}
	rows, err := rc.query(dependenciesQuery, class, oids)
	if err != nil {
		return fmt.Errorf("read the dependencies of %s in pg_depend: %w", label, err)
	}
	defer rows.Close()
	for rows.Next() {
		var refClass string
		var ref uint32
		if err := rows.Scan(&refClass, &ref); err != nil {
			return fmt.Errorf("read the dependencies of %s in pg_depend: %w", label, err)
		}
		switch refClass {
		case "pg_class":
			rc.push(classRelation, ref, label, viaCall)
		case "pg_proc":
			rc.push(classFunction, ref, label, via)
		case "pg_operator":
			rc.push(classOperator, ref, label, viaPlan)
		case "pg_type":
			rc.push(classType, ref, label, viaPlan)
		}
	}
	return rows.Err()
}

const typesReachQuery = `SELECT t.oid, n.nspname, t.typname, t.typtype::text,
  ARRAY[t.typinput::oid, t.typoutput::oid, t.typreceive::oid, t.typsend::oid, t.typmodin::oid, t.typmodout::oid],
  t.typbasetype, t.typelem,
  coalesce((SELECT array_agg(a.atttypid) FROM pg_catalog.pg_attribute a
    WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '{}'),
  coalesce((SELECT array_agg(k.oid) FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid), '{}'),
  coalesce((SELECT ARRAY[r.rngsubtype] FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid), '{}'),
  coalesce((SELECT ARRAY[r.rngcanonical::oid, r.rngsubdiff::oid] FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid), '{}'),
  coalesce((SELECT array_agg(oc.oid) FROM pg_catalog.pg_opclass oc WHERE oc.opcintype = t.oid AND oc.opcdefault), '{}'),
  coalesce((SELECT array_agg(c.castfunc) FROM pg_catalog.pg_cast c
    WHERE c.oid >= 16384 AND c.castfunc <> 0 AND (c.castsource = t.oid OR c.casttarget = t.oid)), '{}')
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.oid = ANY ($1::oid[])`

// subscriptQuery reads pg_type.typsubscript (PostgreSQL 14+).
const subscriptQuery = `SELECT coalesce(array_agg(t.typsubscript::oid), '{}') FROM pg_catalog.pg_type t
WHERE t.oid = ANY ($1::oid[]) AND t.typsubscript <> 0`

func (rc *reacher) types(oids []uint32) error {
	rows, err := rc.query(typesReachQuery, oids)
	if err != nil {
		return fmt.Errorf("follow the types a statement uses: %w", err)
	}
	var constraints []uint32
	for rows.Next() {
		var oid, base, elem uint32
		var nsp, name, typtype string
		var io, members, checks, subtypes, rangeFns, opclasses, casts []uint32
		if err := rows.Scan(&oid, &nsp, &name, &typtype, &io, &base, &elem, &members, &checks, &subtypes, &rangeFns, &opclasses, &casts); err != nil {
			rows.Close()
			return fmt.Errorf("follow the types a statement uses: %w", err)
		}
		what := "type " + displayName(nsp, name)
		if typtype == "d" {
			what = "domain " + displayName(nsp, name)
		}
		for _, f := range io {
			rc.push(classFunction, f, "input/output of "+what, viaPlan)
		}
		rc.push(classType, base, what, viaPlan)
		rc.push(classType, elem, what, viaPlan)
		for _, m := range members {
			rc.push(classType, m, what, viaPlan)
		}
		for _, s := range subtypes {
			rc.push(classType, s, what, viaPlan)
		}
		for _, f := range rangeFns {
			rc.push(classFunction, f, what, viaPlan)
		}
		for _, c := range opclasses {
			rc.push(classOpclass, c, "the default operator class of "+what, viaPlan)
		}
		for _, f := range casts {
			rc.push(classFunction, f, "a cast of "+what, viaPlan)
		}
		if len(checks) > 0 {
			constraints = append(constraints, checks...)
			for _, k := range checks {
				rc.label[objKey{'k', k}] = "the CHECK of " + what
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("follow the types a statement uses: %w", err)
	}
	for _, k := range constraints {
		if err := rc.dependencies("pg_catalog.pg_constraint", []uint32{k}, rc.label[objKey{'k', k}], viaExec); err != nil {
			return err
		}
	}
	if rc.version == 0 {
		if err := rc.conn.QueryRow(rc.ctx, Marker+"SELECT pg_catalog.current_setting('server_version_num')::int", pgx.QueryExecModeExec).Scan(&rc.version); err != nil {
			return fmt.Errorf("read the server version: %w", err)
		}
	}
	if rc.version >= 140000 {
		var subs []uint32
		if err := rc.conn.QueryRow(rc.ctx, Marker+subscriptQuery, pgx.QueryExecModeExec, oids).Scan(&subs); err != nil {
			return fmt.Errorf("read the subscript handlers of types: %w", err)
		}
		for _, f := range subs {
			rc.push(classFunction, f, "a subscript handler", viaPlan)
		}
	}
	return nil
}

// opclassesReachQuery lists the members added to an operator class's family
// by a user or an extension (built-in members are built-in code).
const opclassesReachQuery = `SELECT 'o', m.amopopr FROM pg_catalog.pg_opclass oc
JOIN pg_catalog.pg_amop m ON m.amopfamily = oc.opcfamily
WHERE oc.oid = ANY ($1::oid[]) AND m.oid >= 16384
UNION
SELECT 'f', p.amproc::oid FROM pg_catalog.pg_opclass oc
JOIN pg_catalog.pg_amproc p ON p.amprocfamily = oc.opcfamily
WHERE oc.oid = ANY ($1::oid[]) AND p.oid >= 16384`

func (rc *reacher) opclasses(oids []uint32) error {
	rows, err := rc.query(opclassesReachQuery, oids)
	if err != nil {
		return fmt.Errorf("follow the operator classes of types and indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var oid uint32
		if err := rows.Scan(&kind, &oid); err != nil {
			return fmt.Errorf("follow the operator classes of types and indexes: %w", err)
		}
		if kind == "o" {
			rc.push(classOperator, oid, "an operator class", viaPlan)
		} else {
			rc.push(classFunction, oid, "an operator class", viaPlan)
		}
	}
	return rows.Err()
}

const operatorsReachQuery = `SELECT o.oid, n.nspname, o.oprname, o.oprcode::oid, o.oprrest::oid, o.oprjoin::oid
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE o.oid = ANY ($1::oid[])`

func (rc *reacher) operators(oids []uint32) error {
	rows, err := rc.query(operatorsReachQuery, oids)
	if err != nil {
		return fmt.Errorf("follow the operators a statement uses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid, code, rest, join uint32
		var nsp, name string
		if err := rows.Scan(&oid, &nsp, &name, &code, &rest, &join); err != nil {
			return fmt.Errorf("follow the operators a statement uses: %w", err)
		}
		if oid < firstNormalObjectID {
			// A built-in operator runs built-in functions, none volatile
			// (checked by TestBuiltinOperatorsAreSafe).
			continue
		}
		label := "operator " + displayIdent(nsp) + "." + name
		for _, f := range []uint32{code, rest, join} {
			rc.push(classFunction, f, label, viaPlan)
		}
	}
	return rows.Err()
}

const functionsReachQuery = `SELECT p.oid, n.nspname, p.proname, p.provolatile::text, p.prokind::text, l.lanname,
  coalesce((SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e' LIMIT 1), ''),
  coalesce((SELECT ARRAY[a.aggtransfn::oid, a.aggfinalfn::oid, a.aggcombinefn::oid, a.aggserialfn::oid,
      a.aggdeserialfn::oid, a.aggmtransfn::oid, a.aggminvtransfn::oid, a.aggmfinalfn::oid]
    FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid), '{}'),
  CASE WHEN l.lanname = 'internal' AND p.oid >= 16384 THEN (SELECT max(b.provolatile::text) FROM pg_catalog.pg_proc b
    WHERE b.oid < 16384 AND b.prolang = p.prolang AND b.prosrc = p.prosrc) END
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE p.oid = ANY ($1::oid[])`

var volatilityWord = map[string]string{"i": "IMMUTABLE", "s": "STABLE", "v": "VOLATILE"}

func (rc *reacher) functions(oids []uint32) error {
	rows, err := rc.query(functionsReachQuery, oids)
	if err != nil {
		return fmt.Errorf("read the functions a statement may run from pg_proc: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var nsp, name, vol, kind, lang, ext string
		var support []uint32
		var internalVol *string
		if err := rows.Scan(&oid, &nsp, &name, &vol, &kind, &lang, &ext, &support, &internalVol); err != nil {
			return fmt.Errorf("read the functions a statement may run from pg_proc: %w", err)
		}
		k := objKey{classFunction, oid}
		qname := displayName(nsp, name)
		what := "function"
		if kind == "a" {
			what = "aggregate"
		}
		trusted, why := rc.trustFunction(oid, nsp, name, vol, lang, ext)
		if !trusted && internalVol != nil && *internalVol != "v" && vol != "v" {
			// LANGUAGE internal runs a built-in C function by name (range
			// and multirange constructors are made so): trusted like that
			// built-in, whose own marking is PostgreSQL's.
			trusted = true
		}
		if kind == "a" {
			for _, f := range support {
				rc.push(classFunction, f, "aggregate "+qname, viaExec)
			}
		}
		if trusted {
			continue
		}
		via := rc.via[k]
		planTime := via == viaPlan || (via == viaCall && vol != "v" && kind != "a")
		detail := why
		if l := rc.label[k]; l != "" {
			detail += "; through " + l
		}
		u := Untrusted{Kind: what, Name: qname, Detail: detail, PlanTime: planTime}
		if oid >= firstNormalObjectID {
			u.Function = qname
		}
		rc.flag(u)
	}
	return rows.Err()
}

// trustFunction decides whether a function is trusted, and if not says why.
func (rc *reacher) trustFunction(oid uint32, nsp, name, vol, lang, ext string) (bool, string) {
	if rc.trusted[nsp+"."+name] || rc.trusted[name] {
		return true, ""
	}
	builtin := oid < firstNormalObjectID && (nsp == "pg_catalog" || nsp == "information_schema")
	switch {
	case builtin && deniedBuiltins[name]:
		return false, "reads a relation named by its argument"
	case builtin && vol == "v" && !(nsp == "pg_catalog" && harmlessVolatile[name]):
		return false, "a VOLATILE built-in"
	case builtin:
		return true, ""
	case ext != "" && trustedExtensions[ext] && vol != "v" && (lang == "c" || lang == "internal"):
		return true, ""
	case ext != "":
		return false, fmt.Sprintf("of extension %s, declared %s", ext, volatilityWord[vol])
	}
	return false, "user code, declared " + volatilityWord[vol]
}
