"""The storefront page in a real headless Chromium, served by the storefront service itself (same
origin, as CloudFront serves it in AWS) on the embedded PostgreSQL, with the demo catalog of
`storefront seed`: at a phone's width (390 px) and a laptop's (1280 px) a shopper searches (and meets the
empty state), pages forward and back, adds to the cart (the header's count follows), orders (the stock
shown drops) and is told by name when a product ran short.

One browser and one shop per module, one page load per width: the browser is the dearest thing in the
suite. Screenshots of every step are kept as artefacts in test-artifacts/screenshots/ at the repository
root (or $STOREFRONT_SCREENSHOT_DIR), with page-metrics-<width>.json (the page's bytes and its first
contentful paint); the session's summary prints the directory.

Chromium is Debian's package (/usr/bin/chromium; .ci/run installs it). In CI a missing browser fails
the test; elsewhere it is skipped with the reason in the summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from storefront import demo
from storefront.db.embedded import EmbeddedPostgres, free_port

from tests.storefront.conftest import ADMIN, ADMIN_TOKEN, create_database, drop_database, repo_root

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium flags for a closed network and a root user without a sandbox (the CI container).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PRODUCTS = 30  # the demo catalog's first 30: three pages of 12
SCREENSHOTS = Path(os.environ.get("STOREFRONT_SCREENSHOT_DIR") or repo_root() / "test-artifacts" / "screenshots")


@dataclass(frozen=True)
class Shop:
    url: str
    api: httpx.Client

    def product(self, n: int) -> dict[str, Any]:
        """Demo product n as the API serves it now (ids follow n: the catalog was seeded first)."""
        response = self.api.get(f"/api/products/{n}", headers={"Cache-Control": "no-cache"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def set_stock(self, n: int, stock: int) -> None:
        response = self.api.patch(f"/api/products/{n}", json={"stock": stock}, headers=ADMIN)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def shop(pg: EmbeddedPostgres, work_dir: Path) -> Iterator[Shop]:
    """`storefront serve` with the page of storefront/web, on a database holding the demo catalog."""
    name = create_database(pg)
    database = pg.superuser_url(name)

    async def seed() -> None:
        conn = await asyncpg.connect(database)
        try:
            rows = [tuple(demo.product(n)[c] for c in demo.COLUMNS) for n in range(1, PRODUCTS + 1)]
            await conn.executemany(
                f"INSERT INTO products ({', '.join(demo.COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6)", rows
            )
        finally:
            await conn.close()

    asyncio.run(seed())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
    env |= {
        "DATABASE_URL": database,
        "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN,
        "STOREFRONT_STATIC_DIR": str(repo_root() / "storefront" / "web"),
    }
    command = [str(Path(sys.executable).parent / "storefront"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = work_dir / f"browser-serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as api:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if api.get("/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield Shop(url=url, api=api)
    finally:
        process.terminate()
        process.wait(15)
        drop_database(pg, name)


@pytest.fixture(scope="module")
def browser(shop: Shop) -> Iterator[Browser]:
    # Started after the shop (and its database) and stopped first: Playwright's sync API runs an event
    # loop of its own, and the database fixtures use asyncio.run.
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _shot(page: Page, width: int, step: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{width}-{step}.png"), full_page=False)


def _metrics(page: Page) -> dict[str, Any]:
    """Bytes the page loaded (document and every resource, as transferred and decoded) and its first
    contentful paint, from the browser's own Performance API."""
    data: dict[str, Any] = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const resources = performance.getEntriesByType("resource");
            const paint = performance.getEntriesByName("first-contentful-paint")[0];
            const all = [nav, ...resources];
            return {
                requests: all.length,
                transfer_bytes: all.reduce((s, e) => s + (e.transferSize || 0), 0),
                decoded_bytes: all.reduce((s, e) => s + (e.decodedBodySize || 0), 0),
                static_decoded_bytes: all.filter((e) => !e.name.includes("/api/"))
                    .reduce((s, e) => s + (e.decodedBodySize || 0), 0),
                first_contentful_paint_ms: paint ? Math.round(paint.startTime) : null,
                dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
            };
        }"""
    )
    return data


def _cart_line(page: Page, sku: str, width: int) -> Any:
    """The cart line of `sku`, opening the cart drawer first on a phone (it lives behind the header's button)."""
    if width < 900 and page.get_by_test_id("cart-toggle").get_attribute("aria-expanded") != "true":
        page.get_by_test_id("cart-toggle").click()
    return page.get_by_test_id(f"cart-item-{sku}")


@pytest.mark.parametrize("width", [390, 1280])
def test_a_shopper_searches_pages_orders_and_is_told_by_name_what_ran_short(  # noqa: PLR0915 - one shopper's visit
    browser: Browser, shop: Shop, width: int
) -> None:
    # Two products per width, so the two runs do not share stock: a few left of one, the other to run short.
    few, short = (3, 4) if width == 390 else (11, 12)
    shop.set_stock(few, 3)
    shop.set_stock(short, 2)
    few_p, short_p = shop.product(few), shop.product(short)

    # Reduced motion: no drawer animation to catch half-way in a screenshot (the page honours the setting).
    page = browser.new_page(viewport={"width": width, "height": 844 if width < 900 else 900}, reduced_motion="reduce")
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(shop.url + "/")

    # The first page: 12 products with their pictures (same origin, alt text = the name) and prices.
    cards = page.locator("#products li.card")
    expect(cards).to_have_count(12)
    first = demo.product(1)
    expect(page.get_by_test_id(f"product-{first['sku']}")).to_contain_text(str(first["name"]))
    picture = page.get_by_test_id(f"product-{first['sku']}").locator("img")
    expect(picture).to_have_attribute("alt", str(first["name"]))
    # decode() settles once the picture has loaded (it is lazy-loaded, and may still be on its way): it
    # resolves for a picture the browser could read and rejects for a broken one.
    assert picture.evaluate("img => img.decode().then(() => img.naturalWidth > 0, () => false)")
    assert picture.get_attribute("src") == "/img/shirt.svg"
    _shot(page, width, "1-catalog")
    metrics = _metrics(page)
    (SCREENSHOTS / f"page-metrics-{width}.json").write_text(json.dumps(metrics, indent=2) + "\n")
    assert metrics["static_decoded_bytes"] < 100_000, metrics

    # Paging both ways.
    page.get_by_test_id("next-page").click()
    expect(page.get_by_test_id("page-number")).to_have_text("Page 2")
    expect(page.get_by_test_id(f"product-{demo.product(13)['sku']}")).to_be_visible()
    page.get_by_test_id("prev-page").click()
    expect(page.get_by_test_id("page-number")).to_have_text("Page 1")
    expect(page.get_by_test_id("prev-page")).to_be_hidden()

    # Search: nothing matches, then a word some products have; the search box is labelled.
    search = page.get_by_label("Search products")
    search.fill("zebra")
    search.press("Enter")
    expect(page.get_by_test_id("empty")).to_be_visible()
    expect(page.get_by_test_id("empty")).to_contain_text("Nothing matches “zebra”")
    expect(cards).to_have_count(0)
    _shot(page, width, "2-empty-search")
    search.fill("mug")
    page.get_by_test_id("search-submit").click()
    mugs = [demo.product(n) for n in range(1, PRODUCTS + 1) if "mug" in str(demo.product(n)["name"])]
    expect(cards).to_have_count(len(mugs))
    expect(page.locator("#products-heading")).to_have_text("Results for “mug”")
    _shot(page, width, "3-search")
    page.get_by_test_id("category-all").click()
    expect(cards).to_have_count(12)

    # Add the product with a few left; the header's count follows, on a phone too.
    few_card = page.get_by_test_id(f"product-{few_p['sku']}")
    expect(few_card.get_by_test_id("stock")).to_have_text("Only 3 left")
    page.get_by_test_id(f"add-{few_p['sku']}").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    assert page.get_by_test_id("cart-count").is_visible()
    line = _cart_line(page, str(few_p["sku"]), width)
    expect(line).to_be_visible()
    expect(line).to_contain_text(str(few_p["name"]))
    expect(page.locator("#cart-total")).to_have_text(f"${few_p['price_cents'] / 100:,.2f}")
    _shot(page, width, "4-cart")

    # Order: the confirmation, the order in the API, and the stock shown drops.
    page.locator("#place-order").click()
    expect(page.locator("#confirmation")).to_be_visible()
    expect(page.get_by_test_id(f"order-item-{few_p['sku']}")).to_contain_text(str(few_p["name"]))
    order_id = page.locator("#order-id").inner_text().strip()
    order = shop.api.get(f"/api/orders/{order_id}")
    assert order.status_code == 200, order.text
    assert order.json()["total_cents"] == few_p["price_cents"]
    assert shop.product(few)["stock"] == 2
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    _shot(page, width, "5-ordered")
    if width < 900:
        page.get_by_test_id("cart-close").click()
    expect(few_card.get_by_test_id("stock")).to_have_text("Only 2 left")

    # Two of a product with two left; someone else buys one meanwhile: the message names the product.
    page.get_by_test_id(f"add-{short_p['sku']}").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    line = _cart_line(page, str(short_p["sku"]), width)
    page.get_by_test_id(f"more-{short_p['sku']}").click()
    expect(line.get_by_test_id("quantity")).to_have_text("2")
    shop.set_stock(short, 1)
    page.locator("#place-order").click()
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "out_of_stock")
    expect(error).to_contain_text(f"Only 1 left of {short_p['name']}")
    assert f"product(s) {short}" not in error.inner_text()
    expect(page.locator("#confirmation")).to_be_hidden()
    _shot(page, width, "6-out-of-stock")
    assert errors == []
    page.close()
