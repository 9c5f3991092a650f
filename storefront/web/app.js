/*
 * TapStack storefront page: search and page through the catalog, keep a cart, place an order.
 *
 * It talks only to its own origin (/api/...), through CloudFront in AWS and the storefront service
 * locally, so the Content-Security-Policy can stay `script-src 'self'; connect-src 'self'; img-src 'self'`.
 * No inline script or style, no build step. Money is integer cents from the API, formatted here. The API
 * has no category or picture: the SKU's prefix names the category (storefront seed's demo catalog,
 * storefront/src/storefront/demo.py) and the picture is /img/<category>.svg, /img/product.svg otherwise.
 *
 * Hooks for browser tests (stable; change them together with tests/storefront/test_browser.py):
 *   #q, #search                    the search box (q=) and its form
 *   #products                      the product list (one <li> per product)
 *   [data-testid=product-<sku>]    one product's <li>; its data-product-id is the product id, its
 *                                  [data-testid=stock] the stock line
 *   [data-testid=add-<sku>]        "Add to cart" button of that product
 *   #products-status               "Loading products…", "Showing 12 products" or empty
 *   #empty                         the empty state (no product matches the search)
 *   #next-page, #prev-page         paging buttons (hidden when there is nothing to page to)
 *   #cart-toggle, #cart-count      the header's cart button (opens the cart on a phone) and its count
 *   #cart                          the cart; #cart-items has one <li data-testid="cart-item-<sku>">
 *                                  per line with a [data-testid=quantity] element, [data-testid=more-<sku>],
 *                                  [data-testid=less-<sku>] and [data-testid=remove-<sku>] buttons;
 *                                  #cart-empty shows when it has none; #cart-total is the formatted total
 *   #place-order                   places the order (disabled while the cart is empty or busy)
 *   #confirmation                  shown after an order: #order-id, #order-total and #order-lines
 *                                  with one <li data-testid="order-item-<sku>"> per line
 *   #error                         the last error, readable and naming the product ("Only 2 left of
 *                                  Navy linen shirt"), data-code set to the API's error code; hidden when none
 *   body[data-busy]                "true" while a request is in flight
 */
"use strict";

