package pgstat

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

func TestCollectViews(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE SCHEMA "Bar"`,
		`CREATE TABLE "Bar".t (id int, "Name" text)`,
		`CREATE VIEW "Bar"."V" AS SELECT id, "Name" FROM "Bar".t WHERE id > 0`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	views, err := CollectViews(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || views[0].Schema != "Bar" || views[0].Name != "V" {
		t.Fatalf("views = %+v, want only \"Bar\".\"V\" (no system views)", views)
	}
	if def := views[0].Definition; def == "" || !contains(def, `"Bar".t`) {
		t.Errorf("definition %q does not name its base table", def)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
