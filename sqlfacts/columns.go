package sqlfacts

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// ErrStar is returned by ColumnNames for a statement that reads every
// column of a relation (SELECT *, t.*).
var ErrStar = errors.New("the statement reads * (every column)")

// ColumnNames returns the names of every column the first statement of sql
// references anywhere (select list, WHERE, ORDER BY, GROUP BY, function
// arguments), unqualified, sorted and each once; ErrStar when it reads *.
// For a statement over one table these are the columns an index needs,
// keys and INCLUDE columns together, for an index-only scan. A name may be
// an output alias (ORDER BY total_sum): the caller checks each against the
// table's columns.
func ColumnNames(sql string) ([]string, error) {
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var tree struct {
		Stmts []struct {
			Stmt any `json:"stmt"`
		} `json:"stmts"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, fmt.Errorf("decode parse tree: %w", err)
	}
	if len(tree.Stmts) == 0 {
		return nil, errors.New("no statement")
	}
	seen := map[string]bool{}
	star := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if cr, ok := x["ColumnRef"].(map[string]any); ok {
				fields, _ := cr["fields"].([]any)
				if len(fields) > 0 {
					last, _ := fields[len(fields)-1].(map[string]any)
					if _, ok := last["A_Star"]; ok {
						star = true
					} else if names := stringList(fields[len(fields)-1:]); len(names) == 1 {
						seen[names[0]] = true
					}
				}
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(tree.Stmts[0].Stmt)
	if star {
		return nil, ErrStar
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
