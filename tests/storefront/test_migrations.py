"""Migrations: exactly once under concurrency (real processes), failures exit non-zero."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from storefront.db import migrate
from storefront.db.embedded import EmbeddedPostgres

from tests.storefront.conftest import create_database, drop_database


def _migrate_cmd(url: str, migrations: Path | None = None) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
    env["DATABASE_URL"] = url
    if migrations is not None:
        env["STOREFRONT_MIGRATIONS_DIR"] = str(migrations)
    return [sys.executable, "-m", "storefront", "migrate"], env


def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_ten_processes_starting_at_once_apply_each_migration_exactly_once(pg: EmbeddedPostgres, scratch: Path) -> None:
    """Every process must exit 0; a second application of a migration would fail (no IF NOT EXISTS)."""
    migrations = scratch / "migrations"
    migrations.mkdir()
    for src in migrate.load():
        (migrations / src.name).write_text(src.sql)
    # A migration that is visibly non-idempotent: applied twice, it would leave two rows.
    (migrations / "0100_counter.sql").write_text(
        "CREATE TABLE applied_counter (n integer); INSERT INTO applied_counter VALUES (1);"
    )
    name = create_database(pg, template="template1")
    url = pg.superuser_url(name)
    try:
        cmd, env = _migrate_cmd(url, migrations)
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(10)]
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 10, outputs
        rows = _fetch(url, "SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in migrate.load(migrations)]
        assert _fetch(url, "SELECT count(*) AS n FROM applied_counter")[0]["n"] == 1
        applied_lines = sum(out.count('"applied migration"') for out in outputs)
        assert applied_lines == len(rows)
    finally:
        drop_database(pg, name)


def test_failed_migration_exits_non_zero_and_is_not_recorded(pg: EmbeddedPostgres, scratch: Path) -> None:
    migrations = scratch / "migrations"
    migrations.mkdir()
    (migrations / "0001_ok.sql").write_text("CREATE TABLE ok (id int);")
    (migrations / "0002_broken.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    name = create_database(pg, template="template1")
    url = pg.superuser_url(name)
    try:
        cmd, env = _migrate_cmd(url, migrations)
        result = subprocess.run(cmd, env=env, capture_output=True, timeout=60, check=False)
        assert result.returncode != 0
        assert b"0002_broken.sql" in result.stdout
        versions = [r["version"] for r in _fetch(url, "SELECT version FROM schema_migrations")]
        assert versions == [1]
        assert _fetch(url, "SELECT to_regclass('half') AS t")[0]["t"] is None
    finally:
        drop_database(pg, name)


@pytest.mark.anyio
async def test_migration_edited_after_it_was_applied_is_refused(database: str, scratch: Path) -> None:
    migrations = scratch / "migrations"
    migrations.mkdir()
    for src in migrate.load():
        (migrations / src.name).write_text(src.sql + "\n-- edited\n")
    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
            await migrate.apply(conn, migrations)
    finally:
        await conn.close()
