"""`freemarket serve` believes X-Forwarded-For only from FORWARDED_ALLOW_IPS (finding 9).

Observed through what it is for: the per-address sign-in limit (2 a minute here). A believed
forged header moves the caller to another address, with a budget of its own; an ignored one
does not. Forgers connect from 127.0.0.1 and from 127.0.0.2 (both loopback, different peers).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.processes import FREEMARKET, clean_env, running

SIGNIN = "/api/auth/code"


def _serve(base: Path, trusted: str | None) -> Iterator[str]:
    base.mkdir()
    env = clean_env(DATA_DIR=str(base / "data"), RATE_LIMIT_SIGNIN_PER_MINUTE="2")
    if trusted is not None:
        env["FORWARDED_ALLOW_IPS"] = trusted
    subprocess.run([FREEMARKET, "migrate"], env=env, cwd=base, check=True, capture_output=True)
    port = free_port()
    argv = [FREEMARKET, "serve", "--port", str(port)]
    with running(argv, port=port, log=base / "serve.log", env=env, cwd=base):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that trusts the proxy at 127.0.0.1 only."""
    yield from _serve(tmp_path_factory.mktemp("proxied") / "s", "127.0.0.1")


@pytest.fixture(scope="module")
def no_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with FORWARDED_ALLOW_IPS unset: no proxy trusted, not even loopback."""
    yield from _serve(tmp_path_factory.mktemp("direct") / "s", None)


def _sign_in(url: str, forwarded_for: str, *, peer: str = "127.0.0.1") -> int:
    transport = httpx.HTTPTransport(local_address=peer)
    with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post(SIGNIN, json={"code": "wrong-code-123"}, headers=headers).status_code


def test_a_trusted_proxy_names_the_client(behind_proxy: str) -> None:
    assert [_sign_in(behind_proxy, "198.51.100.1") for _ in range(3)] == [401, 401, 429]
    # Another visitor behind the same proxy still has the whole budget.
    assert _sign_in(behind_proxy, "198.51.100.2") == 401


def test_a_forged_header_from_an_untrusted_peer_is_ignored(behind_proxy: str) -> None:
    forged = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    codes = [_sign_in(behind_proxy, ip, peer="127.0.0.2") for ip in forged]
    assert codes == [401, 401, 429]


def test_by_default_nobody_is_trusted(no_proxy: str) -> None:
    codes = [_sign_in(no_proxy, ip) for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3")]
    assert codes == [401, 401, 429]
