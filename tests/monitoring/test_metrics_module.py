"""freemarket.infra.metrics: route-template labels, bounded 404s, domain gauges, multiprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from freemarket.infra import metrics

REPO_ROOT = Path(__file__).resolve().parents[2]


def _requests(route: str, status: str, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("freemarket_http_requests_total", labels) or 0.0


def _observations(route: str, status: str, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": status}
    name = "freemarket_http_request_duration_seconds_count"
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def client() -> TestClient:
    """A tiny app shaped like ours: a parametrised route, a failing one, a mounted sub-app."""
    app = FastAPI()

    @app.get("/api/items/{item_id}")
    def get_item(item_id: int) -> dict[str, int]:
        if item_id == 404:
            raise HTTPException(status_code=404)
        return {"id": item_id}

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    sub = FastAPI()

    @sub.get("/users/{user_id}")
    def sub_user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    app.mount("/admin", sub)
    app.add_middleware(metrics.PrometheusMiddleware, skip_routes={"/healthz"})
    return TestClient(app, raise_server_exceptions=False)


def test_labels_use_the_route_template(client: TestClient) -> None:
    template = "/api/items/{item_id}"
    before = _requests(template, "200"), _observations(template, "200")
    for item_id in (1, 2, 3):
        assert client.get(f"/api/items/{item_id}").status_code == 200
    assert (_requests(template, "200"), _observations(template, "200")) == (
        before[0] + 3,
        before[1] + 3,
    )
    assert _requests("/api/items/1", "200") == 0


def test_error_statuses_keep_the_template(client: TestClient) -> None:
    not_found = _requests("/api/items/{item_id}", "404")
    failed = _requests("/api/boom", "500")
    assert client.get("/api/items/404").status_code == 404
    assert client.get("/api/boom").status_code == 500  # raised, no response started
    assert _requests("/api/items/{item_id}", "404") == not_found + 1
    assert _requests("/api/boom", "500") == failed + 1


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    before = _requests(metrics.UNMATCHED_ROUTE, "404")
    paths = [f"/no/such/{uuid.uuid4().hex}" for _ in range(5)]
    for path in paths:
        assert client.get(path).status_code == 404
    assert _requests(metrics.UNMATCHED_ROUTE, "404") == before + 5
    body = metrics.render_latest()[0].decode()
    assert not any(path in body for path in paths)


def test_mounted_app_routes_get_their_prefix(client: TestClient) -> None:
    before = _requests("/admin/users/{user_id}", "200")
    assert client.get("/admin/users/7").status_code == 200
    assert _requests("/admin/users/{user_id}", "200") == before + 1


def test_skipped_routes_are_not_recorded(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert _requests("/healthz", "200") == 0


def test_render_latest_is_prometheus_text(client: TestClient) -> None:
    client.get("/api/items/1")
    body, content_type = metrics.render_latest()
    assert content_type.startswith("text/plain; version=")
    text = body.decode()
    assert 'freemarket_http_requests_total{method="GET",route="/api/items/{item_id}"' in text
    assert "freemarket_build_info{version=" in text


def test_refresh_domain_gauges_sets_and_resets() -> None:
    metrics.refresh_domain_gauges(
        {
            "users": 12,
            "items_active": {"offer": 7, "want": 3},
            "notifications": {"pending": 4, "dead": 1},
            "exchanges": {"proposed": 2, "completed": 5},
            "matching_backlog": 9,
            "backup_last_success_timestamp": 1_700_000_000,
            "tls_certificate_expiry_timestamp": 1_800_000_000,
        }
    )
    # a later query without a row for a status must not leave its old count behind
    metrics.refresh_domain_gauges({"notifications": {"sent": 6}, "exchanges": {"completed": 6}})

    def value(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert value("freemarket_users") == 12
    assert value("freemarket_items_active", kind="want") == 3
    assert value("freemarket_matching_backlog_jobs") == 9
    assert value("freemarket_backup_last_success_timestamp_seconds") == 1_700_000_000
    assert value("freemarket_tls_certificate_expiry_timestamp_seconds") == 1_800_000_000
    assert {
        s: value("freemarket_notifications", status=s) for s in metrics.NOTIFICATION_STATUSES
    } == {
        "pending": 0,
        "sent": 6,
        "failed": 0,
        "dead": 0,
    }
    assert value("freemarket_exchanges", state="proposed") == 0
    assert value("freemarket_exchanges", state="completed") == 6


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"user_count": 1}, KeyError),
        ({"users": {"a": 1}}, TypeError),
        ({"exchanges": 3}, TypeError),
    ],
)
def test_refresh_domain_gauges_rejects_bad_input(values: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        metrics.refresh_domain_gauges(values)


# Each run of this script is one "uvicorn worker": it serves a request through the middleware
# and refreshes the gauges from "the database".
_WORKER = """
import sys
from fastapi import FastAPI
from fastapi.testclient import TestClient
from freemarket.infra import metrics

app = FastAPI()
app.get("/api/items/{item_id}")(lambda item_id: {})
app.add_middleware(metrics.PrometheusMiddleware)
TestClient(app).get("/api/items/1")
metrics.refresh_domain_gauges({"users": int(sys.argv[1]), "notifications": {"pending": 3}})
"""
_RENDER = "from freemarket.infra import metrics; print(metrics.render_latest()[0].decode())"


def test_multiprocess_mode_merges_processes(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_99999.db").write_bytes(b"stale")
    metrics.prepare_multiprocess_dir(directory)
    assert not (directory / "counter_99999.db").exists()

    # A fresh interpreter per process: the mode is chosen when prometheus_client is imported.
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory)}

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("-c", _WORKER, "5")
    run("-c", _WORKER, "7")
    body = run("-c", _RENDER)

    request = (
        'freemarket_http_requests_total{method="GET",route="/api/items/{item_id}",status="200"}'
    )
    assert f"{request} 2.0" in body  # counted by two processes, summed
    assert "freemarket_users 7.0" in body  # the most recent refresh wins
    assert 'freemarket_notifications{status="pending"} 3.0' in body
    assert "pid=" not in body  # gauges are merged, not one series per process
