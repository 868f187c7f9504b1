package explain

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Causes of a Failure.
const (
	CauseLock       = "lock"       // the statement waited --lock-timeout for a relation
	CauseSkipped    = "skipped"    // not sent: a relation it touches was found locked before
	CausePermission = "permission" // the role may not read (or write) a relation of the statement
	CauseOther      = "error"      // any other planning failure
)

// Failure is one statement an audit phase could not plan, or did not send.
type Failure struct {
	Phase   string // "explain", "what-if"
	QueryID string
	Cause   string // CauseLock, CauseSkipped, CausePermission, CauseOther
	// Object is the schema-qualified relation the failure is about (the
	// locked or denied one); empty for CauseOther.
	Object  string
	Message string // why, one line
	Fix     string // a real GRANT or flag; empty when there is none
	// Privilege and Role are set for CausePermission on a relation: the
	// privilege Role lacks on Object (SELECT, INSERT, UPDATE, DELETE).
	Privilege string
	Role      string
}

// Lock is a relation found locked by another session, skipped for the rest
// of the audit.
type Lock struct {
	Relation string // schema-qualified table (the table of a locked index)
	Detail   string // who holds it: "pid 123 holds AccessExclusiveLock on shop.orders"
}

// Guard carries what one audit learns about its relations from one
// statement to the next, across the explain and what-if phases, so that a
// locked table costs one --lock-timeout and not one per statement:
//
//   - after a lock timeout (SQLSTATE 55P03) it looks in pg_locks for the
//     session holding (or queued for) a conflicting lock on a relation of the
//     statement, and skips every later statement touching that relation
//     (directly, through a view, or as a partition), recording it as skipped;
//   - after "permission denied" (42501) it finds which relations of the
//     statement the role may not read and names the GRANT that fixes it.
//
// Every failure is kept (Failures) for the caller to report. A Guard is
// meant for one connection at a time. The zero value is not usable: use NewGuard.
type Guard struct {
	mu         sync.Mutex
	versionNum int
	locked     map[uint32]Lock     // relation OID → why it is skipped
	resolved   map[string][]relOID // statement relation key → the relations it touches
	failures   []Failure
	lockWaits  int
	role       string // quote_ident(current_user), once read
}

type relOID struct {
	oid    uint32
	name   string // schema-qualified, quoted where needed
	direct bool   // named in the statement (not reached through a view or as a partition)
}

// NewGuard returns a Guard for a server of that version (server_version_num;
// 0 when unknown).
func NewGuard(versionNum int) *Guard {
	return &Guard{versionNum: versionNum, locked: map[uint32]Lock{}, resolved: map[string][]relOID{}}
}

// SetServerVersion sets server_version_num once it is known (it chooses the
// predefined roles a fix may name).
func (g *Guard) SetServerVersion(versionNum int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.versionNum = versionNum
}

// Failures returns the failures recorded so far, in order.
func (g *Guard) Failures() []Failure {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Failure(nil), g.failures...)
}

// LockWaits is the number of lock timeouts met so far: each one cost a full --lock-timeout.
func (g *Guard) LockWaits() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lockWaits
}

// Locked returns the relations skipped for the rest of the audit.
func (g *Guard) Locked() []Lock {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Lock
	for _, l := range g.locked {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Relation < out[j].Relation })
	return out
}

// Run is the package's Run for statement queryID in phase, through the
// guard: a statement touching a relation found locked before is not sent
// (the Skipped field of the Result says why), and a failure is diagnosed and recorded.
func (g *Guard) Run(ctx context.Context, conn *pgx.Conn, phase, queryID, query string, facts *sqlfacts.Facts, opts Options) Result {
	if reason := g.SkipStatement(ctx, conn, facts); reason != "" {
		g.record(Failure{Phase: phase, QueryID: queryID, Cause: CauseSkipped, Object: reason, Message: "not planned: " + g.lockDetail(reason)})
		return Result{QueryID: queryID, Query: query, Skipped: g.lockDetail(reason)}
	}
	res := Run(ctx, conn, query, facts, opts)
	res.QueryID = queryID
	if res.Error != "" {
		g.Failed(ctx, conn, phase, queryID, facts, res)
	}
	return res
}

