"""A real AWS API emulator (moto's server mode) on 127.0.0.1, over HTTP, for code that calls AWS APIs.

Nothing here replaces boto3: the code under test builds its clients as it does against AWS, and the
standard `AWS_ENDPOINT_URL` variable (botocore >= 1.31) points every client at the emulator instead.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "us-east-1"
# The emulator accepts any credentials; these keep a developer's own profile out of the tests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass(frozen=True)
class AwsEmulator:
    """The emulator's endpoint, and clients for the tests' own setup calls."""

    endpoint_url: str

    def client(self, service: str, region: str = REGION) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def reset(self) -> None:
        """Forget every resource (moto's reset API), so that each test starts from an empty account."""
        # The emulator's own http://127.0.0.1 address, never a user-given URL.
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()


@pytest.fixture(scope="session")
def aws_emulator() -> Iterator[AwsEmulator]:
    """moto's server on a free loopback port, started once per test process."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield AwsEmulator(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def aws(aws_emulator: AwsEmulator, monkeypatch: pytest.MonkeyPatch) -> AwsEmulator:
    """An empty emulated account that every boto3 client in this process reaches through the standard
    environment (`AWS_ENDPOINT_URL`, credentials, region), as the user's own shell would configure it."""
    aws_emulator.reset()
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_emulator.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return aws_emulator
