"""The shipped nginx config, run for real in front of a real backend: every security header on
every kind of answer (web UI, assets, API, errors, maintenance) exactly once.

Finding 10: `add_header` in `location /` and `/assets/` dropped the server-level headers (no
HSTS, nosniff, X-Frame-Options or CSP on the web UI), and `/api/` answers carried nginx's and
the backend's copies, with different values.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from freemarket.api.middleware import security_headers
from tests.conftest import free_port
from tests.ops.test_deploy_files import NGINX_CONF, NGINX_HEADERS, nginx_main_config
from tests.processes import FREEMARKET, clean_env, running

# What the backend sends over HTTPS: nginx must send exactly these, once.
EXPECTED = {name.decode(): value.decode() for name, value in security_headers(hsts=True)}


def test_snippet_and_backend_send_the_same_headers() -> None:
    lines = re.findall(r'^add_header (\S+) "([^"]*)" always;$', NGINX_HEADERS.read_text(), re.M)
    assert {name.lower(): value for name, value in lines} == EXPECTED
    hidden = re.findall(r"^proxy_hide_header (\S+);$", NGINX_HEADERS.read_text(), re.M)
    assert {name.lower() for name in hidden} == set(EXPECTED)


def test_every_location_with_headers_of_its_own_includes_the_snippet() -> None:
    # nginx forgets inherited add_header lines in a block that has any of its own.
    blocks = re.split(r"\n\s*location ", NGINX_CONF.read_text())
    for block in blocks[1:]:
        body = block.split("\n    }", 1)[0]
        if "add_header" in body:
            assert "include /etc/nginx/snippets/security-headers.conf;" in body, body


@dataclass
class Site:
    """nginx with the shipped config on loopback, in front of `freemarket serve`."""

    url: str
    maintenance_flag: Path
    access_log: Path
    app_port: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The production layout in miniature: nginx (TLS) → backend, web UI files on disk."""
    from tests.ops.conftest import require_tool

    nginx = require_tool("nginx")
    base = tmp_path_factory.mktemp("nginx-headers")
    # The backend serves the web UI too; nginx proxies everything.
    dist = base / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>FreeMarket</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('ok')")
    env = clean_env(DATA_DIR=str(base / "data"), WEB_DIST_DIR=str(dist))
    subprocess.run([FREEMARKET, "migrate"], env=env, cwd=base, check=True, capture_output=True)
    app_port, http_port, tls_port = free_port(), free_port(), free_port()
    conf = NGINX_CONF.read_text()
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = conf.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    conf = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", conf)
    conf = conf.replace("http://backend:8000", f"http://127.0.0.1:{app_port}")
    main = nginx_main_config(base, conf, foreground=True)
    (base / "usr/share/nginx/maintenance/maintenance.html").write_text("<h1>maintenance</h1>")
    serve = [FREEMARKET, "serve", "--port", str(app_port)]
    web = [nginx, "-p", str(base), "-e", str(base / "error.log"), "-c", str(main)]
    with (
        running(serve, port=app_port, log=base / "serve.log", env=env, cwd=base),
        running(web, port=tls_port, log=base / "error.log", env=env, cwd=base),
    ):
        yield Site(
            url=f"https://127.0.0.1:{tls_port}",
            maintenance_flag=base / "etc/nginx/maintenance/maintenance.on",
            access_log=base / "var/log/nginx/access.log",
            app_port=app_port,
        )


def _assert_headers_once(response: httpx.Response) -> None:
    what = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], f"{what}: {name}"
    names = [name.lower() for name, _ in response.headers.raw if name.lower() != b"set-cookie"]
    assert len(names) == len(set(names)), f"{what}: a header twice in {names}"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/exchanges/12", 200),  # a route of the single-page app
        ("/assets/index-abc123.js", 200),
        ("/assets/missing.js", 404),
        ("/api/categories", 200),
        ("/api/users/me", 401),
        ("/api/no-such-route", 404),
        ("/health", 200),
    ],
)
def test_every_header_exactly_once(site: Site, path: str, status: int) -> None:
    with httpx.Client(verify=False, timeout=30) as client:
        response = client.get(site.url + path)
    assert response.status_code == status, response.text[:200]
    _assert_headers_once(response)
    if path.startswith("/assets/") and status == 200:
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_maintenance_page_carries_them_too(site: Site) -> None:
    site.maintenance_flag.write_text("")
    try:
        with httpx.Client(verify=False, timeout=30) as client:
            for path in ("/", "/api/categories"):
                response = client.get(site.url + path)
                assert response.status_code == 503
                assert response.headers["retry-after"] == "600"
                _assert_headers_once(response)
    finally:
        site.maintenance_flag.unlink()


def test_the_answering_replica_is_named_in_the_header_and_the_access_log(site: Site) -> None:
    # No access log line per request in the backend (ACCESS_LOG=false): nginx logs each one,
    # naming the replica that answered, and the replica names itself in X-Served-By.
    path = f"/api/categories?probe={time.monotonic_ns()}"
    with httpx.Client(verify=False, timeout=30) as client:
        response = client.get(site.url + path)
    assert response.status_code == 200
    assert response.headers.get_list("x-served-by") == [socket.gethostname()]

    def logged() -> list[str]:
        lines = site.access_log.read_text().splitlines() if site.access_log.exists() else []
        return [line for line in lines if path in line]

    deadline = time.monotonic() + 10
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.1)  # nginx writes the line after sending the answer
    [line] = logged()
    assert f'"GET {path} HTTP/1.1" 200 ' in line
    assert f"upstream=127.0.0.1:{site.app_port} upstream_status=200 " in line
    assert re.search(r"request_time=\d+\.\d{3} upstream_time=\d+\.\d{3}$", line), line
