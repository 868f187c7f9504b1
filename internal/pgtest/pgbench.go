package pgtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/internal/cluster"
)

// PgbenchPath returns the pgbench of the installed PostgreSQL (next to
// initdb; PostgreSQL's contrib packages install it). A missing pgbench
// skips the test locally and fails it under CI=true.
func PgbenchPath(t testing.TB) string {
	t.Helper()
	if c := Shared(t); c != nil {
		if p := filepath.Join(c.BinDir, "pgbench"); fileExists(p) {
			return p
		}
	}
	if bin, err := cluster.FindBinDir(); err == nil {
		if p := filepath.Join(bin, "pgbench"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	Unavailable(t, "pgbench is not installed (it comes with the PostgreSQL server packages)")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// PgbenchInit runs pgbench -i -s scale on the database of dsn (a libpq
// connection string, as DB returns), quietly, with unlogged tables (the
// throwaway cluster needs no WAL of them: it saves time on a shared
// machine and changes nothing the workload's locks do); it fails the test
// on error.
func PgbenchInit(t testing.TB, dsn string, scale int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"-i", "-q", "-s", strconv.Itoa(scale), "--unlogged-tables", dsn}
	out, err := exec.CommandContext(ctx, PgbenchPath(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench -i -s %d: %v\n%s", scale, err, out)
	}
}

// Pgbench is a pgbench run in the background.
type Pgbench struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	err  error
	once sync.Once
}

// StartPgbench starts pgbench with args (e.g. "-b", "tpcb-like", "-c", "8",
// "-T", "20") against dsn and returns at once. The run is stopped (SIGINT,
// then killed) when the test ends if it is still going.
func StartPgbench(t testing.TB, dsn string, args ...string) *Pgbench {
	t.Helper()
	p := &Pgbench{done: make(chan struct{})}
	p.cmd = exec.Command(PgbenchPath(t), append(append([]string{}, args...), dsn)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start pgbench: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop() })
	return p
}

// Wait waits for pgbench to end and returns its output and error.
func (p *Pgbench) Wait() (string, error) {
	<-p.done
	return p.out.String(), p.err
}

// Running reports whether pgbench has not ended yet.
func (p *Pgbench) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop interrupts pgbench, kills it after 5 s if it has not ended,
// and returns its output.
func (p *Pgbench) Stop() string {
	p.once.Do(func() {
		if !p.Running() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	out, _ := p.Wait()
	return out
}
