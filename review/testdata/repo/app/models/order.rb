class Order < ApplicationRecord
  # Orders of a day, for the accounting export.
  def self.of_day(day)
    find_by_sql([<<~SQL, day])
      SELECT id, total FROM shop.orders
      WHERE created_at::date = ?
    SQL
  end

  # pgadvisor-ignore leading-wildcard: the support tool searches by hand
  SEARCH = "SELECT id FROM shop.orders WHERE shipping_country LIKE '%land'"

  def self.label
    "Select an order below"
  end
end
