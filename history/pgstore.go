package history

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// PGSchema is the schema --history postgres://… creates on first use.
const PGSchema = "pgadvisor_history"

// PGStore keeps the runs of one target in a PostgreSQL database of the
// team's: PGSchema.runs, one row per run, snapshot and report gzip-compressed.
type PGStore struct {
	conn   *pgx.Conn
	target string
}

// Identity is what tells two databases apart: the database's name and the
// server's start time (pg_postmaster_start_time, to the microsecond: two
// servers do not share it). A zero Started matches any start time.
type Identity struct {
	Database string
	Started  time.Time
}

// same says whether a and b are the same database.
func (a Identity) same(b Identity) bool {
	return a.Database == b.Database && (a.Started.IsZero() || b.Started.IsZero() || a.Started.Equal(b.Started))
}

// IdentityOf reads the identity of the database conn is connected to.
func IdentityOf(ctx context.Context, conn *pgx.Conn) (Identity, error) {
	var id Identity
	err := conn.QueryRow(ctx, `/* pgadvisor */ SELECT current_database(), pg_postmaster_start_time()`).Scan(&id.Database, &id.Started)
	if err != nil {
		return id, fmt.Errorf("identify the database: %w", err)
	}
	return id, nil
}

// OpenPG connects to the history database, refuses it when it is the
// audited one (audited: its Identity), and creates PGSchema on first use.
func OpenPG(ctx context.Context, dsn, target string, audited Identity) (*PGStore, error) {
	if !ValidTarget(target) {
		return nil, fmt.Errorf("target name %q: use letters, digits, '.', '_' and '-' (--target)", target)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to the --history database: %w", err)
	}
	id, err := IdentityOf(ctx, conn)
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	if id.same(audited) {
		conn.Close(ctx)
		return nil, fmt.Errorf("--history names the audited database %s: pgadvisor never writes to the database it audits; keep the history in another database", id.Database)
	}
	if err := createSchema(ctx, conn); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return &PGStore{conn: conn, target: target}, nil
}

// createSchema creates PGSchema and its table when missing. A fleet opens
// the history from several targets at once: CREATE … IF NOT EXISTS is not
// safe against itself (two sessions both find the schema missing, one
// fails on the catalog's unique index), so the creation holds a
// transaction-scoped advisory lock.
func createSchema(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create the history schema %s: %w", PGSchema, err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit it does nothing
	for _, sql := range []string{
		`SELECT pg_advisory_xact_lock(hashtext('` + PGSchema + `'))`,
		`CREATE SCHEMA IF NOT EXISTS ` + PGSchema,
		`CREATE TABLE IF NOT EXISTS ` + PGSchema + `.runs (
			target text NOT NULL,
			collected_at timestamptz NOT NULL,
			snapshot bytea NOT NULL,
			report bytea NOT NULL,
			PRIMARY KEY (target, collected_at))`,
	} {
		if _, err := tx.Exec(ctx, "/* pgadvisor */ "+sql); err != nil {
			return fmt.Errorf("create the history schema %s: %w", PGSchema, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("create the history schema %s: %w", PGSchema, err)
	}
	return nil
}

// Close closes the connection.
func (s *PGStore) Close(ctx context.Context) error { return s.conn.Close(ctx) }

// Latest loads the newest run of the target.
func (s *PGStore) Latest(ctx context.Context) (*Previous, error) {
	var snapZ, repZ []byte
	err := s.conn.QueryRow(ctx, `/* pgadvisor */ SELECT snapshot, report FROM `+PGSchema+`.runs WHERE target = $1 ORDER BY collected_at DESC LIMIT 1`, s.target).Scan(&snapZ, &repZ)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	data, err := gunzip(snapZ)
	if err != nil {
		return nil, err
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	p := &Previous{Snapshot: snap}
	if data, err = gunzip(repZ); err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("history report: %w", err)
	}
	p.Report = &r
	return p, nil
}

// Reports loads every run's report, oldest first.
func (s *PGStore) Reports(ctx context.Context) ([]*Report, error) {
	rows, err := s.conn.Query(ctx, `/* pgadvisor */ SELECT report FROM `+PGSchema+`.runs WHERE target = $1 ORDER BY collected_at`, s.target)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	var out []*Report
	for rows.Next() {
		var z []byte
		if err := rows.Scan(&z); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		data, err := gunzip(z)
		if err != nil {
			continue
		}
		var r Report
		if json.Unmarshal(data, &r) == nil {
			out = append(out, &r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return out, nil
}

// Save stores a run.
func (s *PGStore) Save(ctx context.Context, snap *pgstat.Snapshot, r *Report) (string, error) {
	var sb bytes.Buffer
	if err := snap.Write(&sb); err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	stored := *r
	stored.Runs = nil
	rb, err := json.Marshal(&stored)
	if err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	snapZ, err := gzipBytes(sb.Bytes())
	if err != nil {
		return "", err
	}
	repZ, err := gzipBytes(rb)
	if err != nil {
		return "", err
	}
	at := snap.CollectedAt.UTC()
	if _, err := s.conn.Exec(ctx, `/* pgadvisor */ INSERT INTO `+PGSchema+`.runs (target, collected_at, snapshot, report) VALUES ($1, $2, $3, $4)`, s.target, at, snapZ, repZ); err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	return fmt.Sprintf("%s.runs (target %s, %s)", PGSchema, s.target, at.Format(time.RFC3339)), nil
}

// Prune removes the runs k does not keep; the newest is always kept.
func (s *PGStore) Prune(ctx context.Context, k Keep, now time.Time) (int, error) {
	q := `/* pgadvisor */ DELETE FROM ` + PGSchema + `.runs r WHERE target = $1
		AND collected_at < (SELECT max(collected_at) FROM ` + PGSchema + `.runs WHERE target = $1)
		AND (($2 > 0 AND collected_at < $3) OR ($4 > 0 AND collected_at < (
			SELECT min(collected_at) FROM (SELECT collected_at FROM ` + PGSchema + `.runs WHERE target = $1 ORDER BY collected_at DESC LIMIT $4) last)))`
	tag, err := s.conn.Exec(ctx, q, s.target, int64(k.Age), now.Add(-k.Age), k.Runs)
	if err != nil {
		return 0, fmt.Errorf("history prune: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func gzipBytes(data []byte) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return b.Bytes(), nil
}

func gunzip(z []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return data, nil
}
