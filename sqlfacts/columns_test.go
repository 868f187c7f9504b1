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

func TestColumnRefs(t *testing.T) {
	got, err := ColumnRefs(`SELECT p.id, p.name, count(r.id), avg(shop.r.rating), note FROM shop.products p LEFT JOIN shop.reviews r ON r.product_id = p.id WHERE p.id = $1 GROUP BY p.id`)
	if err != nil {
		t.Fatal(err)
	}
	want := []QualifiedColumn{
		{Column: "note"},
		{Qualifier: "p", Column: "id"}, {Qualifier: "p", Column: "name"},
		{Qualifier: "r", Column: "id"}, {Qualifier: "r", Column: "product_id"},
		{Schema: "shop", Qualifier: "r", Column: "rating"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := ColumnRefs(`SELECT r.* FROM shop.reviews r JOIN shop.products p ON p.id = r.product_id`); !errors.Is(err, ErrStar) {
		t.Errorf("r.*: err %v, want ErrStar", err)
	}
}
