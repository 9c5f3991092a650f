"""The storefront page in a real headless Chromium, served by the storefront service itself (same
origin, as CloudFront serves it in AWS) on the embedded PostgreSQL: a shopper lists products, adds one
to the cart, places the order and sees the confirmation, or a readable out-of-stock message.

Chromium is Debian's package (/usr/bin/chromium; .ci/run installs it). In CI a missing browser fails
the test; elsewhere it is skipped with the reason in the summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from storefront.db.embedded import free_port

from tests.storefront.conftest import ADMIN, ADMIN_TOKEN, repo_root

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


@dataclass(frozen=True)
class Shop:
    url: str
    api: httpx.Client

    def add_product(self, sku: str, name: str, price_cents: int, stock: int) -> int:
        body = {"sku": sku, "name": name, "description": f"{name} for the browser test", "price_cents": price_cents}
        response = self.api.post("/api/products", json=body | {"stock": stock}, headers=ADMIN)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


@pytest.fixture
def browser(shop: Shop) -> Iterator[Browser]:
    # Started after the shop (and its database) and stopped first: Playwright's sync API runs an event
    # loop of its own, and the database fixtures use asyncio.run.
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shop(database: str, scratch: Path) -> Iterator[Shop]:
    """`storefront serve` with the page of storefront/web, on its own database and a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
    env |= {
        "DATABASE_URL": database,
        "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN,
        "STOREFRONT_STATIC_DIR": str(repo_root() / "storefront" / "web"),
    }
    command = [str(Path(sys.executable).parent / "storefront"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = scratch / "serve.log"
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


def _open(browser: Browser, shop: Shop) -> Page:
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.goto(shop.url + "/")
    return page


def test_a_shopper_lists_products_adds_one_to_the_cart_and_places_the_order(browser: Browser, shop: Shop) -> None:
    product_id = shop.add_product("MUG-BLUE", "Blue mug", 1250, stock=5)
    page = _open(browser, shop)

    expect(page.get_by_test_id("product-MUG-BLUE")).to_contain_text("Blue mug")
    page.get_by_test_id("add-MUG-BLUE").click()
    expect(page.get_by_test_id("cart-item-MUG-BLUE")).to_be_visible()
    expect(page.locator("#cart-total")).to_contain_text("12.50")
    page.locator("#place-order").click()

    expect(page.locator("#confirmation")).to_be_visible()
    expect(page.get_by_test_id("order-item-MUG-BLUE")).to_be_visible()
    order_id = page.locator("#order-id").inner_text().strip()
    order = shop.api.get(f"/api/orders/{order_id}")
    assert order.status_code == 200, order.text
    assert order.json()["total_cents"] == 1250
    assert shop.api.get(f"/api/products/{product_id}").json()["stock"] == 4
    page.close()


def test_a_shopper_sees_a_readable_message_when_the_product_sold_out(browser: Browser, shop: Shop) -> None:
    product_id = shop.add_product("LAMP-RARE", "Rare lamp", 9900, stock=1)
    page = _open(browser, shop)
    page.get_by_test_id("add-LAMP-RARE").click()
    expect(page.get_by_test_id("cart-item-LAMP-RARE")).to_be_visible()
    # Someone else buys the last one while it sits in this cart.
    sold_out = shop.api.patch(f"/api/products/{product_id}", json={"stock": 0}, headers=ADMIN)
    assert sold_out.status_code == 200, sold_out.text

    page.locator("#place-order").click()

    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "out_of_stock")
    expect(error).to_contain_text("out of stock")
    expect(page.locator("#confirmation")).to_be_hidden()
    page.close()
