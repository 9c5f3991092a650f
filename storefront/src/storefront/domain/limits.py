"""The limits of what the service stores and accepts, once: models, parameters and the OpenAPI document
read them from here."""

from __future__ import annotations

# PostgreSQL bigint: the largest product id, and the cursor's largest position.
MAX_ID = 2**63 - 1
MAX_ID_DIGITS = len(str(MAX_ID))
MAX_PRICE_CENTS = 10**10
MAX_STOCK = 10**9
MAX_QUANTITY = 1000

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR = 200
MAX_QUERY = 100

# Printable ASCII without the space, as HTTP header values allow it unquoted.
IDEMPOTENCY_KEY_CHARS = r"[\x21-\x7e]"
MAX_IDEMPOTENCY_KEY = 200

# The NUL rule as a JSON Schema pattern, for documents that cannot run `text_problem`.
NO_NUL = r"^[^\x00]*$"


def text_problem(value: str) -> str | None:
    """Why PostgreSQL text cannot hold `value` (a NUL or an unpaired surrogate), or None when it can.

    Checked on input, so such text is a 422 rather than a 500 from the database later.
    """
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None
