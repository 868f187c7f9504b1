package sqlfacts

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"
)

func col(table, column string) ColumnRef { return ColumnRef{Table: table, Column: column} }

func scol(schema, table, column string) ColumnRef {
	return ColumnRef{Schema: schema, Table: table, Column: column}
}

func rel(name, alias string) Relation { return Relation{Name: name, Alias: alias} }

func boolPtr(b bool) *bool { return &b }

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want Facts
	}{
		{
			name: "simple equality",
			sql:  "SELECT id, email FROM users WHERE email = $1",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("users", "")},
				Predicates:   []Predicate{{Column: col("users", "email"), Operator: "=", Param: 1}},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("users", "email")},
			},
		},
		{
			name: "a window back from now with an interval parameter",
			sql:  "SELECT id FROM events WHERE ts > now() - $1::interval AND CURRENT_TIMESTAMP - $2 <= ts AND ts < now() + $3",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("events", "")},
				Predicates: []Predicate{
					{Column: col("events", "ts"), Operator: ">", NowMinusParam: 1},
					{Column: col("events", "ts"), Operator: ">=", NowMinusParam: 2},
					{Column: col("events", "ts"), Operator: "<"},
				},
				Functions: []string{"now"},
				Params:    3,
			},
		},
		{
			name: "two equalities, order by desc, limit",
			sql:  "SELECT * FROM orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20;",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("orders", "")},
				Predicates: []Predicate{
					{Column: col("orders", "customer_id"), Operator: "=", Param: 1},
					{Column: col("orders", "status"), Operator: "=", Param: 2},
				},
				OrderBy:      []OrderItem{{Column: col("orders", "created_at"), Desc: true}},
				Limit:        &Bound{Value: 20},
				SelectStar:   true,
				Params:       2,
				ParamColumns: map[int]ColumnRef{1: col("orders", "customer_id"), 2: col("orders", "status")},
			},
		},
		{
			name: "mixed directions, nulls, positional and alias keys",
			sql:  "SELECT created_at::date AS day, score FROM events ORDER BY score ASC NULLS FIRST, 1 DESC, lower(name) NULLS LAST LIMIT ALL OFFSET $1",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("events", "")},
				OrderBy: []OrderItem{
					{Column: col("events", "score"), NullsFirst: boolPtr(true)},
					{Column: col("events", "created_at"), Expression: "created_at::date", Desc: true},
					{Column: col("events", "name"), Expression: "lower(name)", NullsFirst: boolPtr(false)},
				},
				Limit:     &Bound{All: true},
				Offset:    &Bound{Param: 1},
				Functions: []string{"lower"},
				Params:    1,
			},
		},
		{
			name: "range",
			sql:  "SELECT id FROM events WHERE created_at >= $1 AND created_at < $2 AND 10 < score",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("events", "")},
				Predicates: []Predicate{
					{Column: col("events", "created_at"), Operator: ">=", Param: 1},
					{Column: col("events", "created_at"), Operator: "<", Param: 2},
					{Column: col("events", "score"), Operator: ">", Const: "10", HasConst: true},
				},
				Params:       2,
				ParamColumns: map[int]ColumnRef{1: col("events", "created_at"), 2: col("events", "created_at")},
			},
		},
		{
			name: "IN list and = ANY",
			sql:  "SELECT id FROM items WHERE kind IN ($1, $2, $3) AND id = ANY($4::bigint[]) AND state NOT IN ('a', 'b')",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("items", "")},
				Predicates: []Predicate{
					{Column: col("items", "kind"), Operator: "IN", Param: 1},
					{Column: col("items", "id"), Operator: "= ANY", Param: 4},
					{Column: col("items", "state"), Operator: "NOT IN", Const: "a, b", HasConst: true},
				},
				Params: 4,
				ParamColumns: map[int]ColumnRef{
					1: col("items", "kind"), 2: col("items", "kind"), 3: col("items", "kind"), 4: col("items", "id"),
				},
			},
		},
		{
			name: "IS NULL and IS NOT NULL",
			sql:  "SELECT id FROM users WHERE deleted_at IS NULL AND email IS NOT NULL",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("users", "")},
				Predicates: []Predicate{
					{Column: col("users", "deleted_at"), Operator: "IS NULL"},
					{Column: col("users", "email"), Operator: "IS NOT NULL"},
				},
			},
		},
		{
			name: "BETWEEN",
			sql:  "SELECT id FROM payments WHERE amount BETWEEN $1 AND $2 AND day BETWEEN '2024-01-01' AND '2024-02-01'",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("payments", "")},
				Predicates: []Predicate{
					{Column: col("payments", "amount"), Operator: "BETWEEN", Param: 1},
					{Column: col("payments", "day"), Operator: "BETWEEN", Const: "2024-01-01 AND 2024-02-01", HasConst: true},
				},
				Params:       2,
				ParamColumns: map[int]ColumnRef{1: col("payments", "amount"), 2: col("payments", "amount")},
			},
		},
		{
			name: "LIKE with leading wildcard, ILIKE, ~~",
			sql:  "SELECT id FROM products WHERE name LIKE '%shoe%' AND sku ILIKE $1 AND code ~~ 'AB%'",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("products", "")},
				Predicates: []Predicate{
					{Column: col("products", "name"), Operator: "LIKE", Const: "%shoe%", HasConst: true},
					{Column: col("products", "sku"), Operator: "ILIKE", Param: 1},
					{Column: col("products", "code"), Operator: "LIKE", Const: "AB%", HasConst: true},
				},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("products", "sku")},
			},
		},
		{
			name: "function-wrapped column",
			sql:  "SELECT id FROM users WHERE lower(email) = $1",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("users", "")},
				Predicates: []Predicate{
					{Column: col("users", "email"), Operator: "=", Param: 1, Function: "lower", Expression: "lower(email)"},
				},
				Functions: []string{"lower"},
				Params:    1,
			},
		},
		{
			name: "wrapped aliased column: expression unqualified for CREATE INDEX",
			sql:  `SELECT u.id FROM app.users u WHERE lower(u."Email") = $1 ORDER BY lower(u.name) DESC`,
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{{Schema: "app", Name: "users", Alias: "u"}},
				Predicates: []Predicate{
					{Column: scol("app", "users", "Email"), Operator: "=", Param: 1, Function: "lower", Expression: `lower("Email")`},
				},
				OrderBy:   []OrderItem{{Column: scol("app", "users", "name"), Expression: "lower(name)", Desc: true}},
				Functions: []string{"lower"},
				Params:    1,
			},
		},
		{
			name: "date_trunc and cast wrapped columns",
			sql:  "SELECT count(*) FROM orders o WHERE date_trunc('day', o.created_at) = $1 AND o.id::text = $2 AND CAST(o.total AS int) > 100",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("orders", "o")},
				Predicates: []Predicate{
					{Column: col("orders", "created_at"), Operator: "=", Param: 1, Function: "date_trunc", Expression: "date_trunc('day', created_at)"},
					{Column: col("orders", "id"), Operator: "=", Param: 2, Cast: "text", Expression: "id::text"},
					{Column: col("orders", "total"), Operator: ">", Const: "100", HasConst: true, Cast: "int4", Expression: "total::int"},
				},
				Aggregates:   true,
				Functions:    []string{"count", "date_trunc"},
				Params:       2,
				ParamColumns: map[int]ColumnRef{2: col("orders", "id")},
			},
		},
		{
			name: "OR",
			sql:  "SELECT id FROM tickets WHERE owner_id = $1 AND (status = $2 OR priority > $3)",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("tickets", "")},
				Predicates: []Predicate{
					{Column: col("tickets", "owner_id"), Operator: "=", Param: 1},
					{Column: col("tickets", "status"), Operator: "=", Param: 2, InOr: true},
					{Column: col("tickets", "priority"), Operator: ">", Param: 3, InOr: true},
				},
				Params: 3,
				ParamColumns: map[int]ColumnRef{
					1: col("tickets", "owner_id"), 2: col("tickets", "status"), 3: col("tickets", "priority"),
				},
			},
		},
		{
			name: "explicit JOIN ON with aliases",
			sql:  "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = $1 AND status = $2",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("orders", "o"), rel("customers", "c")},
				Predicates: []Predicate{
					{Column: col("customers", "id"), Operator: "=", Join: true},
					{Column: col("customers", "email"), Operator: "=", Param: 1},
					{Column: ColumnRef{Column: "status"}, Operator: "=", Param: 2},
				},
				Joins:        []Join{{Type: "inner", Left: col("customers", "id"), Right: col("orders", "customer_id")}},
				Params:       2,
				ParamColumns: map[int]ColumnRef{1: col("customers", "email"), 2: {Column: "status"}},
			},
		},
		{
			name: "implicit comma join",
			sql:  "SELECT a.name FROM authors a, books b WHERE a.id = b.author_id AND b.year > $1",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("authors", "a"), rel("books", "b")},
				Predicates: []Predicate{
					{Column: col("authors", "id"), Operator: "=", Join: true},
					{Column: col("books", "year"), Operator: ">", Param: 1},
				},
				Joins:        []Join{{Type: "inner", Left: col("authors", "id"), Right: col("books", "author_id")}},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("books", "year")},
			},
		},
		{
			name: "LEFT JOIN and USING",
			sql:  "SELECT u.id FROM users u LEFT JOIN profiles p ON p.user_id = u.id JOIN settings s USING (user_id)",
			want: Facts{
				Kind: KindSelect, Statements: 1,
				Relations: []Relation{rel("users", "u"), rel("profiles", "p"), rel("settings", "s")},
				Predicates: []Predicate{
					{Column: col("profiles", "user_id"), Operator: "=", Join: true},
					{Column: col("settings", "user_id"), Operator: "=", Join: true},
				},
				Joins: []Join{
					{Type: "left", Left: col("profiles", "user_id"), Right: col("users", "id")},
					{Type: "inner", Left: ColumnRef{Column: "user_id"}, Right: col("settings", "user_id")},
				},
			},
		},
		{
			name: "schema-qualified, quoted mixed-case identifiers",
			sql:  `SELECT f."Id" FROM "Bar"."Foo" f JOIN shop.orders ON shop.orders."FooId" = f."Id" WHERE f."Id" = $1`,
			want: Facts{
				Kind: KindSelect, Statements: 1,
				Relations: []Relation{{Schema: "Bar", Name: "Foo", Alias: "f"}, {Schema: "shop", Name: "orders"}},
				Predicates: []Predicate{
					{Column: scol("shop", "orders", "FooId"), Operator: "=", Join: true},
					{Column: scol("Bar", "Foo", "Id"), Operator: "=", Param: 1},
				},
				Joins:        []Join{{Type: "inner", Left: scol("shop", "orders", "FooId"), Right: scol("Bar", "Foo", "Id")}},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: scol("Bar", "Foo", "Id")},
			},
		},
		{
			name: "quoted unqualified column on a single quoted table",
			sql:  `SELECT * FROM "Bar"."Foo" WHERE "Id" = $1 AND lower("Name") = $2`,
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{{Schema: "Bar", Name: "Foo"}},
				Predicates: []Predicate{
					{Column: scol("Bar", "Foo", "Id"), Operator: "=", Param: 1},
					{Column: scol("Bar", "Foo", "Name"), Operator: "=", Param: 2, Function: "lower", Expression: `lower("Name")`},
				},
				SelectStar:   true,
				Functions:    []string{"lower"},
				Params:       2,
				ParamColumns: map[int]ColumnRef{1: scol("Bar", "Foo", "Id")},
			},
		},
		{
			name: "subqueries: IN, EXISTS, scalar",
			sql: `SELECT id FROM users u
			      WHERE u.id IN (SELECT user_id FROM orders WHERE total > $1)
			        AND EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id AND s.active)
			        AND u.score = (SELECT max(score) FROM users)`,
			want: Facts{
				Kind: KindSelect, Statements: 1,
				Relations: []Relation{rel("users", "u"), rel("orders", ""), rel("sessions", "s")},
				Predicates: []Predicate{
					{Column: col("users", "id"), Operator: "IN"},
					{Column: col("orders", "total"), Operator: ">", Param: 1},
					{Column: col("sessions", "user_id"), Operator: "=", Join: true},
					{Column: col("sessions", "active"), Operator: "=", Const: "true", HasConst: true},
					{Column: col("users", "score"), Operator: "="},
				},
				Joins:        []Join{{Type: "inner", Left: col("sessions", "user_id"), Right: col("users", "id")}},
				Subqueries:   3,
				Aggregates:   true,
				Functions:    []string{"max"},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("orders", "total")},
			},
		},
		{
			name: "CTEs plain, MATERIALIZED, NOT MATERIALIZED; CTE references resolved away",
			sql: `WITH recent AS (SELECT id, customer_id AS cid FROM orders WHERE created_at > $1),
			           big AS MATERIALIZED (SELECT * FROM customers WHERE tier = $2),
			           x AS NOT MATERIALIZED (SELECT r.cid FROM recent r)
			      SELECT b.name FROM big b JOIN x ON x.cid = b.id WHERE b.country = $3`,
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("orders", ""), rel("customers", "")},
				Predicates: []Predicate{
					{Column: col("orders", "created_at"), Operator: ">", Param: 1},
					{Column: col("customers", "tier"), Operator: "=", Param: 2},
					{Column: col("orders", "customer_id"), Operator: "=", Join: true},
					{Column: col("customers", "country"), Operator: "=", Param: 3},
				},
				Joins:      []Join{{Type: "inner", Left: col("orders", "customer_id"), Right: col("customers", "id")}},
				SelectStar: true,
				CTEs: []CTE{
					{Name: "recent", Kind: KindSelect, Relations: []Relation{rel("orders", "")}},
					{Name: "big", Materialized: "materialized", Kind: KindSelect, Relations: []Relation{rel("customers", "")}},
					{Name: "x", Materialized: "not materialized", Kind: KindSelect},
				},
				Params: 3,
				ParamColumns: map[int]ColumnRef{
					1: col("orders", "created_at"), 2: col("customers", "tier"), 3: col("customers", "country"),
				},
			},
		},
		{
			name: "UPDATE with WHERE and SET params",
			sql:  "UPDATE accounts SET balance = balance - $1, updated_at = now() WHERE id = $2 AND balance >= $3",
			want: Facts{
				Kind: KindUpdate, Statements: 1, Relations: []Relation{rel("accounts", "")},
				Target: &Relation{Name: "accounts"},
				Predicates: []Predicate{
					{Column: col("accounts", "id"), Operator: "=", Param: 2},
					{Column: col("accounts", "balance"), Operator: ">=", Param: 3},
				},
				Functions:    []string{"now"},
				Params:       3,
				ParamColumns: map[int]ColumnRef{2: col("accounts", "id"), 3: col("accounts", "balance")},
			},
		},
		{
			name: "UPDATE SET col = $n",
			sql:  "UPDATE public.users AS u SET name = $1, email = $2::text WHERE u.id = $3",
			want: Facts{
				Kind: KindUpdate, Statements: 1, Relations: []Relation{{Schema: "public", Name: "users", Alias: "u"}},
				Target:     &Relation{Schema: "public", Name: "users", Alias: "u"},
				Predicates: []Predicate{{Column: scol("public", "users", "id"), Operator: "=", Param: 3}},
				Params:     3,
				ParamColumns: map[int]ColumnRef{
					1: scol("public", "users", "name"), 2: scol("public", "users", "email"), 3: scol("public", "users", "id"),
				},
			},
		},
		{
			name: "DELETE with WHERE and USING",
			sql:  "DELETE FROM sessions s USING users u WHERE s.user_id = u.id AND u.banned AND s.expires_at < $1",
			want: Facts{
				Kind: KindDelete, Statements: 1, Relations: []Relation{rel("sessions", "s"), rel("users", "u")},
				Target: &Relation{Name: "sessions", Alias: "s"},
				Predicates: []Predicate{
					{Column: col("sessions", "user_id"), Operator: "=", Join: true},
					{Column: col("users", "banned"), Operator: "=", Const: "true", HasConst: true},
					{Column: col("sessions", "expires_at"), Operator: "<", Param: 1},
				},
				Joins:        []Join{{Type: "inner", Left: col("sessions", "user_id"), Right: col("users", "id")}},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("sessions", "expires_at")},
			},
		},
		{
			name: "INSERT multi-row VALUES",
			sql:  "INSERT INTO events (kind, payload, created_at) VALUES ($1, $2, now()), ($3, $4::jsonb, now()), ($5, $6, $7)",
			want: Facts{
				Kind: KindInsert, Statements: 1, Relations: []Relation{rel("events", "")},
				Target:     &Relation{Name: "events"},
				InsertRows: 3,
				Functions:  []string{"now"},
				Params:     7,
				ParamColumns: map[int]ColumnRef{
					1: col("events", "kind"), 2: col("events", "payload"),
					3: col("events", "kind"), 4: col("events", "payload"),
					5: col("events", "kind"), 6: col("events", "payload"), 7: col("events", "created_at"),
				},
			},
		},
		{
			name: "INSERT ... SELECT with ON CONFLICT",
			sql: `INSERT INTO daily (day, n) SELECT created_at::date, count(*) FROM events WHERE kind = $1 GROUP BY 1
			      ON CONFLICT (day) DO UPDATE SET n = excluded.n`,
			want: Facts{
				Kind: KindInsert, Statements: 1, Relations: []Relation{rel("daily", ""), rel("events", "")},
				Target:       &Relation{Name: "daily"},
				Predicates:   []Predicate{{Column: col("events", "kind"), Operator: "=", Param: 1}},
				Aggregates:   true,
				Functions:    []string{"count"},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("events", "kind")},
			},
		},
		{
			name: "GROUP BY with count(DISTINCT), ORDER BY the aggregate's output name",
			sql:  "SELECT author_id, count(DISTINCT post_id) AS posts FROM blog.comments c GROUP BY author_id ORDER BY posts DESC LIMIT 20",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{{Schema: "blog", Name: "comments", Alias: "c"}},
				OrderBy:           []OrderItem{{Column: ColumnRef{Schema: "blog", Table: "comments", Column: "post_id"}, Expression: "count(DISTINCT post_id)", Desc: true, Aggregate: true}},
				GroupBy:           []ColumnRef{{Schema: "blog", Table: "comments", Column: "author_id"}},
				AggregateDistinct: []ColumnRef{{Schema: "blog", Table: "comments", Column: "post_id"}},
				Limit:             &Bound{Value: 20},
				Aggregates:        true,
				Functions:         []string{"count"},
			},
		},
		{
			name: "GROUP BY an expression and a position; DISTINCT in HAVING, not in a subquery",
			sql: `SELECT date(created_at), kind, sum(n) FROM events GROUP BY 1, kind
			      HAVING count(DISTINCT user_id) > (SELECT count(DISTINCT id) FROM users) ORDER BY 2, sum(n)`,
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("events", ""), rel("users", "")},
				OrderBy:           []OrderItem{{Column: col("events", "kind")}, {Column: col("events", "n"), Expression: "sum(n)", Aggregate: true}},
				GroupBy:           []ColumnRef{col("events", "kind")},
				GroupByExpression: true,
				AggregateDistinct: []ColumnRef{col("events", "user_id")},
				Subqueries:        1,
				Aggregates:        true,
				Functions:         []string{"date", "sum", "count"},
			},
		},
		{
			name: "SELECT FOR UPDATE SKIP LOCKED",
			sql:  "SELECT id FROM jobs WHERE queue = $1 AND run_at <= now() ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("jobs", "")},
				Predicates: []Predicate{
					{Column: col("jobs", "queue"), Operator: "=", Param: 1},
					{Column: col("jobs", "run_at"), Operator: "<="},
				},
				OrderBy:      []OrderItem{{Column: col("jobs", "run_at")}},
				Limit:        &Bound{Value: 1},
				Functions:    []string{"now"},
				Locking:      true,
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("jobs", "queue")},
			},
		},
		{
			name: "SELECT INTO",
			sql:  "SELECT DISTINCT user_id INTO TEMP active_users FROM logins WHERE at > $1",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("logins", "")},
				Predicates:   []Predicate{{Column: col("logins", "at"), Operator: ">", Param: 1}},
				Distinct:     true,
				SelectInto:   true,
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("logins", "at")},
			},
		},
		{
			name: "data-modifying CTE",
			sql:  "WITH moved AS (DELETE FROM inbox WHERE received < $1 RETURNING *) INSERT INTO archive SELECT * FROM moved",
			want: Facts{
				Kind: KindInsert, Statements: 1, Relations: []Relation{rel("inbox", ""), rel("archive", "")},
				Target:       &Relation{Name: "archive"},
				Predicates:   []Predicate{{Column: col("inbox", "received"), Operator: "<", Param: 1}},
				SelectStar:   true,
				CTEs:         []CTE{{Name: "moved", Kind: KindDelete, Relations: []Relation{rel("inbox", "")}}},
				ModifyingCTE: true,
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("inbox", "received")},
			},
		},
		{
			name: "SET",
			sql:  "SET statement_timeout = $1",
			want: Facts{Kind: KindUtility, Statements: 1, Relations: []Relation{}, Params: 1},
		},
		{
			name: "BEGIN",
			sql:  "BEGIN",
			want: Facts{Kind: KindUtility, Statements: 1, Relations: []Relation{}},
		},
		{
			name: "CREATE INDEX",
			sql:  "CREATE INDEX CONCURRENTLY users_email_idx ON app.users (lower(email)) WHERE deleted_at IS NULL",
			want: Facts{
				Kind: KindUtility, Statements: 1, Relations: []Relation{{Schema: "app", Name: "users"}},
				Functions: []string{"lower"},
			},
		},
		{
			name: "multiple statements: facts of the first",
			sql:  "SELECT a FROM t WHERE b = $1; UPDATE u SET c = 1;",
			want: Facts{
				Kind: KindSelect, Statements: 2, Relations: []Relation{rel("t", "")},
				Predicates:   []Predicate{{Column: col("t", "b"), Operator: "=", Param: 1}},
				Params:       1,
				ParamColumns: map[int]ColumnRef{1: col("t", "b")},
			},
		},
		{
			name: "union: order by resolves through the first branch, SQL-syntax functions unqualified",
			sql:  "SELECT id, extract(epoch FROM at) FROM a UNION SELECT id, 0 FROM b ORDER BY id LIMIT $1",
			want: Facts{
				Kind: KindSelect, Statements: 1, Relations: []Relation{rel("a", ""), rel("b", "")},
				OrderBy:   []OrderItem{{Column: col("a", "id")}},
				Limit:     &Bound{Param: 1},
				Distinct:  true,
				Functions: []string{"extract"},
				Params:    1,
			},
		},
		{
			name: "only a comment",
			sql:  "-- nothing here\n",
			want: Facts{Kind: KindOther, Statements: 0, Relations: []Relation{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Analyze(tt.sql)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got.Fingerprint) {
				t.Errorf("fingerprint %q is not 16 hex digits", got.Fingerprint)
			}
			got.Fingerprint = ""
			if tt.want.Relations == nil {
				tt.want.Relations = []Relation{}
			}
			g, _ := json.MarshalIndent(got, "", "  ")
			w, _ := json.MarshalIndent(tt.want, "", "  ")
			if string(g) != string(w) {
				t.Errorf("facts differ\n got: %s\nwant: %s", g, w)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a, err := Fingerprint("SELECT * FROM users WHERE id = $1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fingerprint("select *\n  from users where id = 42 -- comment")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Fingerprint("SELECT * FROM users WHERE email = $1")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("same statement, different constants: %s != %s", a, b)
	}
	if a == c {
		t.Errorf("different statements share fingerprint %s", a)
	}
	f, err := Analyze("SELECT * FROM users WHERE id = $1")
	if err != nil {
		t.Fatal(err)
	}
	if f.Fingerprint != a {
		t.Errorf("Analyze fingerprint %s, Fingerprint %s", f.Fingerprint, a)
	}
	if _, err := Fingerprint("SELEC 1"); err == nil {
		t.Error("Fingerprint of invalid SQL: no error")
	}
}

func TestSyntaxError(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want SyntaxError
	}{
		{
			name: "second line (FORM is taken as a column alias)",
			sql:  "SELECT id\nFORM users\nWHERE id = 1",
			want: SyntaxError{Message: `syntax error at or near "users"`, Position: 16, Line: 2, Column: 6},
		},
		{
			name: "third line, mid-line",
			sql:  "SELECT id\nFROM users\nWHERE id = = 1",
			want: SyntaxError{Message: `syntax error at or near "="`, Position: 33, Line: 3, Column: 12},
		},
		{
			name: "multibyte characters before the error",
			sql:  "SELECT 'é€' FORM t",
			want: SyntaxError{Message: `syntax error at or near "t"`, Position: 21, Line: 1, Column: 18},
		},
		{
			name: "end of input",
			sql:  "SELECT *\nFROM",
			want: SyntaxError{Message: "syntax error at end of input", Position: 14, Line: 2, Column: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(tt.sql)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Analyze error %v (%T) is not a *SyntaxError", err, err)
			}
			if *se != tt.want {
				t.Errorf("got %+v, want %+v", *se, tt.want)
			}
			if se.Error() == "" {
				t.Error("empty Error()")
			}
		})
	}
}

