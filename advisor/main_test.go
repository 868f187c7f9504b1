package advisor

import (
	"os"
	"testing"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestMain runs the package's tests and stops the throwaway PostgreSQL that
// recorders and integration tests start on first use. It is the package's
// only TestMain: add nothing here that one test file alone needs.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
