"""Product search (`q=`): the trigram-indexed query answers exactly as the plain ILIKE predicate did, and the
planner can and does use the index."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from storefront import cli, demo
from storefront.db import migrate, queries
from storefront.db.embedded import EmbeddedPostgres

from tests.storefront.conftest import ADMIN_TOKEN, create_database, drop_database

pytestmark = pytest.mark.anyio

# The query as it was before the index: the reference every answer is compared with.
BEFORE_SQL = (
    "SELECT id, sku, name, description, price_cents, currency, stock FROM products"
    " WHERE id > $1 AND (name ILIKE $3 OR sku ILIKE $3 OR description ILIKE $3)"
    " ORDER BY id LIMIT $2"
)
INDEX = "products_search_trgm_idx"
FILLER_ROWS = 20_000

# (name, sku, description): wildcards, backslashes, unicode with and without case pairs, case variants, and
# a pair whose joined text matches a term that no single column holds.
CORPUS: list[tuple[str, str, str]] = [
    ("100% Cotton Tee", "TEE-100%", "Soft, 100% cotton; 50_50 is not a blend"),
    ("under_score item", "US_001", "snake_case_name and a%b"),
    ("Back\\slash holder", "BS\\01", "path C:\\temp\\file and \\\\server"),
    ("Crème Brûlée", "FOOD-É1", "Délicieux ÉCLAIR"),
    ("Straße Schild", "STR-ß", "GROSSE STRASSE ẞ"),
    ("İstanbul Lamp", "LAMP-İ", "dotless \u0131 and dotted i̇"),
    ("日本茶 Green Tea", "TEA-日本", "抹茶 matcha"),
    ("Emoji 🙂 Mug", "MUG-🙂", "👍 smile"),
    ("Combining cafe\u0301", "CMB-1", "precomposed café"),
    ("MiXeD CaSe Widget", "MIX-1", "mixed"),
    ("mixed case widget", "MIX-2", "MIXED"),
    ("MIXED CASE WIDGET", "MIX-3", "Mixed"),
    ("ends with ab", "cdJOIN", "x"),
    ("quote ' and \" marks", "Q-1", "it's"),
    ("spaces  double", "SP-1", " leading and trailing "),
    ("brackets [a-z] ^$ .*", "RX-1", "(group)|alt"),
    *[(f"Widget {n}", f"W-{n:04d}", f"A widget, number {n}.") for n in range(60)],
]

TERMS = [
    "%", "%%", "_", "__", "\\", "\\\\", "100%", "0%", "50_", "_5", "US_0", "a%b", "C:\\temp", "\\01",
    "é", "É", "crème", "CRÈME", "brûlée", "ß", "SS", "ẞ", "strasse", "İ", "i̇", "\u0131", "istanbul",
    "日本", "茶", "🙂", "👍", "e\u0301", "café", "cafe",
    "mixed case", "MIXED CASE", "MiXeD", "widget", "WIDGET 1", "w-00", "number 5.", "widget, number",
    "ab cd", "with ab cd", "ab cdjoin",
    "'", "\"", "it's", " ", "  ", " leading", "[a-z]", "^$", ".*", "(group)|",
    "a", "A", "x", "ab", "zq", "zzz-no-match", "Widget 59", "W-0059",
]  # fmt: skip


async def _insert_corpus(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        "INSERT INTO products (sku, name, description, price_cents, stock) VALUES ($2, $1, $3, 100, 1)", CORPUS
    )


def _random_terms(count: int) -> list[str]:
    """Substrings of the corpus with their case scrambled, and short random unicode strings."""
    rng = random.Random(16)  # noqa: S311 - reproducible terms, not secrets
    texts = [t for row in CORPUS for t in row]
    alphabet = "aAbBeEéÉßẞİ\u0131i%_\\ 日🙂-0159.'"
    terms = []
    for _ in range(count):
        if rng.random() < 0.7:
            text = rng.choice(texts)
            start = rng.randrange(len(text))
            piece = text[start : start + rng.randint(1, 8)]
            terms.append("".join(c.upper() if rng.random() < 0.5 else c.lower() for c in piece))
        else:
            terms.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))))
    return terms


def _pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _pages_before(conn: asyncpg.Connection, term: str, limit: int) -> list[list[int]]:
    pages, after = [], 0
    while True:
        rows = await conn.fetch(BEFORE_SQL, after, limit, _pattern(term))
        pages.append([r["id"] for r in rows])
        if len(rows) < limit:
            return pages
        after = rows[-1]["id"]


async def _pages_now(conn: asyncpg.Connection, term: str, limit: int) -> list[list[int]]:
    pages, after = [], 0
    while True:
        rows = await queries.list_products(conn, after_id=after, limit=limit, q=term)
        pages.append([r["id"] for r in rows])
        if len(rows) < limit:
            return pages
        after = rows[-1]["id"]


async def _plan(conn: asyncpg.Connection, term: str, limit: int = 21) -> dict[str, Any]:
    """The plan of the step after the window (the one the planner chooses per term)."""
    raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + queries.SEARCH_BEYOND_SQL, 0, _pattern(term), limit)
    plan: dict[str, Any] = json.loads(raw)[0]["Plan"]
    return plan


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _uses_search_index(plan: dict[str, Any]) -> bool:
    return any(node.get("Index Name") == INDEX for node in _nodes(plan))


@pytest.fixture(scope="module")
def catalog(pg: EmbeddedPostgres) -> Iterator[str]:
    """A migrated database holding the corpus among enough filler products that an index pays, analyzed."""
    name = create_database(pg)

    async def fill() -> None:
        conn = await asyncpg.connect(pg.superuser_url(name))
        try:
            await _insert_corpus(conn)
            await conn.execute(
                "INSERT INTO products (sku, name, description, price_cents, stock)"
                " SELECT format('FILL-%s', n), format('Filler item %s', n), 'Padding for the planner.', 100, 1"
                " FROM generate_series(1, $1) AS n",
                FILLER_ROWS,
            )
            await conn.execute("ANALYZE products")
        finally:
            await conn.close()

    asyncio.run(fill())
    try:
        yield pg.superuser_url(name)
    finally:
        drop_database(pg, name)


@pytest.fixture
async def corpus_db(database: str) -> AsyncIterator[asyncpg.Connection]:
    """A fresh migrated database holding only the corpus (pages stay few, so every page is compared)."""
    conn = await asyncpg.connect(database)
    try:
        await _insert_corpus(conn)
        await conn.execute("ANALYZE products")
        yield conn
    finally:
        await conn.close()


async def test_migration_creates_the_trigram_index_over_the_searched_expression(database: str) -> None:
    """The index expression and the query's must be the same text, or the planner never matches them."""
    conn = await asyncpg.connect(database)
    try:
        definition = await conn.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = $1", INDEX)
        assert await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'") == 1
    finally:
        await conn.close()
    assert "USING gin" in definition and "gin_trgm_ops" in definition
    sql = next(m.sql for m in migrate.load() if m.version == 2)
    expression = "(name || ' ' || sku || ' ' || description)"
    assert expression in sql and expression in queries.SEARCH_BEYOND_SQL and expression in queries.search_window_sql(1)


