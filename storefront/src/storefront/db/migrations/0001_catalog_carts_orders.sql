-- Catalog, carts and orders. Money is integer cents; the database enforces the invariants itself.

CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku         text NOT NULL UNIQUE CHECK (char_length(sku) BETWEEN 1 AND 64),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency    text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    stock       integer NOT NULL CHECK (stock >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE carts (
    id         uuid PRIMARY KEY,
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'checked_out')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
    cart_id    uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES products (id),
    quantity   integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    PRIMARY KEY (cart_id, product_id)
);

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    cart_id         uuid NOT NULL REFERENCES carts (id),
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    status          text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed')),
    total_cents     bigint NOT NULL CHECK (total_cents >= 0),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- A retried request finds its order by key; concurrent retries block on this index until the
    -- first transaction commits or aborts, so a key places at most one order.
    CONSTRAINT orders_idempotency_key_unique UNIQUE (idempotency_key),
    -- A cart is ordered at most once.
    CONSTRAINT orders_cart_unique UNIQUE (cart_id)
);

CREATE TABLE order_lines (
    order_id         uuid NOT NULL REFERENCES orders (id),
    product_id       bigint NOT NULL REFERENCES products (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, product_id)
);

CREATE INDEX cart_items_product_idx ON cart_items (product_id);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);