// SkipStatement returns the relation (schema-qualified) for which a statement
// with these facts must not be sent, or "".
func (g *Guard) SkipStatement(ctx context.Context, conn *pgx.Conn, facts *sqlfacts.Facts) string {
	g.mu.Lock()
	none := len(g.locked) == 0
	g.mu.Unlock()
	if none || facts == nil {
		return ""
	}
	rels, err := g.resolve(ctx, conn, facts.Relations)
	if err != nil {
		return ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range rels {
		if l, ok := g.locked[r.oid]; ok {
			return l.Relation
		}
	}
	return ""
}

// SkipTable is SkipStatement for a table named by schema and name (an index
// candidate's table).
func (g *Guard) SkipTable(ctx context.Context, conn *pgx.Conn, schema, table string) string {
	return g.SkipStatement(ctx, conn, &sqlfacts.Facts{Relations: []sqlfacts.Relation{{Schema: schema, Name: table}}})
}

// lockDetail is the skip reason of a locked relation.
func (g *Guard) lockDetail(relation string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.locked {
		if l.Relation == relation {
			return l.Relation + " is locked (" + l.Detail + "): skipped after the first lock timeout on it"
		}
	}
	return relation + " is locked: skipped after the first lock timeout on it"
}

// Failed diagnoses and records a failed Result of statement queryID. A lock
// timeout marks the relation found locked in pg_locks as skipped.
func (g *Guard) Failed(ctx context.Context, conn *pgx.Conn, phase, queryID string, facts *sqlfacts.Facts, res Result) {
	f := Failure{Phase: phase, QueryID: queryID, Cause: CauseOther, Message: res.Error}
	switch res.SQLState {
	case sqlstateLockNotAvailable:
		g.mu.Lock()
		g.lockWaits++
		g.mu.Unlock()
		f.Cause = CauseLock
		f.Object, f.Message = g.findLock(ctx, conn, facts)
		if f.Object == "" {
			f.Message = res.Error
		}
	case sqlstateInsufficientPrivs:
		g.permissionFailures(ctx, conn, f, facts, res)
		return
	}
	g.record(f)
}

// NoteLockTimeout records a lock timeout met outside Run (creating a
// hypothetical index on a table) and marks the locked relation skipped.
func (g *Guard) NoteLockTimeout(ctx context.Context, conn *pgx.Conn, phase, schema, table, message string) {
	g.Failed(ctx, conn, phase, "", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Relations: []sqlfacts.Relation{{Schema: schema, Name: table}}},
		Result{Error: message, SQLState: sqlstateLockNotAvailable})
}

func (g *Guard) record(f Failure) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures = append(g.failures, f)
}

// resolveQuery resolves relation names (with the session's search_path) to
// the relations they touch: themselves, the relations views read
// (recursively) and partitions and inheritance children.
const resolveQuery = Marker + `WITH RECURSIVE edge(parent, child) AS (
  SELECT rw.ev_class, d.refobjid FROM pg_catalog.pg_rewrite rw
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> rw.ev_class
  UNION ALL
  SELECT inhparent, inhrelid FROM pg_catalog.pg_inherits
), rel(oid, direct) AS (
  SELECT r.oid, true FROM (
    SELECT pg_catalog.to_regclass(CASE WHEN s = '' THEN pg_catalog.quote_ident(n)
      ELSE pg_catalog.quote_ident(s) || '.' || pg_catalog.quote_ident(n) END)::oid AS oid
    FROM unnest($1::text[], $2::text[]) AS x(s, n)) r WHERE r.oid IS NOT NULL
  UNION
  SELECT e.child, false FROM rel JOIN edge e ON e.parent = rel.oid
)
SELECT DISTINCT ON (c.oid) c.oid, pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(c.relname), rel.direct
FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.oid JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY c.oid, rel.direct DESC`

