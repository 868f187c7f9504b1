package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// errAuditTimeout is the cause of the context of an audit that ran past --timeout.
var errAuditTimeout = errors.New("audit timeout")

// withAuditTimeout bounds ctx by d (0: no bound), with errAuditTimeout as cause.
func withAuditTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, errAuditTimeout)
}

// timedOut turns the error of an audit stopped by its --timeout into one
// that says so; other errors pass unchanged.
func timedOut(ctx context.Context, snap *pgstat.Snapshot, err error, d time.Duration) error {
	if d <= 0 || !errors.Is(context.Cause(ctx), errAuditTimeout) {
		return err
	}
	phase := "the audit"
	var ae *Error
	if errors.As(err, &ae) && ae.Phase != "" {
		phase = ae.Phase
	}
	msg := fmt.Sprintf("stopped after --timeout %s, during %s", d, phase)
	if snap != nil {
		msg += ": what was collected before is reported"
	}
	if err == nil {
		err = context.Cause(ctx)
	}
	return &Error{Phase: "timeout", Message: msg, Fix: "raise --timeout (0: no limit)", Err: err}
}

// maxQueryIDs is the number of queryids a Problem lists.
const maxQueryIDs = 10

// planGroup is the failures of one cause: one Problem.
type planGroup struct {
	first    explain.Failure
	queryIDs []string
	seen     map[string]bool
	phases   map[string]map[string]bool // phase → queryids
	waits    int                        // lock timeouts
	detail   string                     // the lock holder, for a lock group
}

func (g *planGroup) add(f explain.Failure) {
	if g.phases[f.Phase] == nil {
		g.phases[f.Phase] = map[string]bool{}
	}
	if f.QueryID != "" {
		g.phases[f.Phase][f.QueryID] = true
		if !g.seen[f.QueryID] {
			g.seen[f.QueryID] = true
			g.queryIDs = append(g.queryIDs, f.QueryID)
		}
	}
	switch f.Cause {
	case explain.CauseLock:
		g.waits++
		if g.waits == 1 {
			g.detail = f.Message
		}
	case explain.CauseSkipped:
		if g.detail == "" {
			g.detail = strings.TrimPrefix(f.Message, "not planned: ")
		}
	}
}

// groupFailures groups failures by cause: the relation for locks and skips,
// the relation and privilege for permissions, the message otherwise.
func groupFailures(failures []explain.Failure) []*planGroup {
	var order []*planGroup
	byKey := map[string]*planGroup{}
	for _, f := range failures {
		var key string
		switch f.Cause {
		case explain.CauseLock, explain.CauseSkipped:
			key = "lock\x00" + f.Object
		case explain.CausePermission:
			key = "permission\x00" + f.Object + "\x00" + f.Privilege + "\x00" + f.Fix
		default:
			key = "error\x00" + f.Message
		}
		g := byKey[key]
		if g == nil {
			g = &planGroup{first: f, seen: map[string]bool{}, phases: map[string]map[string]bool{}}
			byKey[key] = g
			order = append(order, g)
		}
		if f.Cause == explain.CauseLock && g.first.Cause != explain.CauseLock {
			g.first = f
		}
		g.add(f)
	}
	return order
}

// recordPlanFailures adds the plan failures the guard recorded to the
// snapshot's problems, one per cause.
func recordPlanFailures(snap *pgstat.Snapshot, guard *explain.Guard, opts Options) {
	if snap == nil || guard == nil {
		return
	}
	for _, g := range groupFailures(guard.Failures()) {
		snap.Problems = append(snap.Problems, g.problem(opts.LockTimeout))
	}
}

// problem is the group as one Problem.
func (g *planGroup) problem(lockTimeout time.Duration) pgstat.Problem {
	f := g.first
	p := pgstat.Problem{Phase: f.Phase, Severity: pgstat.SeverityWarning, Statements: len(g.queryIDs)}
	p.QueryIDs = g.queryIDs
	p.LockWaits = g.waits
	if len(p.QueryIDs) > maxQueryIDs {
		p.QueryIDs = p.QueryIDs[:maxQueryIDs]
	}
	if f.Object != "" {
		p.Objects = []string{f.Object}
	}
	statements := fmt.Sprintf("%d statement%s", len(g.queryIDs), plural(len(g.queryIDs)))
	switch f.Cause {
	case explain.CauseLock, explain.CauseSkipped:
		msg := g.detail
		if msg == "" {
			msg = "locked table " + f.Object + ": skipped for the rest of the audit"
		}
		msg += fmt.Sprintf("; waited --lock-timeout%s %d time%s in all", durationNote(lockTimeout), g.waits, plural(g.waits))
		if len(g.queryIDs) > 0 {
			msg += fmt.Sprintf("; %s not planned (%s), none sent after the first wait", statements, g.phaseList())
		}
		p.Message = msg + g.queryIDNote()
		p.Fix = "audit again once the lock is released, or raise --lock-timeout to wait for it"
	default:
		p.Message = fmt.Sprintf("%s; %s not planned (%s)", f.Message, statements, g.phaseList()) + g.queryIDNote()
		p.Fix = f.Fix
	}
	return p
}

func (g *planGroup) phaseList() string {
	var phases []string
	for ph, ids := range g.phases {
		if len(ids) == 0 {
			continue
		}
		phases = append(phases, fmt.Sprintf("%s: %d", ph, len(ids)))
	}
	sort.Strings(phases)
	return strings.Join(phases, ", ")
}

func (g *planGroup) queryIDNote() string {
	switch n := len(g.queryIDs); {
	case n == 0:
		return ""
	case n <= maxQueryIDs:
		return "; queryid " + strings.Join(g.queryIDs, ", ")
	default:
		return fmt.Sprintf("; queryid %s and %d more", strings.Join(g.queryIDs[:maxQueryIDs], ", "), n-maxQueryIDs)
	}
}

// nonePlanned is the problem of an explain phase that planned none of the
// tried statements: the audit is incomplete. Its fix is the GRANT of every
// relation the role could not read, else the fix of the commonest cause.
func nonePlanned(tried int, guard *explain.Guard, versionNum int) pgstat.Problem {
	p := pgstat.Problem{Phase: "explain", Statements: tried}
	failures := guard.Failures()
	var relations []string
	role := ""
	seen := map[string]bool{}
	for _, f := range failures {
		if f.Phase == "explain" && f.Cause == explain.CausePermission && f.Privilege == "SELECT" && !seen[f.Object] {
			seen[f.Object] = true
			relations = append(relations, f.Object)
			role = f.Role
		}
	}
	sort.Strings(relations)
	cause := ""
	if len(relations) > 0 {
		cause = role + " may not read " + strings.Join(relations, ", ")
		p.Fix = explain.GrantFix("SELECT", relations, role, versionNum)
		p.Objects = relations
	} else {
		var best *planGroup
		for _, g := range groupFailures(failures) {
			if n := len(g.phases["explain"]); n > 0 && (best == nil || n > len(best.phases["explain"])) {
				best = g
			}
		}
		if best != nil {
			pb := best.problem(0)
			cause, p.Fix = best.first.Message, pb.Fix
			if best.first.Cause == explain.CauseLock || best.first.Cause == explain.CauseSkipped {
				cause = best.detail
			}
		}
	}
	p.Message = fmt.Sprintf("none of the %d statements tried could be planned", tried)
	if cause != "" {
		p.Message += " (" + cause + ")"
	}
	p.Message += ": the plan-based findings are missing"
	return p
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func durationNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " (" + d.String() + ")"
}
