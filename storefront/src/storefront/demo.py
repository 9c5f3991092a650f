"""The demo catalog `storefront seed` writes: products a shopper would recognise, the same for every run.

Product n (1-based) is a colour, a material and a category: "Ochre linen shirt", SKU `SHI-000123`, a
price in the category's range, a description. Nothing is random: product n is always the same product,
so seeding is idempotent by SKU and the benchmarks know how many products each word matches at any size
(categories cycle every 8 products, a category's twelve colours every 96 and its six materials every 576;
every description says "Free returns within 30 days"). The API has no category field: the SKU's prefix
is the category, and the page picks the picture (storefront/web/img/<category>.svg) from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    prefix: str  # SKU prefix, also the page's picture: img/<slug>.svg
    slug: str
    noun: str
    plural: str
    base_cents: int
    detail: str
    materials: tuple[str, ...]  # six each


CATEGORIES = (
    Category(
        "SHI",
        "shirt",
        "shirt",
        "Shirts",
        2400,
        "Cut for everyday wear, with a soft collar and real buttons.",
        ("linen", "cotton", "flannel", "oxford", "denim", "silk"),
    ),
    Category(
        "MUG",
        "mug",
        "mug",
        "Mugs",
        1200,
        "Holds 350 ml, dishwasher safe, with a handle that fits two fingers.",
        ("stoneware", "enamel", "porcelain", "glazed", "speckled", "matte"),
    ),
    Category(
        "LMP",
        "lamp",
        "desk lamp",
        "Lamps",
        4500,
        "A warm 2700 K light on a weighted base that does not tip.",
        ("brass", "oak", "steel", "ceramic", "walnut", "aluminium"),
    ),
    Category(
        "SNK",
        "sneaker",
        "sneaker",
        "Sneakers",
        6900,
        "Cushioned sole, breathable upper, laces in a matching tone.",
        ("canvas", "suede", "leather", "knit", "mesh", "recycled"),
    ),
    Category(
        "BAG",
        "bag",
        "tote bag",
        "Bags",
        3200,
        "Carries a laptop and lunch; the straps are stitched twice.",
        ("canvas", "leather", "cotton", "waxed", "nylon", "jute"),
    ),
    Category(
        "NTB",
        "notebook",
        "notebook",
        "Notebooks",
        900,
        "192 dotted pages of 100 g paper that fountain pens do not bleed through.",
        ("linen", "kraft", "leather", "cloth", "recycled", "vegan"),
    ),
    Category(
        "PLT",
        "plant",
        "plant pot",
        "Plant pots",
        1800,
        "Glazed inside, with a drainage hole and a saucer.",
        ("terracotta", "ceramic", "concrete", "glazed", "speckled", "woven"),
    ),
    Category(
        "HDP",
        "headphones",
        "headphones",
        "Headphones",
        8900,
        "Closed-back, 30 hours of battery, folds flat into its case.",
        ("wireless", "studio", "travel", "foldable", "wired", "sport"),
    ),
)
COLOURS = ("Ochre", "Navy", "Forest", "Charcoal", "Coral", "Sand", "Plum", "Teal", "Ivory", "Rust", "Sky", "Olive")


COLUMNS = ("sku", "name", "description", "price_cents", "currency", "stock")


def product(n: int) -> dict[str, object]:
    """Product number n (1-based) of the demo catalog, as the products table takes it."""
    category = CATEGORIES[(n - 1) % len(CATEGORIES)]
    # Neighbours differ in colour (the first page is not all ochre); each category still meets each colour
    # once in every 96 products: for a category, k -> (k + 5 * category) % 12 is one-to-one.
    k, c = divmod(n - 1, len(CATEGORIES))
    colour = COLOURS[(k + 5 * c) % len(COLOURS)]
    material = category.materials[(n - 1) // (len(CATEGORIES) * len(COLOURS)) % len(category.materials)]
    name = f"{colour} {material} {category.noun}"
    return {
        "sku": f"{category.prefix}-{n:06d}",
        "name": name,
        "description": f"{category.detail} {material.capitalize()}, in {colour.lower()}. Free returns within 30 days.",
        # 99-ending prices spread over the category's range, the same for product n on every run.
        "price_cents": category.base_cents + (n * 37) % 20 * 100 - 1,
        "currency": "USD",
        # Mostly well stocked; every 13th product has only a few left, every 29th none.
        "stock": 0 if n % 29 == 0 else 3 if n % 13 == 0 else 20 + n % 80,
    }
