"""The shipped deploy files: nginx accepts its config (real `nginx -t`), compose is sound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from freemarket.ops import doctor
from tests.ops.conftest import require_tool
from tests.ops.fakes.certs import write_self_signed

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx" / "freemarket.conf"
NGINX_HEADERS = REPO / "deploy" / "nginx" / "security-headers.conf"
COMPOSE = REPO / "docker-compose.prod.yml"
# Container paths in freemarket.conf, moved under the test's temporary directory.
CONTAINER_PATHS = (
    "/etc/nginx/certs",
    "/etc/nginx/maintenance",
    "/etc/nginx/snippets",
    "/usr/share/nginx/html",
    "/usr/share/nginx/maintenance",
    "/var/www/certbot",
    "/var/log/nginx",
)


def nginx_main_config(tmp_path: Path, server_conf: str, *, foreground: bool = False) -> Path:
    """A complete nginx.conf around `server_conf`, with every path inside tmp_path.

    `foreground`: to run it (not only `nginx -t`): in the foreground, one worker, as this user.
    """
    for path in CONTAINER_PATHS:
        (tmp_path / path.strip("/")).mkdir(parents=True, exist_ok=True)
        server_conf = server_conf.replace(path, str(tmp_path / path.strip("/")))
    write_self_signed(tmp_path / "etc/nginx/certs", "fm.test")
    (tmp_path / "etc/nginx/snippets" / NGINX_HEADERS.name).write_text(NGINX_HEADERS.read_text())
    (tmp_path / "freemarket.conf").write_text(server_conf)
    temp = tmp_path / "temp"
    temp.mkdir()
    main = tmp_path / "nginx.conf"
    run = ""
    if foreground:
        run = "daemon off;\nworker_processes 1;\n" + ("user root;\n" if os.geteuid() == 0 else "")
    main.write_text(
        run
        + f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log {tmp_path}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {tmp_path}/freemarket.conf;
}}
"""
    )
    return main


@pytest.fixture
def nginx() -> str:
    """The nginx binary (skipped when missing, failed under CI=true)."""
    return require_tool("nginx")


def test_nginx_accepts_the_shipped_config(nginx: str, tmp_path: Path) -> None:
    config = nginx_main_config(tmp_path, NGINX_CONF.read_text())
    ok, verdict = doctor.nginx_test(config, nginx)
    assert ok, verdict
    result = doctor.diagnose_nginx(config, None)
    assert result.status == "pass" and "successful" in result.detail


def test_nginx_error_is_reported_in_one_line(nginx: str, tmp_path: Path) -> None:
    broken = NGINX_CONF.read_text().replace("proxy_pass $backend;", "proxy_pass;", 1)
    result = doctor.diagnose_nginx(nginx_main_config(tmp_path, broken), None)
    assert result.status == "fail"
    assert "[emerg]" in result.detail and "proxy_pass" in result.detail


def test_nginx_config_routes() -> None:
    conf = NGINX_CONF.read_text()
    for location in ("location ^~ /api/", "location = /health", "location = /metrics",
                     "location = /telegram/webhook", "/.well-known/acme-challenge/"):  # fmt: skip
        assert location in conf
    assert "root /var/www/certbot;" in conf
    assert "if (-f /etc/nginx/maintenance/maintenance.on)" in conf
    metrics = conf[conf.index("location = /metrics") :].split("}", 2)
    assert "return 403" in "".join(metrics[:2])


def test_compose_file_layout() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "backend", "worker", "bot", "nginx",
                             "prometheus", "alertmanager", "node-exporter"}  # fmt: skip
    assert {"postgres_data", "redis_data", "backups"} <= set(compose["volumes"])
    published = {name: s.get("ports", []) for name, s in services.items()}
    assert published["db"] == [] and published["redis"] == []
    assert not any("5432" in p or "6379" in p for ports in published.values() for p in ports)
    backend = services["backend"]
    assert "container_name" not in backend and "ports" not in backend
    assert backend["build"]["dockerfile"] == "deploy/Dockerfile"
    assert backend["command"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "/health/ready" in " ".join(backend["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["worker"]["command"] == ["worker"] and services["bot"]["command"] == ["bot"]
    assert backend["environment"]["ENVIRONMENT"] == "production"
    assert backend["environment"]["DATABASE_URL"].startswith(
        "postgresql+psycopg2://freemarket:${DB_PASSWORD"
    )
    assert sorted(services["nginx"]["ports"]) == ["443:443", "80:80"]
    for source in ("./monitoring/prometheus.yml", "./monitoring/alertmanager.yml"):
        mounts = services["prometheus"]["volumes"] + services["alertmanager"]["volumes"]
        assert any(m.startswith(source + ":") for m in mounts)
    assert (REPO / "deploy" / "nginx" / "maintenance.html").is_file()


def test_dockerfile_stages() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert "FROM node:20" in dockerfile and "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
    assert "USER freemarket" in dockerfile
    assert 'ENTRYPOINT ["freemarket"]' in dockerfile
    # the app stage is last, so a plain build (no --target) gives the application image
    assert dockerfile.rindex("FROM python:3.11-slim") > dockerfile.rindex("FROM node:20")
    # No `# syntax=` line: it makes BuildKit fetch a frontend image from a registry.
    assert "syntax=" not in dockerfile.splitlines()[0]
    assert not any(line.startswith("# syntax") for line in dockerfile.splitlines())
    # Dependencies are installed before the code is copied (a code change reuses that layer).
    assert dockerfile.index("pip install .") < dockerfile.index("COPY freemarket ./freemarket")
    # The metrics directory the compose file names exists and belongs to the app's user.
    assert "/tmp/metrics" in dockerfile


def test_images_are_pinned() -> None:
    """Every pulled image names a version; Alertmanager is new enough for bot_token_file."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    # The application image (backend, worker, bot) is built per release; the rest is pulled.
    pulled = {n: s["image"] for n, s in services.items() if "FREEMARKET_TAG" not in s["image"]}
    for name, image in pulled.items():
        tag = image.rpartition(":")[2]
        assert tag and tag != "latest" and any(c.isdigit() for c in tag), (name, image)
    version = pulled["alertmanager"].rpartition(":v")[2]
    assert tuple(int(p) for p in version.split(".")[:2]) >= (0, 26)


def test_backend_believes_forwarded_addresses_from_nginx_only() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    subnet = compose["networks"]["proxy"]["ipam"]["config"][0]["subnet"]
    assert services["backend"]["environment"]["FORWARDED_ALLOW_IPS"] == subnet
    # nginx reaches the backend over `proxy` alone, so its requests always come from there...
    assert services["nginx"]["networks"] == ["proxy"]
    assert set(services["backend"]["networks"]) == {"default", "proxy"}
    # ...and no other service is on it, so nothing else can choose its own client address.
    others = {name for name, s in services.items() if "proxy" in s.get("networks", [])}
    assert others == {"nginx", "backend"}
    assert "/etc/nginx/snippets/security-headers.conf" in " ".join(services["nginx"]["volumes"])
