package sqlfacts

import (
	"errors"
	"reflect"
	"testing"
)

func TestColumnNames(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want []string
		err  error
	}{
		{`SELECT o.total, created_at FROM orders o WHERE o.customer_id = $1 ORDER BY created_at DESC LIMIT 20`, []string{"created_at", "customer_id", "total"}, nil},
		{`SELECT count(*), sum(amount) FROM payment WHERE lower(ref) = $1 GROUP BY staff_id`, []string{"amount", "ref", "staff_id"}, nil},
		{`SELECT * FROM orders WHERE id = 1`, nil, ErrStar},
		{`SELECT o.* FROM orders o WHERE id = 1`, nil, ErrStar},
		{`SELECT 1`, []string{}, nil},
	} {
		got, err := ColumnNames(c.sql)
		if !errors.Is(err, c.err) || (c.err == nil && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%s: got %v, %v; want %v, %v", c.sql, got, err, c.want, c.err)
		}
	}
}
