package pgstat

import "github.com/pgadvisor/pgadvisor/sqlfacts"

// QuoteIdent is sqlfacts.QuoteIdent: an identifier quoted when it must be.
// The quoting lives in sqlfacts so that the packages below pgstat (the
// what-if record among them) quote the same way; this name stays for
// pgstat's many callers.
func QuoteIdent(s string) string { return sqlfacts.QuoteIdent(s) }

// QuoteQualified is sqlfacts.QuoteQualified: schema.name with each part
// quoted where needed.
func QuoteQualified(schema, name string) string { return sqlfacts.QuoteQualified(schema, name) }
