package whatif

import "github.com/pgadvisor/pgadvisor/whatif/record"

// The types the index advisor records in a snapshot are defined in package
// record, a leaf below pgstat, so that pgstat.Snapshot holds them typed (an
// import of whatif there would be a cycle: whatif reads snapshots). whatif
// produces and reads them, and its callers know them by these names: they
// are aliases, the same types, not copies.
type (
	Key           = record.Key
	Candidate     = record.Candidate
	Options       = record.Options
	Result        = record.Result
	StatementCost = record.StatementCost
	CandidateCost = record.CandidateCost
	Evaluation    = record.Evaluation
	Measured      = record.Measured
	PartitionStep = record.PartitionStep

	Representative      = record.Representative
	RepresentativeValue = record.RepresentativeValue
)
