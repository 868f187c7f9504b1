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
