/*
 * TapStack storefront page: lists products, keeps a cart, places an order.
 *
 * It talks only to its own origin (/api/...), through CloudFront in AWS and the storefront service
 * locally, so the Content-Security-Policy can stay `script-src 'self'; connect-src 'self'`. No inline
 * script, no build step. Money is integer cents from the API, formatted here.
 *
 * Hooks for browser tests (stable; change them together with the tests):
 *   #products                      the product list (one <li> per product)
 *   [data-testid=product-<sku>]    one product's <li>; its data-product-id is the product id
 *   [data-testid=add-<sku>]        "Add to cart" button of that product
 *   #products-status               "Loading products…", "No products yet." or empty
 *   #next-page, #first-page        paging buttons (hidden when there is nothing to page to)
 *   #cart                          the cart; #cart-items has one <li data-testid="cart-item-<sku>">
 *                                  per line with a [data-testid=quantity] element and a
 *                                  [data-testid=remove-<sku>] button; #cart-empty shows when it
 *                                  has none; #cart-total is the formatted total
 *   #place-order                   places the order (disabled while the cart is empty or busy)
 *   #confirmation                  shown after an order: #order-id, #order-total and #order-lines
 *                                  with one <li data-testid="order-item-<sku>"> per line
 *   #error                         the last error, readable (e.g. "Sorry, ... is out of stock"),
 *                                  with data-code set to the API's error code; hidden when none
 *   body[data-busy]                "true" while a request is in flight
 */
"use strict";

