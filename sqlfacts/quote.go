package sqlfacts

import "strings"

// QuoteIdent quotes a PostgreSQL identifier when it must be quoted: when it is
// not all lower-case letters, digits and underscores, starts with a digit, or
// is a reserved keyword.
func QuoteIdent(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9', r == '$':
			if i == 0 {
				plain = false
			}
		default:
			plain = false
		}
	}
	if plain && !reserved[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QuoteQualified is schema.name with each part quoted where needed.
func QuoteQualified(schema, name string) string {
	if schema == "" {
		return QuoteIdent(name)
	}
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

// reserved are PostgreSQL's reserved key words (and those reserved as column or
// type names) that must be quoted as identifiers.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric authorization binary both case cast check
collate collation column concurrently constraint create cross current_catalog current_date current_role current_schema
current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign
freeze from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit
localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references
returning right select session_user similar some symmetric system_user table tablesample then to trailing true union unique user
using variadic verbose when where window with between bigint bit boolean char character coalesce dec decimal exists extract
float greatest grouping inout int integer interval json_array json_arrayagg json_object json_objectagg least national nchar none normalize
nullif numeric out overlay position precision real row setof smallint substring time timestamp treat trim values varchar xmlattributes
xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable`) {
		reserved[w] = true
	}
}

// QuoteLiteral is s as a standard SQL string constant: in single quotes,
// each quote doubled.
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
