"""Business rules: catalog, carts and order placement. Routes call these; the transactions live here."""
