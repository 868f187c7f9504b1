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
	refs, err := ColumnRefs(sql)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, r := range refs {
		if !seen[r.Column] {
			seen[r.Column] = true
			out = append(out, r.Column)
		}
	}
	sort.Strings(out)
	return out, nil
}

// QualifiedColumn is one column reference as written: Qualifier is the
// relation name or alias before the column (r in r.rating; empty when
// unqualified), Schema the schema before that when written (shop.reviews.rating).
type QualifiedColumn struct {
	Schema    string
	Qualifier string
	Column    string
}

// ColumnRefs returns every column reference of the first statement of sql,
// each distinct reference once, in the order of the text's parse tree
// (sorted by qualifier, then column); ErrStar when it reads * or t.*. For a
// join it lets a caller tell which relation's columns a statement reads: a
// qualified reference names its relation, an unqualified one belongs to
// whichever relation has that column (or is an output alias).
func ColumnRefs(sql string) ([]QualifiedColumn, error) {
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
	seen := map[QualifiedColumn]bool{}
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
					} else if names := stringList(fields); len(names) == len(fields) && len(names) <= 3 {
						q := QualifiedColumn{Column: names[len(names)-1]}
						if len(names) >= 2 {
							q.Qualifier = names[len(names)-2]
						}
						if len(names) == 3 {
							q.Schema = names[0]
						}
						seen[q] = true
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
	out := make([]QualifiedColumn, 0, len(seen))
	for q := range seen {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		if a.Qualifier != b.Qualifier {
			return a.Qualifier < b.Qualifier
		}
		return a.Column < b.Column
	})
	return out, nil
}
