package review

import (
	"fmt"
	"strings"
	"testing"
)

// TestReadRuby: the SQL literals of a Ruby source at their exact line and
// column: heredocs (<<~, <<-, quoted, two opened on one line), %q and %Q,
// '…' and "…" strings with #{…}, ? and :name read as $n; comments, the <<
// operator, ActiveRecord's where fragments and prose are not statements.
func TestReadRuby(t *testing.T) {
	src := `# SELECT 1 in a comment is no statement
class Order < ApplicationRecord
  scope :open, -> { where("status = ? AND total > :min", "open", min: 10) }
  items << "Select a report below"

  def self.by_customer(id)
    connection.select_all(<<~SQL, "by customer", [id])
      SELECT id, total
      FROM shop.orders
      WHERE customer_id = ? AND status = :status
    SQL
  end

  def self.both
    execute(<<-ONE, <<~'TWO')
      SELECT count(*) FROM shop.orders WHERE lower(shipping_country) = $1
      ONE
      SELECT id FROM shop.products WHERE name LIKE '%#{lamp}%'
    TWO
  end

  Q1 = %q{SELECT id FROM shop.customers WHERE email = 'it''s' AND id = ? AND x <> '\}'}
  Q2 = %Q(SELECT id FROM shop.customers WHERE id = #{id} AND (email <> 'x'))
  Q3 = 'SELECT id FROM shop.orders WHERE note = \'a\' AND id = :id'
  Q4 = "SELECT id\n FROM shop.orders WHERE id = #{order.id}"
end
__END__
SELECT ignored FROM data
`
	f := readRuby("app/models/order.rb", src)
	var got []string
	for _, st := range f.Statements {
		l := st.Location
		got = append(got, fmt.Sprintf("%d:%d-%d:%d %s %q", l.Line, l.Column, l.EndLine, l.EndColumn, st.Source, st.SQL))
	}
	want := []string{
		`8:7-10:49 ruby "SELECT id, total\n      FROM shop.orders\n      WHERE customer_id = $1 AND status = $2"`,
		`16:7-16:74 ruby "SELECT count(*) FROM shop.orders WHERE lower(shipping_country) = $1"`,
		`18:7-18:63 ruby "SELECT id FROM shop.products WHERE name LIKE '%#{lamp}%'"`,
		`22:11-22:87 ruby "SELECT id FROM shop.customers WHERE email = 'it''s' AND id = $1 AND x <> '}'"`,
		`23:11-23:76 ruby "SELECT id FROM shop.customers WHERE id = $1 AND (email <> 'x')"`,
		`24:9-24:67 ruby "SELECT id FROM shop.orders WHERE note = 'a' AND id = $1"`,
		`25:9-25:60 ruby "SELECT id\n FROM shop.orders WHERE id = $1"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReviewRuby: a Ruby file's findings at their place, a # pgadvisor-ignore
// above a heredoc's opening line suppresses, one without a reason is
// reported.
func TestReviewRuby(t *testing.T) {
	src := "class Report\n" + // 1
		"  # pgadvisor-ignore leading-wildcard: the back office searches 200 rows\n" + // 2
		"  SEARCH = <<~SQL\n" + // 3
		"    SELECT id FROM shop.products WHERE name LIKE '%lamp%'\n" + // 4
		"  SQL\n" + // 5
		"  # pgadvisor-ignore non-sargable\n" + // 6
		"  DAY = \"SELECT id FROM shop.orders WHERE created_at::date = ?\"\n" + // 7
		"end\n"
	dir := writeFiles(t, map[string]string{"app/report.rb": src})
	r := reviewDir(t, dir, Options{})
	var got []string
	for _, f := range r.Findings {
		got = append(got, fmt.Sprintf("%d:%d %s", f.Location.Line, f.Location.Column, f.Rule))
	}
	if want := "6:3 ignore-without-reason,7:10 non-sargable"; strings.Join(got, ",") != want {
		t.Errorf("findings %v, want %s", got, want)
	}
	if len(r.Suppressed) != 1 || r.Suppressed[0].Finding.Rule != "leading-wildcard" || r.Suppressed[0].Finding.Location.Line != 4 {
		t.Errorf("suppressed %+v, want the leading wildcard at line 4", r.Suppressed)
	}
}
