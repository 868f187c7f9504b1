package advisor

import (
	"crypto/sha256"
	"encoding/hex"
)

// linkFixes gives every finding with fix SQL its fix's identity (FixID):
// findings about different statements that one fix serves (one index for
// three statements) carry the same FixID, so a report lists the fix once
// and names every finding it serves. The identity is a hash of the
// whitespace-normalised SQL: the same fix has the same FixID in every run,
// which the nightly report uses to follow advice over time.
func linkFixes(p *Processing) {
	for i := range p.Findings {
		if key := FixKey(p.Findings[i].Fix); key != "" {
			p.Findings[i].FixID = FixID(key)
		}
	}
}

// FixID is the stable identity of a fix key: "fix-" and 10 hex digits of its SHA-256.
func FixID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "fix-" + hex.EncodeToString(sum[:5])
}
