"""Secrets Manager reads (boto3), used only when the service runs in AWS."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from storefront.db.pool import Credentials


def read_secret_string(arn: str) -> str:
    """The SecretString of the secret `arn` (blocking; region and credentials from the task role)."""
    import boto3  # type: ignore[import-untyped]

    client: Any = boto3.client("secretsmanager")
    response: dict[str, Any] = client.get_secret_value(SecretId=arn)
    return str(response["SecretString"])


def database_credentials_reader(arn: str) -> Any:
    """An async callable returning the username/password held in the RDS credentials secret `arn`."""

    async def read() -> Credentials:
        raw = await asyncio.to_thread(read_secret_string, arn)
        data = json.loads(raw)
        return Credentials(username=str(data["username"]), password=str(data["password"]))

    return read


def read_admin_token(arn: str) -> str:
    """The admin token from its secret: a plain string, or JSON with a `token` field."""
    raw = read_secret_string(arn).strip()
    if raw.startswith("{"):
        return str(json.loads(raw)["token"])
    return raw
