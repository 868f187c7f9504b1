package advisor

import (
	"flag"
	"os"
	"testing"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestMain runs the package's tests and stops the throwaway PostgreSQL that
// recorders and integration tests start on first use. It is the package's
// only TestMain: add nothing here that one test file alone needs.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// record makes the recorders (TestRecord*) rebuild their golden inputs in
// testdata/ from the throwaway PostgreSQL; without it they skip and the golden
// tests run offline. Shared by every recorder of the package.
var record = flag.Bool("record", false, "record golden cases in testdata/ from the throwaway PostgreSQL")
