// Package cluster starts throwaway PostgreSQL clusters from the installed
// binaries: initdb into a temporary directory, the socket in that directory,
// pg_stat_statements preloaded, fsync off; and hot standbys of them. It is
// what `pgadvisor demo` runs, and internal/pgtest wraps it for tests; it does
// not import package testing, so the release binary does not link it. It
// must never touch a cluster it did not create.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	BinDir  string // directory of initdb, pg_ctl, postgres
	Dir     string // temporary directory holding data/ and the socket
	DataDir string
	Port    int
	Major   int    // major version of the binaries, e.g. 15
	OSUser  string // OS user running the server ("" = current user)
	// Primary is the cluster this one streams from (StartStandby); nil for a primary.
	Primary *Cluster
	log     string
}

// Options tune Start.
type Options struct {
	// Settings are extra postgresql.conf lines, name → value.
	Settings map[string]string
}

// FindBinDir returns the directory of the newest installed PostgreSQL server
// binaries: pg_config --bindir, then PATH, then /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if fileExists(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries found (initdb not in pg_config --bindir, PATH or /usr/lib/postgresql/*/bin); install them with: make deps (or apt-get install postgresql postgresql-contrib)")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Start creates and starts a new cluster. Stop removes it.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{BinDir: bin}
	if out, err := exec.CommandContext(ctx, filepath.Join(bin, "postgres"), "--version").Output(); err == nil {
		// "postgres (PostgreSQL) 15.18 (Debian ...)"
		f := strings.Fields(string(out))
		if len(f) >= 3 {
			c.Major, _ = strconv.Atoi(strings.SplitN(f[2], ".", 2)[0])
		}
	}
	reapOrphans(bin)
	if err := c.makeDir(); err != nil {
		return nil, err
	}
	dir := c.Dir
	if out, err := c.command(ctx, "initdb", "-D", c.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(string(out), 5))
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.Port = port
	settings := map[string]string{
		"listen_addresses":         "''",
		"unix_socket_directories":  "'" + dir + "'",
		"port":                     strconv.Itoa(port),
		"fsync":                    "off",
		"synchronous_commit":       "off",
		"full_page_writes":         "off",
		"shared_preload_libraries": "'pg_stat_statements'",
		"pg_stat_statements.track": "all",
		"pg_stat_statements.max":   "5000",
		"track_io_timing":          "on",
		"max_connections":          "100",
		"shared_buffers":           "128MB",
		"max_wal_size":             "2GB",
		"checkpoint_timeout":       "30min",
		"autovacuum_naptime":       "10s",
		"logging_collector":        "off",
	}
	if fileExists(filepath.Join(filepath.Dir(bin), "lib", "pg_qualstats.so")) {
		// Loaded, but off unless a session or database turns it on
		// (pg_qualstats.enabled is a user setting): its sampling would
		// otherwise run under every test and benchmark arm.
		settings["shared_preload_libraries"] = "'pg_stat_statements,pg_qualstats'"
		settings["pg_qualstats.enabled"] = "off"
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	if err := c.appendConf("pgadvisor throwaway cluster", settings); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.pgctlStart(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// appendConf appends settings (name → value as written in postgresql.conf)
// to the cluster's postgresql.conf, in name order, under a comment.
func (c *Cluster) appendConf(comment string, settings map[string]string) error {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conf strings.Builder
	conf.WriteString("\n# " + comment + "\n")
	for _, k := range keys {
		fmt.Fprintf(&conf, "%s = %s\n", k, settings[k])
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	_, werr := f.WriteString(conf.String())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write postgresql.conf: %w", werr)
	}
	return nil
}

// pgctlStart starts the server with pg_ctl and waits until it accepts connections.
func (c *Cluster) pgctlStart(ctx context.Context) error {
	if out, err := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-l", c.log, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		logTail, _ := os.ReadFile(c.log)
		return fmt.Errorf("start PostgreSQL: %v: %s %s", err, lastLines(string(out), 3), lastLines(string(logTail), 5))
	}
	return nil
}

const (
	dirPrefix = "pgadvisor-pg-"
	ownerFile = "owner.pid"
)

// makeDir creates the cluster's temporary directory with its owner file and
// sets Dir, DataDir, the log path and OSUser (postgres when we are root:
// initdb and the server refuse to run as root). On error nothing is left.
func (c *Cluster) makeDir() error {
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	// The owner file lets a later Start stop this cluster if our process dies
	// without stopping it (a test binary killed by its timeout, say).
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("write owner file: %w", err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return errors.New("running as root and there is no 'postgres' OS user to run the throwaway cluster; create one (useradd postgres) or run as a non-root user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("chown cluster directory: %w", err)
		}
		c.OSUser = "postgres"
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("chmod cluster directory: %w", err)
	}
	c.Dir = dir
	c.DataDir = filepath.Join(dir, "data")
	c.log = filepath.Join(dir, "server.log")
	return nil
}

// reapOrphans stops and removes throwaway clusters whose owning process is
// gone. Only directories this package created (named by dirPrefix, holding an
// owner file) are touched.
func reapOrphans(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		orphan := &Cluster{BinDir: bin, Dir: dir, DataDir: filepath.Join(dir, "data")}
		if os.Geteuid() == 0 {
			orphan.OSUser = "postgres"
		}
		_ = orphan.Stop()
	}
}

