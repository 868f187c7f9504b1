// Command pgadvisor tells why a PostgreSQL-backed API is slow and what to
// change. This package maps flags to options and errors to exit codes; the
// work happens in the audit, advisor, explain, pgstat and report packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
