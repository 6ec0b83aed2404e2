"""docker-compose.monitoring.yml mounts the configs where the services read them."""

from __future__ import annotations

import yaml

from tests.monitoring.monitoring_helpers import MONITORING_DIR


def test_compose_mounts_configs_and_publishes_ports() -> None:
    compose = yaml.safe_load((MONITORING_DIR / "docker-compose.monitoring.yml").read_text())
    services = compose["services"]
    assert set(services) == {"prometheus", "alertmanager", "node-exporter"}

    def mounts(service: str) -> dict[str, str]:
        pairs = (volume.split(":")[:2] for volume in services[service]["volumes"])
        return {source: target for source, target in pairs}

    # prometheus.yml names alert_rules.yml relatively, so both must land in one directory
    assert mounts("prometheus")["./prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts("prometheus")["./alert_rules.yml"] == "/etc/prometheus/alert_rules.yml"
    assert mounts("alertmanager")["./alertmanager.yml"] == "/etc/alertmanager/alertmanager.yml"
    for source in ("./prometheus.yml", "./alert_rules.yml", "./alertmanager.yml"):
        assert (MONITORING_DIR / source).is_file()
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    assert services["alertmanager"]["ports"] == ["127.0.0.1:9093:9093"]
    # secrets referenced by alertmanager.yml live under the mounted secrets directory
    secrets = mounts("alertmanager")["./secrets"]
    assert f"{secrets}/telegram_bot_token" in (MONITORING_DIR / "alertmanager.yml").read_text()