// resolve returns the relations a statement naming rels touches; results
// are cached for the audit.
func (g *Guard) resolve(ctx context.Context, conn *pgx.Conn, rels []sqlfacts.Relation) ([]relOID, error) {
	keys := make([]string, len(rels))
	schemas := make([]string, len(rels))
	names := make([]string, len(rels))
	for i, r := range rels {
		schemas[i], names[i] = r.Schema, r.Name
		keys[i] = r.Schema + "\x00" + r.Name
	}
	sort.Strings(keys)
	key := strings.Join(keys, "\x01")
	g.mu.Lock()
	cached, ok := g.resolved[key]
	g.mu.Unlock()
	if ok {
		return cached, nil
	}
	if len(rels) == 0 {
		return nil, nil
	}
	rows, err := conn.Query(ctx, resolveQuery, pgx.QueryExecModeExec, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("resolve relations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (relOID, error) {
		var x relOID
		err := r.Scan(&x.oid, &x.name, &x.direct)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("resolve relations: %w", err)
	}
	g.mu.Lock()
	g.resolved[key] = out
	g.mu.Unlock()
	return out, nil
}

// locksQuery finds the sessions holding, or queued for, a lock in one of the
// modes $2 on the relations $1 or on their indexes, in this database.
const locksQuery = Marker + `SELECT COALESCE(i.indrelid, l.relation)::oid,
  pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(c.relname), l.pid, l.mode, l.granted,
  pg_catalog.quote_ident(tns.nspname) || '.' || pg_catalog.quote_ident(t.relname)
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = l.relation
JOIN pg_catalog.pg_class t ON t.oid = COALESCE(i.indrelid, l.relation)
JOIN pg_catalog.pg_namespace tns ON tns.oid = t.relnamespace
WHERE l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND l.mode = ANY($2::text[]) AND (l.relation = ANY($1::oid[]) OR i.indrelid = ANY($1::oid[]))
ORDER BY l.granted DESC, l.pid`

// conflictingModes are the lock modes that make a statement of these facts
// wait while it is planned: a plain read takes AccessShareLock, a write
// RowExclusiveLock and SELECT … FOR UPDATE RowShareLock.
func conflictingModes(facts *sqlfacts.Facts) []string {
	if facts != nil && facts.Kind == sqlfacts.KindSelect && !facts.Locking && !facts.ModifyingCTE {
		return []string{"AccessExclusiveLock"}
	}
	return []string{"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
}

// findLock looks for the lock a statement waited for and marks its relation
// skipped; it returns the relation and a message naming the holder, or ""
// when no conflicting lock is visible any more (then nothing is skipped).
func (g *Guard) findLock(ctx context.Context, conn *pgx.Conn, facts *sqlfacts.Facts) (relation, message string) {
	if facts == nil || conn == nil || conn.IsClosed() || ctx.Err() != nil {
		return "", ""
	}
	rels, err := g.resolve(ctx, conn, facts.Relations)
	if err != nil || len(rels) == 0 {
		return "", ""
	}
	oids := make([]uint32, len(rels))
	names := map[uint32]string{}
	for i, r := range rels {
		oids[i] = r.oid
		names[r.oid] = r.name
	}
	found, err := g.markLocked(ctx, conn, oids, conflictingModes(facts), names)
	if err != nil || len(found) == 0 {
		return "", ""
	}
	l := g.locked[found[0]]
	return l.Relation, fmt.Sprintf("lock timeout on %s (%s): skipped for the rest of the audit", l.Relation, l.Detail)
}

// MarkLocked looks in pg_locks for sessions holding, or queued for, an
// ACCESS EXCLUSIVE lock on the relations oids or their indexes, marks those
// relations skipped for the rest of the audit and returns their OIDs (of
// the tables, for a locked index). The catalog readers call it after a lock
// timeout, so that the explain and what-if phases do not wait again.
func (g *Guard) MarkLocked(ctx context.Context, conn *pgx.Conn, phase string, oids []uint32) ([]uint32, error) {
	g.mu.Lock()
	g.lockWaits++
	g.mu.Unlock()
	marked, err := g.markLocked(ctx, conn, oids, []string{"AccessExclusiveLock"}, nil)
	for _, oid := range marked {
		l, _ := g.IsLocked(oid)
		g.record(Failure{Phase: phase, Cause: CauseLock, Object: l.Relation,
			Message: fmt.Sprintf("lock timeout on %s (%s): skipped for the rest of the audit", l.Relation, l.Detail)})
	}
	return marked, err
}

// IsLocked returns the lock of a relation marked skipped.
func (g *Guard) IsLocked(oid uint32) (Lock, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.locked[oid]
	return l, ok
}

func (g *Guard) markLocked(ctx context.Context, conn *pgx.Conn, oids []uint32, modes []string, names map[uint32]string) ([]uint32, error) {
	rows, err := conn.Query(ctx, locksQuery, pgx.QueryExecModeExec, oids, modes)
	if err != nil {
		return nil, fmt.Errorf("read pg_locks: %w", err)
	}
	type holder struct {
		oid        uint32
		lockedName string
		pid        int
		mode       string
		granted    bool
		table      string
	}
	var found []holder
	for rows.Next() {
		var h holder
		if err := rows.Scan(&h.oid, &h.lockedName, &h.pid, &h.mode, &h.granted, &h.table); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read pg_locks: %w", err)
		}
		if n := names[h.oid]; n != "" {
			h.table = n
		}
		found = append(found, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pg_locks: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []uint32
	for _, h := range found {
		if _, done := g.locked[h.oid]; done {
			continue
		}
		detail := fmt.Sprintf("pid %d holds %s on %s", h.pid, h.mode, h.lockedName)
		if !h.granted {
			detail = fmt.Sprintf("pid %d waits for %s on %s, and later sessions queue behind it", h.pid, h.mode, h.lockedName)
		}
		g.locked[h.oid] = Lock{Relation: h.table, Detail: detail}
		out = append(out, h.oid)
	}
	for _, h := range found {
		if !slices.Contains(out, h.oid) {
			out = append(out, h.oid)
		}
	}
	return out, nil
}

// privilegesQuery lists the relations named in a statement that the current
// role lacks SELECT on, or the write privilege $3 on the target $4.
const privilegesQuery = Marker + `SELECT pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(c.relname),
  NOT pg_catalog.has_table_privilege(c.oid, 'SELECT') AND NOT pg_catalog.has_any_column_privilege(c.oid, 'SELECT'),
  CASE WHEN $2 = '' THEN false
    ELSE c.oid = pg_catalog.to_regclass(CASE WHEN $3 = '' THEN pg_catalog.quote_ident($4)
      ELSE pg_catalog.quote_ident($3) || '.' || pg_catalog.quote_ident($4) END)::oid
      AND NOT pg_catalog.has_table_privilege(c.oid, $2) END,
  pg_catalog.quote_ident(current_user)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
WHERE c.oid = ANY($1::oid[])
ORDER BY 1`

var deniedObject = regexp.MustCompile(`permission denied for (table|view|materialized view|sequence|foreign table|schema|function|procedure) ([^ ;:]+)`)

// permissionFailures records a permission failure per relation the role
// lacks a privilege on, each with its GRANT.
func (g *Guard) permissionFailures(ctx context.Context, conn *pgx.Conn, f Failure, facts *sqlfacts.Facts, res Result) {
	f.Cause = CausePermission
	role := g.roleName(ctx, conn)
	var n int
	if facts != nil && conn != nil && !conn.IsClosed() && ctx.Err() == nil {
		if rels, err := g.resolve(ctx, conn, facts.Relations); err == nil && len(rels) > 0 {
			var oids []uint32
			for _, r := range rels {
				if r.direct {
					oids = append(oids, r.oid)
				}
			}
			var priv, schema, table string
			if facts.Target != nil {
				schema, table = facts.Target.Schema, facts.Target.Name
				switch facts.Kind {
				case sqlfacts.KindInsert:
					priv = "INSERT"
				case sqlfacts.KindUpdate:
					priv = "UPDATE"
				case sqlfacts.KindDelete:
					priv = "DELETE"
				}
			}
			rows, err := conn.Query(ctx, privilegesQuery, pgx.QueryExecModeExec, oids, priv, schema, table)
			if err == nil {
				for rows.Next() {
					var name string
					var noSelect, noWrite bool
					if rows.Scan(&name, &noSelect, &noWrite, &role) != nil {
						break
					}
					if noSelect {
						g.record(g.denied(f, name, "SELECT", role))
						n++
					}
					if noWrite {
						g.record(g.denied(f, name, priv, role))
						n++
					}
				}
				rows.Close()
			}
		}
	}
	if n > 0 {
		return
	}
	// The denied object is not one the statement names (a schema, a
	// function, a view's base table): take it from the server's message.
	if m := deniedObject.FindStringSubmatch(res.Error); m != nil {
		switch m[1] {
		case "schema":
			f.Object = "schema " + m[2]
			f.Message = "permission denied for schema " + m[2]
			f.Fix = "GRANT USAGE ON SCHEMA " + m[2] + " TO " + role
		case "function", "procedure":
			f.Object = m[1] + " " + m[2]
			f.Message = "permission denied for " + m[1] + " " + m[2]
			f.Fix = "GRANT EXECUTE ON FUNCTION " + m[2] + " TO " + role
		default:
			g.record(g.denied(f, m[2], "SELECT", role))
			return
		}
	}
	g.record(f)
}

// roleName is the session's current_user as an identifier, for GRANTs.
func (g *Guard) roleName(ctx context.Context, conn *pgx.Conn) string {
	g.mu.Lock()
	role := g.role
	g.mu.Unlock()
	if role != "" {
		return role
	}
	if conn == nil || conn.IsClosed() || ctx.Err() != nil ||
		conn.QueryRow(ctx, Marker+"SELECT pg_catalog.quote_ident(current_user)", pgx.QueryExecModeExec).Scan(&role) != nil {
		return "<role>"
	}
	g.mu.Lock()
	g.role = role
	g.mu.Unlock()
	return role
}

// denied is the failure for a missing privilege on relation.
func (g *Guard) denied(f Failure, relation, privilege, role string) Failure {
	f.Object, f.Privilege, f.Role = relation, privilege, role
	f.Message = fmt.Sprintf("%s may not %s %s: its statements cannot be planned (EXPLAIN checks the privileges of the statement it plans)",
		role, map[string]string{"SELECT": "read", "INSERT": "insert into", "UPDATE": "update", "DELETE": "delete from"}[privilege], relation)
	f.Fix = GrantFix(privilege, []string{relation}, role, g.versionNum)
	return f
}

// GrantFix is the GRANT giving role privilege on relations, with the
// predefined role that grants it on every table on servers of version 14
// and later (pg_read_all_data, pg_write_all_data).
func GrantFix(privilege string, relations []string, role string, versionNum int) string {
	fix := "GRANT " + privilege + " ON " + strings.Join(relations, ", ") + " TO " + role
	if versionNum >= 140000 {
		if privilege == "SELECT" {
			fix += ", or GRANT pg_read_all_data TO " + role
		} else {
			fix += ", or GRANT pg_write_all_data TO " + role
		}
	}
	return fix
}