func TestSargable(t *testing.T) {
	tests := []struct {
		sql          string
		sargable     bool
		leadingWild  bool
		wantOperator string
	}{
		{"SELECT 1 FROM t WHERE a = $1", true, false, "="},
		{"SELECT 1 FROM t WHERE lower(a) = $1", false, false, "="},
		{"SELECT 1 FROM t WHERE a::date = $1", false, false, "="},
		{"SELECT 1 FROM t WHERE a + 1 > $1", false, false, ">"},
		{"SELECT 1 FROM t WHERE a LIKE '%x'", false, true, "LIKE"},
		{"SELECT 1 FROM t WHERE a ILIKE '_x%'", false, true, "ILIKE"},
		{"SELECT 1 FROM t WHERE a LIKE 'x%'", true, false, "LIKE"},
		{"SELECT 1 FROM t WHERE a LIKE $1", true, false, "LIKE"},
		{"SELECT 1 FROM t WHERE a = '%x'", true, false, "="},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			f, err := Analyze(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Predicates) != 1 {
				t.Fatalf("got %d predicates, want 1", len(f.Predicates))
			}
			p := f.Predicates[0]
			if p.Operator != tt.wantOperator {
				t.Errorf("operator %q, want %q", p.Operator, tt.wantOperator)
			}
			if p.Sargable() != tt.sargable {
				t.Errorf("Sargable() = %v, want %v (%+v)", p.Sargable(), tt.sargable, p)
			}
			if LeadingWildcard(p) != tt.leadingWild {
				t.Errorf("LeadingWildcard() = %v, want %v", LeadingWildcard(p), tt.leadingWild)
			}
		})
	}
}