(() => {
  const PAGE_SIZE = 10;
  const CART_KEY = "tapstack.cartId";

  const $ = (id) => document.getElementById(id);
  const productsById = new Map();
  const state = {
    cursor: null, // cursor of the page on screen (null: first page)
    nextCursor: null,
    cart: null, // {id, items: [{product_id, quantity, unit_price_cents}], total_cents}
    idempotencyKey: null, // one key per order attempt, so a retry never places a second order
    currency: "USD",
  };

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function formatMoney(cents, currency = state.currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
    } catch {
      return `${(cents / 100).toFixed(2)} ${currency}`;
    }
  }

  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; plain http on a LAN address still gets a random v4 UUID.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Calls the API; resolves to the JSON body, rejects with an ApiError carrying a readable message. */
  async function api(method, path, { body, headers = {} } = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, "network", "Cannot reach the shop. Check your connection and try again.");
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = data && data.error;
      if (error && error.message) {
        throw new ApiError(response.status, error.code || "error", error.message);
      }
      throw new ApiError(
        response.status,
        "http_" + response.status,
        `The shop could not answer (HTTP ${response.status}). Please try again in a moment.`,
      );
    }
    return data;
  }

  function showError(error) {
    const box = $("error");
    let message = error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
    if (error instanceof ApiError && error.code === "out_of_stock") {
      message = `Sorry, something in your cart is out of stock: ${error.message}`;
    }
    box.textContent = message;
    box.dataset.code = error instanceof ApiError ? error.code : "error";
    box.hidden = false;
    if (!(error instanceof ApiError)) {
      console.error(error);
    }
  }

  function clearError() {
    const box = $("error");
    box.hidden = true;
    box.textContent = "";
    delete box.dataset.code;
  }

  /** Runs one user action: one request at a time, errors shown instead of thrown. */
  async function action(fn) {
    if (document.body.dataset.busy === "true") {
      return;
    }
    document.body.dataset.busy = "true";
    updateButtons();
    clearError();
    try {
      await fn();
    } catch (error) {
      showError(error);
    } finally {
      document.body.dataset.busy = "false";
      updateButtons();
    }
  }

  function element(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "dataset") {
        Object.assign(node.dataset, value);
      } else {
        node[key] = value;
      }
    }
    node.append(...children);
    return node;
  }

  // Products ---------------------------------------------------------------------------------------

  async function loadProducts(cursor) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) {
      query.set("cursor", cursor);
    }
    $("products-status").textContent = "Loading products…";
    const page = await api("GET", `/api/products?${query}`);
    state.cursor = cursor;
    state.nextCursor = page.next_cursor || null;
    renderProducts(page.items || []);
  }

  function renderProducts(items) {
    const list = $("products");
    list.replaceChildren();
    for (const product of items) {
      productsById.set(product.id, product);
      if (product.currency) {
        state.currency = product.currency;
      }
      const stock = product.stock > 0 ? `${product.stock} in stock` : "Out of stock";
      const add = element(
        "button",
        { type: "button", className: "add", dataset: { testid: `add-${product.sku}`, productId: product.id } },
        "Add to cart",
      );
      add.addEventListener("click", () => action(() => addToCart(product.id)));
      list.append(
        element(
          "li",
          { dataset: { testid: `product-${product.sku}`, productId: product.id } },
          element(
            "div",
            {},
            element("div", { className: "product-name" }, product.name),
            element("p", { className: "product-description" }, product.description || ""),
            element("p", { className: "product-stock", dataset: { testid: "stock" } }, stock),
          ),
          element(
            "div",
            {},
            element("div", { className: "price" }, formatMoney(product.price_cents, product.currency)),
            add,
          ),
        ),
      );
    }
    $("products-status").textContent = items.length ? "" : "No products yet.";
    $("next-page").hidden = !state.nextCursor;
    $("first-page").hidden = !state.cursor;
  }

  // Cart -------------------------------------------------------------------------------------------

  async function ensureCart() {
    if (!state.cart) {
      const cart = await api("POST", "/api/carts");
      setCart({ items: [], total_cents: 0, ...cart });
    }
    return state.cart;
  }

  async function restoreCart() {
    const id = sessionStorage.getItem(CART_KEY);
    if (!id) {
      return;
    }
    try {
      setCart(await api("GET", `/api/carts/${encodeURIComponent(id)}`));
    } catch (error) {
      sessionStorage.removeItem(CART_KEY);
      if (!(error instanceof ApiError && error.status === 404)) {
        throw error;
      }
    }
  }

  async function addToCart(productId) {
    const cart = await ensureCart();
    const line = (cart.items || []).find((item) => item.product_id === productId);
    await setQuantity(productId, (line ? line.quantity : 0) + 1);
  }

  /** Sets one line's quantity; 0 removes it. */
  async function setQuantity(productId, quantity) {
    const cart = await ensureCart();
    const updated = await api(
      "PUT",
      `/api/carts/${encodeURIComponent(cart.id)}/items/${encodeURIComponent(productId)}`,
      { body: { quantity } },
    );
    setCart(updated);
  }

  function setCart(cart) {
    state.cart = cart;
    state.idempotencyKey = null; // the cart changed: the next order is a new attempt
    if (cart) {
      sessionStorage.setItem(CART_KEY, cart.id);
      $("confirmation").hidden = true;
    } else {
      sessionStorage.removeItem(CART_KEY);
    }
    renderCart();
  }

  function describe(productId) {
    const product = productsById.get(productId);
    if (product) {
      return { name: product.name, sku: product.sku };
    }
    return { name: `Product ${productId}`, sku: String(productId) };
  }

  function renderLines(list, lines, { removable = false } = {}) {
    list.replaceChildren();
    for (const line of lines) {
      const { name, sku } = describe(line.product_id);
      const item = element(
        "li",
        { dataset: { testid: `${removable ? "cart" : "order"}-item-${sku}`, productId: line.product_id } },
        element(
          "span",
          {},
          name,
          " × ",
          element("span", { dataset: { testid: "quantity" } }, String(line.quantity)),
        ),
        element("span", { className: "price" }, formatMoney(line.unit_price_cents * line.quantity)),
      );
      if (removable) {
        const remove = element(
          "button",
          { type: "button", className: "remove", dataset: { testid: `remove-${sku}` } },
          "Remove",
        );
        remove.addEventListener("click", () => action(() => setQuantity(line.product_id, 0)));
        item.append(remove);
      }
      list.append(item);
    }
  }

  function renderCart() {
    const items = (state.cart && state.cart.items) || [];
    renderLines($("cart-items"), items, { removable: true });
    $("cart-empty").hidden = items.length > 0;
    $("cart-total").textContent = formatMoney((state.cart && state.cart.total_cents) || 0);
    updateButtons();
  }

  // Order ------------------------------------------------------------------------------------------

  async function placeOrder() {
    const cart = state.cart;
    if (!cart || !(cart.items || []).length) {
      return;
    }
    // Kept until the order succeeds or the cart changes: a retried click returns the same order.
    state.idempotencyKey = state.idempotencyKey || newIdempotencyKey();
    const order = await api("POST", "/api/orders", {
      body: { cart_id: cart.id },
      headers: { "Idempotency-Key": state.idempotencyKey },
    });
    setCart(null);
    showConfirmation(order);
    await loadProducts(state.cursor); // stock changed
  }

  function showConfirmation(order) {
    const lines = order.lines || order.items || [];
    $("order-id").textContent = String(order.id);
    renderLines($("order-lines"), lines);
    const total =
      order.total_cents ?? lines.reduce((sum, line) => sum + line.unit_price_cents * line.quantity, 0);
    $("order-total").textContent = formatMoney(total);
    $("confirmation").hidden = false;
  }

  // Wiring -----------------------------------------------------------------------------------------

  function updateButtons() {
    const busy = document.body.dataset.busy === "true";
    const empty = !state.cart || !(state.cart.items || []).length;
    $("place-order").disabled = busy || empty;
    const buttons = document.querySelectorAll("#products button.add, #cart-items button, .paging button");
    for (const button of buttons) {
      button.disabled = busy;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.body.dataset.busy = "false";
    $("next-page").addEventListener("click", () => action(() => loadProducts(state.nextCursor)));
    $("first-page").addEventListener("click", () => action(() => loadProducts(null)));
    $("place-order").addEventListener("click", () => action(placeOrder));
    action(async () => {
      await loadProducts(null);
      await restoreCart();
    });
  });
})();
