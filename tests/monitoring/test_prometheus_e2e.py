"""The real Prometheus scrapes a running API, worker and bot, and sees what the test did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.fakes.telegram import FakeTelegram, error, fake_telegram
from tests.monitoring.monitoring_helpers import require_tool

FREEMARKET = str(Path(sys.executable).with_name("freemarket"))


def _wait(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered 200")


class Stack:
    """The processes of one test, stopped together."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [FREEMARKET, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, name: str, *argv: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A Bot API that fails every sendMessage with a 500."""
    with fake_telegram() as fake:
        fake.behaviours["sendMessage"] = lambda *_: error(500, "Internal Server Error")
        yield fake


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def _value(prometheus: str, expr: str) -> float | None:
    found = _query(prometheus, expr)
    return float(found[0]["value"][1]) if found else None


def test_prometheus_sees_requests_matches_and_failed_deliveries(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """up == 1 for every process, and the metrics move exactly as the test acted."""
    prometheus_bin = require_tool("prometheus")
    api_port, worker_port, bot_port, prom_port = (free_port() for _ in range(4))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fm.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "BACKUP_DIR": str(tmp_path / "backups"),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
    }
    stack = Stack(env, tmp_path)
    stack.cli("migrate")
    stack.cli("user", "create", "anna", "--city", "Москва", "--telegram-id", "555")
    stack.cli("user", "create", "boris", "--city", "Москва")
    tokens = {
        u: json.loads(stack.cli("user", "token", u, "--json"))["token"] for u in ("anna", "boris")
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: api\n    static_configs: [{{targets: ['127.0.0.1:{api_port}']}}]\n"
        f"  - job_name: worker\n    static_configs: [{{targets: ['127.0.0.1:{worker_port}']}}]\n"
        f"  - job_name: bot\n    static_configs: [{{targets: ['127.0.0.1:{bot_port}']}}]\n"
    )
    try:
        stack.start("api", FREEMARKET, "serve", "--port", str(api_port))
        stack.start(
            "worker", FREEMARKET, "worker", "--poll", "0.2", "--metrics-port", str(worker_port)
        )
        stack.start("bot", FREEMARKET, "bot", "--poll", "0.2", "--metrics-port", str(bot_port))
        stack.start(
            "prometheus",
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        )
        deadline = time.monotonic() + 60
        api = f"http://127.0.0.1:{api_port}"
        prometheus = f"http://127.0.0.1:{prom_port}"
        _wait(f"{api}/health", deadline)
        _wait(f"{prometheus}/-/ready", deadline)

        for user, kind, title in (
            ("anna", "want", "Велосипед горный Stels"),
            ("boris", "offer", "Горный велосипед Stels Navigator"),
        ):
            response = httpx.post(
                f"{api}/api/items/",
                json={"kind": kind, "category": "bicycles", "title": title},
                headers={"Authorization": f"Bearer {tokens[user]}"},
                timeout=10,
            )
            assert response.status_code == 201, response.text

        expectations = {
            'up{job="api"}': 1,
            'up{job="worker"}': 1,
            'up{job="bot"}': 1,
            'sum(freemarket_http_requests_total{job="api",method="POST",'
            'route="/api/items/",status="201"})': 2,
            'freemarket_items_active{job="api",kind="offer"}': 1,
            'freemarket_matches_created_total{job="worker"}': 1,
            'freemarket_notifications_failed_total{job="bot"}': 1,
            'freemarket_notifications_sent_total{job="bot"}': 0,
        }
        seen: dict[str, float | None] = {}
        while time.monotonic() < deadline:
            seen = {expr: _value(prometheus, expr) for expr in expectations}
            if all(seen[e] == v for e, v in expectations.items()):
                break
            time.sleep(0.5)
        assert seen == {e: float(v) for e, v in expectations.items()}
        # Route labels are templates, never raw ids.
        routes = {
            r["metric"].get("route") for r in _query(prometheus, "freemarket_http_requests_total")
        }
        assert all("{" in r or not any(c.isdigit() for c in r) for r in routes if r)
        assert len(telegram.sent_messages()) == 1  # tried once, failed, backing off
    finally:
        stack.stop()
