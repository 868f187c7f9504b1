package record

import (
	"math"

	"github.com/pgadvisor/pgadvisor/internal/num"
)

// SizeDedup says how a btree candidate's size estimate accounts for
// deduplication (PostgreSQL 13+ stores equal keys of a leaf page once, as a
// posting list of heap TIDs), which hypopg_relation_size does not model.
type SizeDedup struct {
	// HypoPGBytes is the size before the correction: hypopg_relation_size,
	// or the rough EstimatedSize of an unverified candidate, bytes.
	HypoPGBytes int64 `json:"hypopg_bytes"`
	// Rows is the number of index entries the estimate assumes.
	Rows float64 `json:"rows"`
	// DistinctKeys is the estimated number of distinct key tuples.
	DistinctKeys float64 `json:"distinct_keys,omitempty"`
	// Source is where DistinctKeys came from: "sample" (a TABLESAMPLE of
	// the key columns, distinct count scaled like ANALYZE's) or "pg_stats"
	// (the product of the key columns' n_distinct, capped at the rows).
	Source string `json:"source,omitempty"`
	// Disabled, when set, says why PostgreSQL does not deduplicate this
	// index (INCLUDE columns, numeric, jsonb, float, a container type, a
	// nondeterministic collation); the HypoPG size stands.
	Disabled string `json:"disabled,omitempty"`
}

// Summary is the sentence for a finding's evidence.
func (d *SizeDedup) Summary(size int64) string {
	if d == nil {
		return ""
	}
	if d.Disabled != "" {
		return "btree deduplication does not apply (" + d.Disabled + ")"
	}
	if size >= d.HypoPGBytes {
		return "btree deduplication saves little: ~" + num.Compact(d.DistinctKeys) + " distinct keys for " + num.Compact(d.Rows) + " rows (" + d.Source + ")"
	}
	return "accounts for btree deduplication: ~" + num.Compact(d.DistinctKeys) + " distinct keys for " + num.Compact(d.Rows) +
		" rows (" + d.Source + "); without it " + num.Bytes(float64(d.HypoPGBytes))
}

// maxPostingBytes is the largest posting-list tuple CREATE INDEX builds:
// nbtsort.c caps it at 10% of BLCKSZ (MAXALIGN'd down) less a line pointer.
const maxPostingBytes = 816 - 4

// DedupRatio is the size of a deduplicated btree relative to a plain one
// for rows entries with distinct distinct key tuples of keyWidth bytes
// (the keys' summed average width), assuming the duplicates are spread
// evenly over the distinct keys. A plain entry is an 8-byte tuple header
// and the key, MAXALIGN'd, plus a 4-byte line pointer; a posting-list
// tuple stores the key once and 6 bytes per heap TID, up to
// maxPostingBytes. It is 1 when nothing is known.
func DedupRatio(rows, distinct float64, keyWidth int) float64 {
	if rows <= 0 || distinct <= 0 || distinct >= rows {
		return 1
	}
	if keyWidth <= 0 {
		keyWidth = 8
	}
	head := float64((8+keyWidth+7)/8*8) + 4 // a plain entry
	perPosting := math.Floor((maxPostingBytes - float64((8+keyWidth+7)/8*8)) / 6)
	if perPosting < 2 {
		return 1 // a key too wide to deduplicate much
	}
	group := func(n float64) float64 { // bytes of n entries with one key
		if n <= 1 {
			return n * head
		}
		tuples := math.Ceil(n / perPosting)
		return math.Min(n*head, tuples*(head+4)+6*n) // +4: the TID array's MAXALIGN padding on average
	}
	g := rows / distinct
	var bytes float64
	if g < 2 {
		pairs := rows - distinct // keys seen twice; the rest once
		bytes = (distinct-pairs)*group(1) + pairs*group(2)
	} else {
		bytes = distinct * group(g)
	}
	return bytes / (rows * head)
}

// DedupBytes is the size of a deduplicated btree of rows entries with
// distinct distinct key tuples of keyWidth bytes, built by CREATE INDEX:
// the leaf bytes of DedupRatio on pages of 8,152 usable bytes filled to
// 90% (the leaf fillfactor of a build), plus 1% of internal pages and the
// metapage.
func DedupBytes(rows, distinct float64, keyWidth int) int64 {
	if keyWidth <= 0 {
		keyWidth = 8
	}
	head := float64((8+keyWidth+7)/8*8) + 4
	leaf := DedupRatio(rows, distinct, keyWidth) * rows * head
	pages := math.Ceil(leaf / (8152 * 0.9))
	return num.Int64((math.Ceil(pages*1.01) + 1) * 8192)
}
