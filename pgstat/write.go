package pgstat

import (
	"encoding/json"
	"fmt"
	"io"
)

// Write encodes the snapshot as indented JSON, the form Read decodes. Times
// are written as RFC 3339 in UTC, so a written and re-read snapshot is equal
// to the original.
func (s *Snapshot) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}