// processAlive reports whether a process with that pid exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// command runs a server binary, as the postgres OS user when we are root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.BinDir, name)
	var cmd *exec.Cmd
	if c.OSUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.OSUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.Dir
	return cmd
}

// Stop shuts the server down and removes its directory.
func (c *Cluster) Stop() error {
	if c == nil || c.Dir == "" {
		return nil
	}
	var err error
	if fileExists(filepath.Join(c.DataDir, "postmaster.pid")) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, e := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-m", "immediate", "-w", "stop").CombinedOutput()
		cancel()
		if e != nil {
			err = fmt.Errorf("stop PostgreSQL: %v: %s", e, lastLines(string(out), 3))
		}
	}
	if e := os.RemoveAll(c.Dir); e != nil && err == nil {
		err = e
	}
	c.Dir = ""
	return err
}

// DSN returns a connection string for a database of the cluster.
func (c *Cluster) DSN(database string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.Dir, c.Port, database)
}

// LogFile is the server's log file.
func (c *Cluster) LogFile() string { return c.log }

// CreateDatabase creates a database with pg_stat_statements (and hypopg, when
// the package is installed) and returns its DSN.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	return CreateDatabase(ctx, c.DSN("postgres"), name)
}

// CreateDatabase creates a database on the server of adminDSN, installs
// pg_stat_statements and, where available, hypopg in it, and returns its DSN.
func CreateDatabase(ctx context.Context, adminDSN, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connect to create database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	cfg, err := pgx.ParseConfig(adminDSN)
	if err != nil {
		return "", err
	}
	cfg.Database = name
	dsn := withDatabase(adminDSN, name)
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", name, err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return "", fmt.Errorf("create extension pg_stat_statements: %w", err)
	}
	var hypo bool
	if err := db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg')").Scan(&hypo); err == nil && hypo {
		if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS hypopg"); err != nil {
			return "", fmt.Errorf("create extension hypopg: %w", err)
		}
	}
	return dsn, nil
}

// withDatabase returns dsn with its database replaced (keyword/value or URL form).
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		i := strings.Index(dsn[strings.Index(dsn, "//")+2:], "/")
		base := dsn
		query := ""
		if q := strings.Index(dsn, "?"); q >= 0 {
			base, query = dsn[:q], dsn[q:]
		}
		if i >= 0 {
			base = base[:strings.Index(dsn, "//")+2+i]
		}
		return base + "/" + name + query
	}
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if !strings.HasPrefix(f, "dbname=") {
			parts = append(parts, f)
		}
	}
	return strings.Join(append(parts, "dbname="+name), " ")
}

func freePort() (int, error) {
	// The cluster listens only on its socket, but the port number names the
	// socket file; pick one no TCP listener uses, to avoid confusing users.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// EnableQualstats creates pg_qualstats in database db (dsn) and turns its
// sampling on there for every execution (ALTER DATABASE … SET, through
// adminDSN): the cluster loads it, off, so other databases are not
// sampled. The audit of db then reads the values its workload ran with.
// It fails when pg_qualstats is not installed or not loaded.
func EnableQualstats(ctx context.Context, adminDSN, dsn, db string) error {
	for _, step := range []struct {
		dsn string
		sql []string
	}{
		{dsn, []string{"CREATE EXTENSION IF NOT EXISTS pg_qualstats", "SELECT count(*) FROM pg_qualstats"}},
		{adminDSN, []string{
			"ALTER DATABASE " + pgx.Identifier{db}.Sanitize() + " SET pg_qualstats.enabled = on",
			"ALTER DATABASE " + pgx.Identifier{db}.Sanitize() + " SET pg_qualstats.sample_rate = 1",
		}},
	} {
		conn, err := pgx.Connect(ctx, step.dsn)
		if err != nil {
			return fmt.Errorf("enable pg_qualstats: %w", err)
		}
		for _, q := range step.sql {
			if _, err := conn.Exec(ctx, q); err != nil {
				conn.Close(ctx)
				return fmt.Errorf("enable pg_qualstats: %s: %w", q, err)
			}
		}
		conn.Close(ctx)
	}
	return nil
}
