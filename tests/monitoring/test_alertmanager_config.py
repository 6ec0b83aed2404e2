"""Alertmanager configuration: amtool validation, routing by severity, and inhibition."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.monitoring.monitoring_helpers import MONITORING_DIR, assert_ok, run_tool

ALERTMANAGER_YML = MONITORING_DIR / "alertmanager.yml"
# bot_token_file arrived in Alertmanager 0.26; Debian bookworm's amtool is 0.25.
BOT_TOKEN_FILE_SINCE = (0, 26)


def _tool_version(binary: str) -> tuple[int, ...]:
    out = run_tool(binary, "--version")
    match = re.search(r"version (\d+)\.(\d+)", out.stdout + out.stderr)
    assert match, f"cannot read the version of {binary}: {out.stdout}{out.stderr}"
    return tuple(int(part) for part in match.groups())


def _config_for(binary: str, directory: Path, *, drop_integrations: bool = False) -> Path:
    """Write alertmanager.yml as `binary` can load it: the one field an older release lacks is
    swapped for its inline form, and integrations can be dropped so nothing is ever sent."""
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    for receiver in config["receivers"]:
        if drop_integrations:
            for key in [k for k in receiver if k != "name"]:
                del receiver[key]
        elif _tool_version(binary) < BOT_TOKEN_FILE_SINCE:
            for telegram in receiver.get("telegram_configs", []):
                telegram.pop("bot_token_file")
                telegram["bot_token"] = "0:placeholder"
    path = directory / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_amtool_check_config(amtool: str, tmp_path: Path) -> None:
    assert_ok(run_tool(amtool, "check-config", _config_for(amtool, tmp_path)))


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"severity": "critical", "alertname": "ServiceDown", "job": "backend"}, "telegram,email"),
        ({"severity": "critical", "alertname": "BackupTooOld"}, "telegram,email"),
        ({"severity": "warning", "alertname": "HostDiskSpaceLow"}, "email"),
        ({"severity": "warning", "alertname": "MatchingBacklogHigh"}, "email"),
        ({"alertname": "SomethingUnlabelled"}, "email"),
    ],
)
def test_routing_by_severity(
    amtool: str, tmp_path: Path, labels: dict[str, str], receivers: str
) -> None:
    config = _config_for(amtool, tmp_path)
    args = [f"{key}={value}" for key, value in labels.items()]
    result = run_tool(amtool, "config", "routes", "test", f"--config.file={config}", *args)
    assert_ok(result)
    assert result.stdout.strip() == receivers


# --- inhibition, checked against a real Alertmanager on the loopback interface -----------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager_url(alertmanager_bin: str, tmp_path: Path) -> Iterator[str]:
    """A throwaway Alertmanager with our routes and inhibitions but no integrations."""
    port = _free_port()
    config = _config_for(alertmanager_bin, tmp_path, drop_integrations=True)
    proc = subprocess.Popen(
        [
            alertmanager_bin,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip: a single, private instance
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                stderr = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"Alertmanager did not start:\n{stderr}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _inhibited(url: str, alerts: list[dict[str, str]]) -> dict[str, bool]:
    """Post alerts (by their labels) and return, per `name` label, whether each is inhibited."""
    response = httpx.post(f"{url}/api/v2/alerts", json=[{"labels": a} for a in alerts])
    response.raise_for_status()
    state = httpx.get(f"{url}/api/v2/alerts").json()
    assert len(state) == len(alerts)
    return {a["labels"]["name"]: bool(a["status"]["inhibitedBy"]) for a in state}


def _alert(name: str, alertname: str, severity: str, **labels: str) -> dict[str, str]:
    # `name` only identifies the alert in the test; no inhibit rule looks at it.
    return {"name": name, "alertname": alertname, "severity": severity, **labels}


INHIBITION_CASES = {
    "dead target hides its latency and errors": [
        (_alert("down", "ServiceDown", "critical", job="backend", instance="10.0.0.2:8000"), False),
        (_alert("slow", "HighResponseTime", "warning", job="backend"), True),
        (_alert("5xx", "HighErrorRate", "critical", job="backend"), True),
        (_alert("other job slow", "HighResponseTime", "warning", job="bot"), False),
    ],
    "critical hides warning of the same alert and mountpoint": [
        (_alert("crit", "HostDiskSpaceLow", "critical", instance="h", mountpoint="/data"), False),
        (_alert("warn", "HostDiskSpaceLow", "warning", instance="h", mountpoint="/data"), True),
        (_alert("other disk", "HostDiskSpaceLow", "warning", instance="h", mountpoint="/"), False),
        (_alert("tls crit", "TLSCertificateExpiringSoon", "critical"), False),
        (_alert("tls warn", "TLSCertificateExpiringSoon", "warning"), True),
    ],
    "worker down hides the backlogs": [
        (_alert("worker", "WorkerDown", "critical", job="worker"), False),
        (_alert("matching", "MatchingBacklogHigh", "warning"), True),
        (_alert("notifications", "NotificationBacklogHigh", "warning"), True),
        (_alert("backup", "BackupTooOld", "critical"), False),
    ],
    "bot down hides notification trouble": [
        (_alert("bot", "ServiceDown", "critical", job="bot", instance="10.0.0.5:9102"), False),
        (_alert("backlog", "NotificationBacklogHigh", "warning"), True),
        (_alert("failures", "NotificationDeliveryFailures", "warning"), True),
        (_alert("matching", "MatchingBacklogHigh", "warning"), False),
    ],
    "backend down covers its targets and the database gauges": [
        (_alert("backend", "BackendDown", "critical", job="backend"), False),
        (
            _alert("replica", "ServiceDown", "critical", job="backend", instance="10.0.0.2:8000"),
            True,
        ),
        (_alert("worker target", "ServiceDown", "critical", job="worker", instance="w"), False),
        (_alert("matching", "MatchingBacklogHigh", "warning"), True),
    ],
}


@pytest.mark.parametrize("case", INHIBITION_CASES.values(), ids=INHIBITION_CASES.keys())
def test_inhibition(alertmanager_url: str, case: list[tuple[dict[str, str], bool]]) -> None:
    expected = {alert["name"]: inhibited for alert, inhibited in case}
    assert _inhibited(alertmanager_url, [alert for alert, _ in case]) == expected
