"""Reports of the shop, read with psycopg."""

import psycopg

# Not SQL: a message.
GREETING = "Select a report below"


def top_customers(conn, email):
    with conn.cursor() as cur:
        cur.execute("""
            SELECT id, email FROM shop.customers
            WHERE lower(email) = %(email)s
        """, {"email": email})
        return cur.fetchall()


def search(conn, term):
    # pgadvisor-ignore leading-wildcard: the back office searches a small table
    cur = conn.execute("SELECT id FROM shop.products WHERE name LIKE '%lamp%'")
    conn.execute(r"SELECT id FROM shop.products WHERE name ILIKE '%desk%'")
    return conn.execute("SELECT id FROM shop.orders WHERE id = %s", (term,))