async def test_the_search_expression_keeps_300_sample_texts_for_the_planner(database: str) -> None:
    """Migrations 0004 and 0005: with ANALYZE's default 100 samples a term in 2% of the catalog went unseen
    13% of the time and was estimated at a few rows; with 300, 0.2% of the time. 1,000 (0004) cost the planner
    0.3-1 ms per search; 0005 settles on 300."""
    conn = await asyncpg.connect(database)
    try:
        target = await conn.fetchval(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = $1::regclass AND attnum = 1", INDEX
        )
    finally:
        await conn.close()
    assert target == 300


@pytest.mark.parametrize("limit", [2, 7, 100])
async def test_every_page_of_every_term_equals_the_plain_predicate(corpus_db: asyncpg.Connection, limit: int) -> None:
    for term in TERMS:
        assert await _pages_now(corpus_db, term, limit) == await _pages_before(corpus_db, term, limit), term


async def test_every_page_equals_the_plain_predicate_when_the_trigram_index_answers(
    corpus_db: asyncpg.Connection,
) -> None:
    """With sequential and plain index scans off, bitmap scans of the trigram index (lossy, rechecked)
    produce the rows, so a wrong index expression or a lost match would show."""
    await corpus_db.execute("SET enable_seqscan = off")
    await corpus_db.execute("SET enable_indexscan = off")
    assert _uses_search_index(await _plan(corpus_db, "widget"))
    for term in TERMS:
        assert await _pages_now(corpus_db, term, 3) == await _pages_before(corpus_db, term, 3), term


async def test_random_terms_match_the_plain_predicate_on_a_catalog_with_many_products(catalog: str) -> None:
    conn = await asyncpg.connect(catalog)
    try:
        for term in _random_terms(300):
            now = await queries.list_products(conn, after_id=0, limit=50, q=term)
            before = await conn.fetch(BEFORE_SQL, 0, 50, _pattern(term))
            assert now == [dict(r) for r in before], term
    finally:
        await conn.close()


async def test_a_join_of_two_columns_is_not_a_match(corpus_db: asyncpg.Connection) -> None:
    """The indexed text joins name and sku with a space; 'ab cd' is in that text but in no single column."""
    assert await queries.list_products(corpus_db, after_id=0, limit=10, q="ab cd") == []
    assert [r["sku"] for r in await queries.list_products(corpus_db, after_id=0, limit=10, q="ab")] == ["cdJOIN"]


async def test_a_rare_term_is_answered_from_the_trigram_index_with_default_planner_settings(catalog: str) -> None:
    conn = await asyncpg.connect(catalog)
    try:
        plan = await _plan(conn, "zzz-no-match")
    finally:
        await conn.close()
    assert _uses_search_index(plan)
    assert not any(node["Node Type"] == "Seq Scan" for node in _nodes(plan))


