-- When a cart was last changed, so that `storefront expire-carts` can drop carts abandoned for longer than
-- STOREFRONT_CART_TTL_HOURS. Expand only: the previous release neither reads nor writes the column, and its
-- inserts take the default.
--
-- ADD COLUMN with a non-volatile default does not rewrite the table (PostgreSQL 11 and later): every existing
-- cart reads the time of this migration as its last activity, so none expires sooner than one TTL from now.
ALTER TABLE carts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The expiry job's scan: open carts by age. Checked-out carts (the bulk, over time) are not in it.
CREATE INDEX carts_open_updated_at_idx ON carts (updated_at) WHERE status = 'open';
