"""Fixtures for the ops tests: the real CLI, real tools, and a local ACME world on loopback."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from freemarket.ops.process import which
from tests.cli.conftest import FREEMARKET, Result, cli_env

OpsRun = Callable[..., Result]


def require_tool(name: str) -> str:
    """The tool's path; missing, the test is skipped (with the reason) or, under CI, failed."""
    found = which(name)
    if found is None:
        reason = f"`{name}` is not installed (run `make test-tools`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    return found


def require_pg_clients(db_url: str) -> None:
    """Skip (or fail under CI) a PostgreSQL backup test when no matching client is installed."""
    if not db_url.startswith("postgresql"):
        return
    from sqlalchemy.engine import make_url

    from freemarket.ops.backup import BackupError
    from freemarket.ops.backup.drivers import _PostgresDatabase

    try:
        database = _PostgresDatabase(make_url(db_url))
        for tool in ("pg_dump", "pg_restore", "psql"):
            database._tool(tool)
    except BackupError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(exc.message)
        pytest.skip(exc.message)


def _runner(db_url: str, tmp_path: Path) -> OpsRun:
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)
    base_env = cli_env(db_url, tmp_path)

    def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        started = time.perf_counter()
        done = subprocess.run(
            [FREEMARKET, *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env={**base_env, **(env or {})},
            cwd=workdir,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)

    return _run


@pytest.fixture
def ops_run(db_url: str, tmp_path: Path) -> OpsRun:
    """Run `freemarket ARGS...` in an empty directory against the test database and backups."""
    return _runner(db_url, tmp_path)


@pytest.fixture
def tls_run(tmp_path: Path) -> OpsRun:
    """Run `freemarket ARGS...` for commands that need no database (once, not per backend)."""
    return _runner(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)


# --- a local ACME world: DNS that says 127.0.0.1, pebble, and nginx serving the webroot -------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackDNS:
    """A UDP DNS server answering every A query with 127.0.0.1 and other types with nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.queries: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.answer(query)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, query: bytes) -> bytes | None:
        """The response to one query (RFC 1035 wire format), or None if it is not one."""
        if len(query) < 17:
            return None
        ident, flags = struct.unpack(">HH", query[:4])
        labels, end = [], 12
        while end < len(query) and query[end] != 0:
            labels.append(query[end + 1 : end + 1 + query[end]].decode("ascii", "replace"))
            end += query[end] + 1
        end += 1
        if end + 4 > len(query):
            return None
        qtype = struct.unpack(">H", query[end : end + 2])[0]
        question = query[12 : end + 4]
        self.queries.append(".".join(labels))
        answers = b""
        if qtype == 1:  # A: the name (a pointer to the question) is 127.0.0.1
            answers = (
                b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
            )
        # Response, authoritative, recursion available; copy the recursion-desired bit.
        reply_flags = 0x8000 | 0x0400 | 0x0080 | (flags & 0x0100)
        header = struct.pack(">HHHHHH", ident, reply_flags, 1, 1 if answers else 0, 0, 0)
        return header + question + answers

    def close(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def _write_test_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it, for pebble's HTTPS API."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FreeMarket test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited ({process.returncode}): {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{what} did not listen on {port}: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True, slots=True)
class AcmeWorld:
    """Where the local ACME server, its trust anchor and the nginx serving the webroot are."""

    directory_url: str
    ca_bundle: Path
    webroot: Path
    nginx_reload: str
    dns: LoopbackDNS


@pytest.fixture(scope="module")
def acme_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeWorld]:
    """pebble validating HTTP-01 for real against nginx on loopback, names resolved by our DNS."""
    pebble = require_tool("pebble")
    nginx = require_tool("nginx")
    require_tool("certbot")
    base = tmp_path_factory.mktemp("acme")
    ca_bundle, cert, key = _write_test_ca(base)
    http_port, api_port = free_port(), free_port()
    webroot = base / "webroot"
    webroot.mkdir()

    # nginx: the production layout in miniature, serving only the ACME challenge directory.
    (base / "nginx-tmp").mkdir()
    conf = base / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"""
worker_processes 1;
daemon off;
pid {base}/nginx.pid;
error_log {base}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log {base}/nginx-access.log;
    client_body_temp_path {base}/nginx-tmp/body;
    proxy_temp_path {base}/nginx-tmp/proxy;
    fastcgi_temp_path {base}/nginx-tmp/fastcgi;
    uwsgi_temp_path {base}/nginx-tmp/uwsgi;
    scgi_temp_path {base}/nginx-tmp/scgi;
    server {{
        listen 127.0.0.1:{http_port};
        location /.well-known/acme-challenge/ {{ root {webroot}; default_type text/plain; }}
        location / {{ return 404; }}
    }}
}}
"""
    )
    nginx_argv = [nginx, "-p", str(base), "-e", str(base / "nginx-error.log"), "-c", str(conf)]
    nginx_log = base / "nginx-error.log"
    nginx_log.touch()
    nginx_proc = subprocess.Popen(nginx_argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    dns = LoopbackDNS()
    pebble_proc = None
    try:
        _wait_for_port(http_port, nginx_proc, nginx_log, "nginx")
        config = base / "pebble.json"
        config.write_text(
            f"""{{"pebble": {{
  "listenAddress": "127.0.0.1:{api_port}",
  "managementListenAddress": "127.0.0.1:{free_port()}",
  "certificate": "{cert}",
  "privateKey": "{key}",
  "httpPort": {http_port},
  "tlsPort": {free_port()},
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}}}"""
        )
        pebble_log = base / "pebble.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        # No random 0-15 s pause before validating, no randomly rejected nonces: real
        # validation, minus the jitter pebble adds to shake out client bugs.
        env.update(PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        with pebble_log.open("wb") as log_handle:
            pebble_proc = subprocess.Popen(
                [pebble, "-config", str(config), "-dnsserver", dns.address],
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=base,
            )
        _wait_for_port(api_port, pebble_proc, pebble_log, "pebble")
        yield AcmeWorld(
            directory_url=f"https://127.0.0.1:{api_port}/dir",
            ca_bundle=ca_bundle,
            webroot=webroot,
            nginx_reload=" ".join([*nginx_argv, "-s", "reload"]),
            dns=dns,
        )
    finally:
        if pebble_proc is not None:
            _stop(pebble_proc)
        _stop(nginx_proc)
        dns.close()