(() => {
  const PAGE_SIZE = 12;
  const CART_KEY = "tapstack.cartId";
  const CATEGORIES = {
    SHI: ["shirt", "Shirts"],
    MUG: ["mug", "Mugs"],
    LMP: ["lamp", "Lamps"],
    SNK: ["sneaker", "Sneakers"],
    BAG: ["bag", "Bags"],
    NTB: ["notebook", "Notebooks"],
    PLT: ["plant", "Plant pots"],
    HDP: ["headphones", "Headphones"],
  };
  const COLOURS = new Set(
    ["ochre", "navy", "forest", "charcoal", "coral", "sand", "plum", "teal", "ivory", "rust", "sky", "olive"],
  );

  const $ = (id) => document.getElementById(id);
  const productsById = new Map();
  const state = {
    q: "",
    cursor: null, // cursor of the page on screen (null: first page)
    previous: [], // cursors of the pages before it, for "Previous"
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
      return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
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

  /** Calls the API; resolves to the JSON body, rejects with an ApiError carrying a readable message.
   * `fresh` revalidates a catalog read with the server instead of taking the browser's cached copy. */
  async function api(method, path, { body, headers = {}, fresh = false } = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (fresh) {
      init.cache = "no-cache";
    }
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
      if (response.status === 503) {
        throw new ApiError(503, (error && error.code) || "unavailable", "The shop is busy. Please try again in a moment.");
      }
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
    box.textContent = error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
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

  let toastTimer = null;
  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.classList.add("shown");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("shown"), 2500);
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
      } else if (key.startsWith("aria") || key === "role") {
        node.setAttribute(key === "role" ? key : `aria-${key.slice(4).toLowerCase()}`, value);
      } else {
        node[key] = value;
      }
    }
    node.append(...children);
    return node;
  }

  function category(product) {
    return CATEGORIES[String(product.sku).split("-")[0]] || null;
  }

  function picture(product) {
    const kind = category(product);
    const colour = String(product.name).split(" ")[0].toLowerCase();
    return element(
      "div",
      { className: "picture", dataset: { colour: COLOURS.has(colour) ? colour : "none" } },
      element("img", {
        src: `/img/${kind ? kind[0] : "product"}.svg`,
        alt: product.name,
        width: 160,
        height: 160,
        loading: "lazy",
        decoding: "async",
      }),
    );
  }

  function stockText(stock) {
    if (stock <= 0) {
      return "Sold out";
    }
    return stock <= 5 ? `Only ${stock} left` : "In stock";
  }

  // Products ---------------------------------------------------------------------------------------

  async function loadProducts(cursor, { fresh = false, focus = false } = {}) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.q) {
      query.set("q", state.q);
    }
    if (cursor) {
      query.set("cursor", cursor);
    }
    $("products-status").textContent = "Loading products…";
    const page = await api("GET", `/api/products?${query}`, { fresh });
    state.cursor = cursor;
    state.nextCursor = page.next_cursor || null;
    renderProducts(page.items || []);
    if (focus) {
      $("products-heading").focus();
    }
  }

  function renderProducts(items) {
    const list = $("products");
    list.replaceChildren();
    for (const product of items) {
      productsById.set(product.id, product);
      if (product.currency) {
        state.currency = product.currency;
      }
      const kind = category(product);
      const add = element(
        "button",
        {
          type: "button",
          className: "add primary",
          disabled: product.stock <= 0,
          ariaLabel: `Add ${product.name} to the cart`,
          dataset: { testid: `add-${product.sku}`, productId: product.id },
        },
        product.stock > 0 ? "Add to cart" : "Sold out",
      );
      add.addEventListener("click", () => action(() => addToCart(product.id)));
      list.append(
        element(
          "li",
          { className: "card", dataset: { testid: `product-${product.sku}`, productId: product.id } },
          picture(product),
          element(
            "div",
            { className: "card-body" },
            kind ? element("p", { className: "kind" }, kind[1]) : "",
            element("h2", { className: "product-name" }, product.name),
            element("p", { className: "product-description" }, product.description || ""),
            element(
              "div",
              { className: "buy" },
              element("span", { className: "price" }, formatMoney(product.price_cents, product.currency)),
              element(
                "span",
                {
                  className: `product-stock${product.stock <= 5 ? " low" : ""}`,
                  dataset: { testid: "stock", stock: product.stock },
                },
                stockText(product.stock),
              ),
            ),
            add,
          ),
        ),
      );
    }
    const pageNumber = state.previous.length + 1;
    $("products-heading").textContent = state.q ? `Results for “${state.q}”` : "All products";
    $("products-status").textContent = items.length
      ? `Page ${pageNumber}, ${items.length} product${items.length === 1 ? "" : "s"}`
      : "";
    $("empty").hidden = items.length > 0;
    $("empty-title").textContent = state.q ? `Nothing matches “${state.q}”` : "No products yet";
    $("clear-search").hidden = !state.q;
    $("next-page").hidden = !state.nextCursor;
    $("prev-page").hidden = state.previous.length === 0;
    $("page-number").textContent = items.length && (state.nextCursor || pageNumber > 1) ? `Page ${pageNumber}` : "";
    updateButtons();
  }

  function search(q) {
    state.q = q.trim();
    state.previous = [];
    $("q").value = state.q;
    const url = new URL(window.location.href);
    if (state.q) {
      url.searchParams.set("q", state.q);
    } else {
      url.searchParams.delete("q");
    }
    history.replaceState(null, "", url);
    renderCategories();
    return loadProducts(null, { focus: true });
  }

  function renderCategories() {
    const nav = $("categories");
    nav.replaceChildren();
    const all = [["", "All"], ...Object.values(CATEGORIES)];
    for (const [word, label] of all) {
      const button = element(
        "button",
        { type: "button", className: "chip", dataset: { testid: `category-${word || "all"}` } },
        label,
      );
      button.setAttribute("aria-pressed", String(state.q.toLowerCase() === word));
      button.addEventListener("click", () => action(() => search(word)));
      nav.append(button);
    }
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
      const cart = await api("GET", `/api/carts/${encodeURIComponent(id)}`);
      await knowProducts(cart.items.map((item) => item.product_id));
      setCart(cart);
    } catch (error) {
      sessionStorage.removeItem(CART_KEY);
      if (!(error instanceof ApiError && (error.status === 404 || error.code === "cart_checked_out"))) {
        throw error;
      }
    }
  }

  /** Fetches the products the page has not shown yet (a restored cart's lines), to name them. */
  async function knowProducts(ids, { fresh = false } = {}) {
    const wanted = fresh ? ids : ids.filter((id) => !productsById.has(id));
    const products = await Promise.all(
      wanted.map((id) => api("GET", `/api/products/${encodeURIComponent(id)}`, { fresh }).catch(() => null)),
    );
    for (const product of products) {
      if (product) {
        productsById.set(product.id, product);
      }
    }
  }

  async function addToCart(productId) {
    const cart = await ensureCart();
    const line = (cart.items || []).find((item) => item.product_id === productId);
    await setQuantity(productId, (line ? line.quantity : 0) + 1);
    toast(`Added ${describe(productId).name} to the cart`);
  }

  /** Sets one line's quantity; 0 removes it. More than the stock shown is refused here, naming the product. */
  async function setQuantity(productId, quantity) {
    const product = productsById.get(productId);
    if (product && quantity > product.stock) {
      throw new ApiError(409, "out_of_stock", shortage(product, quantity));
    }
    const cart = await ensureCart();
    const updated = await api(
      "PUT",
      `/api/carts/${encodeURIComponent(cart.id)}/items/${encodeURIComponent(productId)}`,
      { body: { quantity } },
    );
    setCart(updated);
  }

  function shortage(product, wanted) {
    if (product.stock <= 0) {
      return `Sorry, ${product.name} is sold out.`;
    }
    return `Only ${product.stock} left of ${product.name}${wanted ? ` (you asked for ${wanted})` : ""}.`;
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

  function renderLines(list, lines, { editable = false } = {}) {
    list.replaceChildren();
    for (const line of lines) {
      const { name, sku } = describe(line.product_id);
      const item = element(
        "li",
        { dataset: { testid: `${editable ? "cart" : "order"}-item-${sku}`, productId: line.product_id } },
        element(
          "span",
          { className: "line-name" },
          name,
          " × ",
          element("span", { dataset: { testid: "quantity" } }, String(line.quantity)),
        ),
        element("span", { className: "price" }, formatMoney(line.unit_price_cents * line.quantity)),
      );
      if (editable) {
        const step = (label, text, testid, quantity) => {
          const button = element("button", { type: "button", className: "step", ariaLabel: label, dataset: { testid } }, text);
          button.addEventListener("click", () => action(() => setQuantity(line.product_id, quantity)));
          return button;
        };
        item.append(
          element(
            "span",
            { className: "line-actions" },
            step(`One less ${name}`, "−", `less-${sku}`, line.quantity - 1),
            step(`One more ${name}`, "+", `more-${sku}`, line.quantity + 1),
            step(`Remove ${name} from the cart`, "Remove", `remove-${sku}`, 0),
          ),
        );
      }
      list.append(item);
    }
  }

  function renderCart() {
    const items = (state.cart && state.cart.items) || [];
    renderLines($("cart-items"), items, { editable: true });
    $("cart-empty").hidden = items.length > 0;
    $("cart-total").textContent = formatMoney((state.cart && state.cart.total_cents) || 0);
    const count = items.reduce((sum, item) => sum + item.quantity, 0);
    $("cart-count").textContent = String(count);
    $("cart-count").setAttribute("aria-label", `${count} item${count === 1 ? "" : "s"} in the cart`);
    updateButtons();
  }

  function openCart(open) {
    const panel = $("cart-panel");
    panel.classList.toggle("open", open);
    $("scrim").hidden = !open;
    $("cart-toggle").setAttribute("aria-expanded", String(open));
    if (open) {
      $("cart-heading").focus();
    }
  }

  // Order ------------------------------------------------------------------------------------------

  async function placeOrder() {
    const cart = state.cart;
    if (!cart || !(cart.items || []).length) {
      return;
    }
    // Kept until the order succeeds or the cart changes: a retried click returns the same order.
    state.idempotencyKey = state.idempotencyKey || newIdempotencyKey();
    let order;
    try {
      order = await api("POST", "/api/orders", {
        body: { cart_id: cart.id },
        headers: { "Idempotency-Key": state.idempotencyKey },
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === "out_of_stock") {
        throw await namedShortage(cart, error);
      }
      throw error;
    }
    setCart(null);
    showConfirmation(order);
    await refreshStock(order.lines || []);
  }

  /** The API's out_of_stock names product ids; the shopper gets the products' names and what is left. */
  async function namedShortage(cart, error) {
    await knowProducts(
      cart.items.map((item) => item.product_id),
      { fresh: true },
    );
    const short = cart.items
      .map((item) => ({ item, product: productsById.get(item.product_id) }))
      .filter(({ item, product }) => product && product.stock < item.quantity)
      .map(({ item, product }) => shortage(product, item.quantity));
    renderCart();
    refreshShownStock();
    return new ApiError(error.status, error.code, short.length ? short.join(" ") : `Sorry, ${error.message}.`);
  }

  /** After an order: the page again, revalidated, and never more stock shown than what was just bought left
   * (an edge cache may still hold the catalog read from before the order for up to a minute). */
  async function refreshStock(lines) {
    const before = new Map(lines.map((line) => [line.product_id, productsById.get(line.product_id)]));
    await loadProducts(state.cursor, { fresh: true });
    for (const line of lines) {
      const old = before.get(line.product_id);
      const now = productsById.get(line.product_id);
      if (old && now && now.stock > old.stock - line.quantity) {
        now.stock = Math.max(0, old.stock - line.quantity);
      }
    }
    refreshShownStock();
  }

  function refreshShownStock() {
    for (const card of document.querySelectorAll("#products li.card")) {
      const product = productsById.get(Number(card.dataset.productId));
      if (!product) {
        continue;
      }
      const stock = card.querySelector("[data-testid=stock]");
      stock.textContent = stockText(product.stock);
      stock.dataset.stock = String(product.stock);
      stock.classList.toggle("low", product.stock <= 5);
      const add = card.querySelector("button.add");
      add.textContent = product.stock > 0 ? "Add to cart" : "Sold out";
      add.dataset.soldOut = String(product.stock <= 0);
    }
    updateButtons();
  }

  function showConfirmation(order) {
    const lines = order.lines || [];
    $("order-id").textContent = String(order.id);
    renderLines($("order-lines"), lines);
    const total =
      order.total_cents ?? lines.reduce((sum, line) => sum + line.unit_price_cents * line.quantity, 0);
    $("order-total").textContent = formatMoney(total);
    $("confirmation").hidden = false;
    toast("Thank you! Your order is placed.");
  }

  // Wiring -----------------------------------------------------------------------------------------

  function updateButtons() {
    const busy = document.body.dataset.busy === "true";
    const empty = !state.cart || !(state.cart.items || []).length;
    $("place-order").disabled = busy || empty;
    for (const button of document.querySelectorAll("#cart-items button, .paging button, .chip")) {
      button.disabled = busy;
    }
    for (const button of document.querySelectorAll("#products button.add")) {
      const product = productsById.get(Number(button.dataset.productId));
      button.disabled = busy || !product || product.stock <= 0;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.body.dataset.busy = "false";
    state.q = (new URL(window.location.href).searchParams.get("q") || "").slice(0, 100);
    $("q").value = state.q;
    renderCategories();
    $("search").addEventListener("submit", (event) => {
      event.preventDefault();
      action(() => search($("q").value));
    });
    $("clear-search").addEventListener("click", () => action(() => search("")));
    $("next-page").addEventListener("click", () =>
      action(async () => {
        state.previous.push(state.cursor);
        try {
          await loadProducts(state.nextCursor, { focus: true });
        } catch (error) {
          state.previous.pop();
          throw error;
        }
      }),
    );
    $("prev-page").addEventListener("click", () =>
      action(async () => {
        const back = state.previous.pop() ?? null;
        await loadProducts(back, { focus: true });
      }),
    );
    $("place-order").addEventListener("click", () => action(placeOrder));
    $("cart-toggle").addEventListener("click", () => openCart(!$("cart-panel").classList.contains("open")));
    $("cart-close").addEventListener("click", () => openCart(false));
    $("scrim").addEventListener("click", () => openCart(false));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && $("cart-panel").classList.contains("open")) {
        openCart(false);
        $("cart-toggle").focus();
      }
    });
    action(async () => {
      await loadProducts(null);
      await restoreCart();
    });
  });
})();
