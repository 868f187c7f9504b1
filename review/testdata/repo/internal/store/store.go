package store

import (
	"context"
	"database/sql"
)

// pgadvisor-ignore-file large-offset: the admin pages are small

const getOrder = `SELECT id, total FROM shop.orders WHERE id = $1`

const ordersByCountry = "SELECT id, total FROM shop.orders " +
	"WHERE shipping_country = $1 AND status = $2"

// Store reads the shop.
type Store struct{ db *sql.DB }

// Order reads one order.
func (s *Store) Order(ctx context.Context, id int64) error {
	_, err := s.db.QueryContext(ctx, getOrder, id)
	return err
}

// ByCountry lists a country's orders.
func (s *Store) ByCountry(ctx context.Context, country, status string) error {
	rows, err := s.db.QueryContext(ctx, ordersByCountry, country, status)
	if err != nil {
		return err
	}
	return rows.Close()
}

// Search finds products.
func (s *Store) Search(ctx context.Context, term string) error {
	// pgadvisor-ignore leading-wildcard
	_, err := s.db.ExecContext(ctx, `SELECT id FROM shop.products
		WHERE date_trunc('day', created_at) = $1`, term)
	if err != nil {
		return err
	}
	_, err = s.db.Exec("SELECT id FROM shop.orders WHERE id = $1 FROM", 1)
	return err
}

// Page reads a page the old way.
func (s *Store) Page(ctx context.Context) error {
	_, err := s.db.QueryContext(ctx, "SELECT id FROM shop.orders ORDER BY id LIMIT 10 OFFSET 20000")
	return err
}