async def _executed(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    """The nodes of `sql`'s plan that actually ran (EXPLAIN ANALYZE)."""
    raw = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    return [node for node in _nodes(json.loads(raw)[0]["Plan"]) if node.get("Actual Loops", 0) > 0]


@pytest.mark.parametrize("term", ["filler", "Filler item", "padding for the planner", "item 1", "for the"])
async def test_a_frequent_term_is_answered_by_the_window_alone_in_id_order(catalog: str, term: str) -> None:
    """Every filler product matches these terms (or one in ten, for 'item 1'), multi-word ones too, which the
    planner used to estimate at a row or two: the window's walk over the primary key finds the page, and
    nothing else runs (no window end is returned, so the step beyond it is not even sent)."""
    conn = await asyncpg.connect(catalog)
    try:
        window = queries.search_window_sql(21)
        rows = await conn.fetch(window, 100, _pattern(term), 21)
        ran = await _executed(conn, window, 100, _pattern(term), 21)
    finally:
        await conn.close()
    assert len(rows) == 21 and not any(r["window_end"] for r in rows)
    assert any(node.get("Index Name") == "products_pkey" for node in ran)
    assert not any(node.get("Index Name") == INDEX or node["Node Type"] == "Seq Scan" for node in ran)


async def test_a_rare_term_walks_one_window_then_reads_the_trigram_index(catalog: str) -> None:
    conn = await asyncpg.connect(catalog)
    try:
        rows = await conn.fetch(queries.search_window_sql(21), 0, _pattern("Widget 59"), 21)
        end = [r["id"] for r in rows if r["window_end"]]
        ran = await _executed(conn, queries.SEARCH_BEYOND_SQL, end[0], _pattern("Widget 59"), 21 - len(rows) + 1)
    finally:
        await conn.close()
    assert end == [queries.SEARCH_WINDOW_PER_ROW * 21]  # the window's last id: ids start at 1 in this catalog
    assert any(node.get("Index Name") == INDEX for node in ran)
    assert not any(node["Node Type"] == "Seq Scan" for node in ran)


@pytest.mark.parametrize("limit", [1, 3, 20])
async def test_pages_that_cross_the_window_equal_the_plain_predicate(catalog: str, limit: int) -> None:
    """Terms whose matches lie partly inside the window after the cursor and partly beyond it, or only
    beyond it, page by page (the window is 10 products per row asked for)."""
    conn = await asyncpg.connect(catalog)
    try:
        # 11, 111, 2, 11, 60, 11 and 1 matches: in the corpus at the start, among the filler further on, both.
        for term in ("widget 5", "item 199", "item 2000", "Filler item 1999", "w-00", "ER ITEM 1000", "Widget 59"):
            pages_now = await _pages_now(conn, term, limit)
            assert pages_now == await _pages_before(conn, term, limit), term
    finally:
        await conn.close()


async def test_search_is_planned_for_each_term_never_from_a_generic_plan(catalog: str) -> None:
    """After five runs PostgreSQL may cache one generic plan for a prepared statement: for the step beyond the
    window that plan would be the id walk for every term, reading the whole table for a rare one. The window's
    own statement does not depend on the term: it may (and after five runs does) use its cached plan."""
    conn = await asyncpg.connect(catalog)
    try:
        for n in range(20):
            await queries.list_products(conn, after_id=0, limit=21, q=f"no such item {n}")
        plans = {
            r["statement"]: (r["generic_plans"], r["custom_plans"])
            for r in await conn.fetch("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        }
    finally:
        await conn.close()
    assert plans[queries.SEARCH_BEYOND_SQL] == (0, 20)
    assert plans[queries.search_window_sql(21)][0] > 0


async def test_search_pages_through_the_api_like_the_plain_predicate(client: httpx.AsyncClient, database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await _insert_corpus(conn)
        expected = [i for page in await _pages_before(conn, "widget", 1000) for i in page]
    finally:
        await conn.close()
    seen: list[int] = []
    cursor = None
    for _ in range(20):  # bounded: 63 matches at 7 per page is 9 pages
        params: dict[str, str | int] = {"q": "WIDGET", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/products", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and len(seen) == 63


def test_seed_larger_than_one_batch_adds_every_product_once(database: str) -> None:
    """The search index makes each inserted product cost about 0.2 ms, so the seed inserts in batches that
    stay inside the per-statement timeout; a second run adds nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
    env |= {"DATABASE_URL": database, "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN}
    count = cli.SEED_BATCH + 3
    cmd = [sys.executable, "-m", "storefront", "seed", "--products", str(count)]
    outputs = [subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=True).stdout for _ in range(2)]
    added = [json.loads(line)["added"] for out in outputs for line in out.splitlines() if b'"seeded products"' in line]
    assert added == [count, 0]

    async def skus() -> list[str]:
        conn = await asyncpg.connect(database)
        try:
            return [r["sku"] for r in await conn.fetch("SELECT sku FROM products ORDER BY id")]
        finally:
            await conn.close()

    assert asyncio.run(skus()) == [demo.product(n)["sku"] for n in range(1, count + 1)]
