package advisor

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

func TestServeByLongerIndex(t *testing.T) {
	create := func(name, table, keys string) *Fix {
		return &Fix{Summary: "create " + name, SQL: []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS " + name + " ON shop." + table + " USING btree (" + keys + ")"}}
	}
	existing := []pgstat.Index{{Schema: "shop", Table: "orders", Name: "orders_status_created_at_idx", Valid: true,
		Definition: "CREATE INDEX orders_status_created_at_idx ON shop.orders USING btree (status, created_at)"}}
	p := &Processing{
		Indexes: existing,
		Findings: []Finding{
			{Rule: "non-sargable", QueryID: "1", Fix: create("customers_lower_email_idx", "customers", "(lower(email))")},
			{Rule: "missing-index", QueryID: "1", Fix: create("customers_lower_email_created_at_idx", "customers", "(lower(email)), created_at")},
			{Rule: "seq-scan", QueryID: "2", Fix: create("orders_status_idx", "orders", "status")},
			{Rule: "seq-scan", QueryID: "3", Fix: create("orders_created_at_idx", "orders", "created_at")},
			{Rule: "fk-missing-index", Fix: create("items_order_id_idx", "items", "order_id")},
			{Rule: "missing-index", QueryID: "4", Fix: create("items_order_id_product_id_idx", "items", "order_id, product_id")},
			{Rule: "missing-index", QueryID: "5", Fix: create("items_order_id_product_id_qty_idx", "items", "order_id, product_id, qty")},
			{Rule: "seq-scan", QueryID: "6", Fix: create("lines_order_id_idx", "lines", "order_id")},
		},
	}
	serveByLongerIndex(p)
	sql := func(i int) string {
		if p.Findings[i].Fix.SQL == nil {
			return ""
		}
		return p.Findings[i].Fix.SQL[0]
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"the expression index takes the composite's fix", sql(0) == sql(1) && p.Findings[0].Evidence["served_by_proposed_index"] == "customers_lower_email_created_at_idx"},
		{"the composite keeps its own", p.Findings[1].Fix.Summary == "create customers_lower_email_created_at_idx"},
		{"an index an existing one leads with is not proposed", sql(2) == "" && p.Findings[2].Fix.Advisory && p.Findings[2].Evidence["served_by_existing_index"] == "shop.orders_status_created_at_idx"},
		{"a second key of an existing index is not served by it", sql(3) != "" && !p.Findings[3].Fix.Advisory},
		{"a chain is served by its longest index", sql(4) == sql(6) && sql(5) == sql(6)},
		{"another table's index serves nothing here", sql(7) != "" && p.Findings[7].Evidence["served_by_proposed_index"] == nil},
	} {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, p.Findings)
		}
	}
}

// TestServeByLongerIndexPartialCovering checks the prefix processor on
// partial and covering proposals: a partial index is never served by (nor
// serves) a non-partial one, only one of the same predicate; a covering
// (a, b) INCLUDE (c) serves a proposed (a); a proposed (a) INCLUDE (c) is
// not served by an existing or proposed index lacking c.
func TestServeByLongerIndexPartialCovering(t *testing.T) {
	create := func(name, rest string) *Fix {
		return &Fix{Summary: "create " + name, SQL: []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS " + name + " ON shop.rentals USING btree " + rest}}
	}
	p := &Processing{
		Indexes: []pgstat.Index{
			{Schema: "shop", Table: "rentals", Name: "rentals_store_id_idx", Valid: true,
				Definition: "CREATE INDEX rentals_store_id_idx ON shop.rentals USING btree (store_id)"},
			{Schema: "shop", Table: "rentals", Name: "rentals_staff_id_open_idx", Valid: true,
				Definition: "CREATE INDEX rentals_staff_id_open_idx ON shop.rentals USING btree (staff_id, rental_date) WHERE (status = 'open'::text)"},
		},
		Findings: []Finding{
			{Rule: "missing-index", QueryID: "1", Fix: create("rentals_customer_id_idx", "(customer_id)")},
			{Rule: "missing-index", QueryID: "2", Fix: create("rentals_customer_id_rental_date_where_return_date_is_null_idx", "(customer_id, rental_date) WHERE return_date IS NULL")},
			{Rule: "missing-index", QueryID: "3", Fix: create("rentals_customer_id_where_return_date_is_null_idx", "(customer_id) WHERE return_date IS NULL")},
			{Rule: "missing-index", QueryID: "4", Fix: create("rentals_inventory_id_idx", "(inventory_id)")},
			{Rule: "missing-index", QueryID: "5", Fix: create("rentals_inventory_id_rental_date_incl_amount_idx", "(inventory_id, rental_date) INCLUDE (amount)")},
			{Rule: "missing-index", QueryID: "6", Fix: create("rentals_store_id_incl_amount_idx", "(store_id) INCLUDE (amount)")},
			{Rule: "missing-index", QueryID: "7", Fix: create("rentals_staff_id_where_status_open_idx", "(staff_id) WHERE status = 'open'")},
		},
	}
	serveByLongerIndex(p)
	sql := func(i int) string {
		if p.Findings[i].Fix.SQL == nil {
			return ""
		}
		return p.Findings[i].Fix.SQL[0]
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a non-partial index is not served by a partial one", sql(0) != "" && p.Findings[0].Evidence["served_by_proposed_index"] == nil},
		{"a partial index is served by a longer one of the same predicate",
			sql(2) == sql(1) && p.Findings[2].Evidence["served_by_proposed_index"] == "rentals_customer_id_rental_date_where_return_date_is_null_idx"},
		{"a covering index serves a prefix of its keys", sql(3) == sql(4)},
		{"an existing index without the INCLUDE column does not serve a covering one", sql(5) != "" && !p.Findings[5].Fix.Advisory},
		{"an existing partial index of the same predicate serves a partial one",
			sql(6) == "" && p.Findings[6].Evidence["served_by_existing_index"] == "shop.rentals_staff_id_open_idx"},
	} {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, p.Findings)
		}
	}
}
