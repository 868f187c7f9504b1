package sqlfacts

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// typedLiteralTypes are the type names pg_stat_statements leaves in front of
// a normalised typed literal (`interval '1 day'` becomes `interval $1`),
// lower case, words separated by one space.
var typedLiteralTypes = map[string]bool{
	"interval": true, "date": true, "time": true, "timetz": true, "timestamp": true, "timestamptz": true,
	"timestamp with time zone": true, "timestamp without time zone": true,
	"time with time zone": true, "time without time zone": true,
	"json": true, "jsonb": true, "uuid": true, "inet": true, "cidr": true, "macaddr": true,
	"numeric": true, "decimal": true, "int": true, "integer": true, "int2": true, "int4": true, "int8": true,
	"smallint": true, "bigint": true, "real": true, "float4": true, "float8": true, "double precision": true,
	"bool": true, "boolean": true, "text": true, "varchar": true, "char": true, "bytea": true,
	"money": true, "point": true, "tsquery": true, "tsvector": true, "xml": true, "regclass": true,
}

// CastTypedParams rewrites the normalised typed literals of a
// pg_stat_statements text (`interval $1`, `timestamptz $2`, `date $3`,
// which do not parse) into casts (`$1::interval`), so that the statement
// can be parsed, prepared and planned. Comments and strings are left alone
// (the text is tokenised by PostgreSQL's scanner). The text comes back
// unchanged when there is nothing to rewrite or it cannot be scanned.
// Results are memoised by text (see analyzeCache).
func CastTypedParams(sql string) string {
	if out, ok := castCache.get(sql); ok {
		return out
	}
	out := castTypedParams(sql)
	castCache.put(sql, out)
	return out
}

func castTypedParams(sql string) string {
	if !mayHaveTypedLiteral(sql) {
		return sql
	}
	return scanTypedParams(sql)
}

// typedLiteralEnds are the last words of typedLiteralTypes.
var typedLiteralEnds = func() map[string]bool {
	m := map[string]bool{}
	for t := range typedLiteralTypes {
		f := strings.Fields(t)
		m[f[len(f)-1]] = true
	}
	return m
}()

// mayHaveTypedLiteral is false when no $n of sql follows, across ASCII
// white space only, a word that ends a type name: then scanTypedParams has
// nothing to rewrite, and the scan (a cgo call per statement) is skipped.
// It is true whenever it cannot tell (a non-ASCII byte before $n).
func mayHaveTypedLiteral(sql string) bool {
	for i := 0; i+1 < len(sql); i++ {
		if sql[i] != '$' || sql[i+1] < '0' || sql[i+1] > '9' {
			continue
		}
		j := i
		for j > 0 && (sql[j-1] == ' ' || sql[j-1] == '\t' || sql[j-1] == '\n' || sql[j-1] == '\r' || sql[j-1] == '\f' || sql[j-1] == '\v') {
			j--
		}
		end := j
		for j > 0 && (isWordByte(sql[j-1]) || sql[j-1] >= 0x80) {
			if sql[j-1] >= 0x80 {
				return true
			}
			j--
		}
		if typedLiteralEnds[strings.ToLower(sql[j:end])] {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func scanTypedParams(sql string) string {
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return sql
	}
	toks := scan.GetTokens()
	var b strings.Builder
	last := 0
	for i, t := range toks {
		if t.Token != pg_query.Token_PARAM {
			continue
		}
		// The longest run of up to four tokens right before $n, separated
		// only by white space, that names a type.
		start := -1
		for n := 4; n >= 1 && start < 0; n-- {
			j := i - n
			if j < 0 {
				continue
			}
			words := make([]string, 0, n)
			adjacent := true
			for k := j; k < i; k++ {
				if strings.TrimSpace(sql[toks[k].End:toks[k+1].Start]) != "" {
					adjacent = false
					break
				}
				words = append(words, strings.ToLower(sql[toks[k].Start:toks[k].End]))
			}
			if adjacent && typedLiteralTypes[strings.Join(words, " ")] && int(toks[j].Start) >= last {
				start = j
			}
		}
		if start < 0 {
			continue
		}
		typ := sql[toks[start].Start:toks[i-1].End]
		b.WriteString(sql[last:toks[start].Start])
		b.WriteString(sql[t.Start:t.End] + "::" + typ)
		last = int(t.End)
	}
	if last == 0 {
		return sql
	}
	b.WriteString(sql[last:])
	return b.String()
}
