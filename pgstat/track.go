package pgstat

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgadvisor/pgadvisor/explain"
)

// Settings of pg_stat_statements a session turns off to stop tracking its
// own statements: with track = none nothing is tracked (utility statements
// included); track_utility = off is belt and braces.
const (
	settingTrack        = "pg_stat_statements.track"
	settingTrackUtility = "pg_stat_statements.track_utility"
)

// setSession sets session settings through explain.SetConfigSQL (one fixed
// text for all of pgadvisor's settings). create says whether names the server
// does not know are set anyway (as placeholders) or skipped.
func setSession(ctx context.Context, pc *pgconn.PgConn, names, values []string, create bool) error {
	if len(names) == 0 {
		return nil
	}
	params := [][]byte{[]byte(textArray(names)), []byte(textArray(values)), []byte("false"), []byte(strconv.FormatBool(create)), []byte("true")}
	return pc.ExecParams(ctx, explain.SetConfigSQL, params, nil, nil, nil).Read().Err
}

// textArray is the text form of a text[] holding values.
func textArray(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return "{" + strings.Join(q, ",") + "}"
}

// untrackSession stops pg_stat_statements from tracking the session's own
// statements where the role may: a superuser, or on PostgreSQL 15+ a role
// granted SET on pg_stat_statements.track (has_parameter_privilege). It is
// the first statement of the session and holds no constants, so for such a
// role pg_stat_statements gets no entry at all (a constant would make it
// store a normalised text while parsing). Elsewhere it does nothing, and the
// audit keeps its footprint small with fixed texts instead (see explain).
// The server's own value is still what the snapshot records: the settings
// reader reads reset_val of settings the session has changed. A server error
// leaves the session tracked and is not returned.
func untrackSession(ctx context.Context, pc *pgconn.PgConn) error {
	var names []string
	switch {
	case pc.ParameterStatus("is_superuser") == "on":
		names = []string{settingTrackUtility, settingTrack}
	case serverMajor(pc) >= 15:
		rr := pc.ExecParams(ctx, Marker+" SELECT pg_catalog.has_parameter_privilege($1, $3), pg_catalog.has_parameter_privilege($2, $3)",
			[][]byte{[]byte(settingTrack), []byte(settingTrackUtility), []byte("SET")}, nil, nil, nil).Read()
		if rr.Err != nil {
			return serverErrorIgnored(rr.Err)
		}
		if len(rr.Rows) != 1 || len(rr.Rows[0]) != 2 || string(rr.Rows[0][0]) != "t" {
			return nil
		}
		if string(rr.Rows[0][1]) == "t" {
			names = append(names, settingTrackUtility)
		}
		names = append(names, settingTrack)
	default:
		return nil
	}
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = "none"
		if n == settingTrackUtility {
			values[i] = "off"
		}
	}
	return serverErrorIgnored(setSession(ctx, pc, names, values, false))
}

// serverMajor is the server's major version from the server_version the
// server reports at startup ("15.18 (Debian …)" → 15), 0 when unknown.
func serverMajor(pc *pgconn.PgConn) int {
	v := pc.ParameterStatus("server_version")
	end := strings.IndexFunc(v, func(c rune) bool { return c < '0' || c > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, _ := strconv.Atoi(v)
	return n
}

// serverErrorIgnored drops an error the server raised (the session then
// simply stays tracked) and keeps the others (a lost connection, a
// cancelled context).
func serverErrorIgnored(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return nil
	}
	return err
}
