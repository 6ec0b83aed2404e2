"""Prometheus configuration and alert rules: promtool validation and rule unit tests."""

from __future__ import annotations

from collections import defaultdict

import pytest
import yaml

from tests.monitoring.monitoring_helpers import MONITORING_DIR, assert_ok, run_tool

PROMETHEUS_YML = MONITORING_DIR / "prometheus.yml"
ALERT_RULES_YML = MONITORING_DIR / "alert_rules.yml"
RULE_TESTS_YML = MONITORING_DIR / "tests" / "alert_rules_test.yml"


def _load(path):
    return yaml.safe_load(path.read_text())


def _alert_rules() -> list[dict]:
    return [
        rule
        for group in _load(ALERT_RULES_YML)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_promtool_check_config(promtool: str) -> None:
    # promtool resolves rule_files relative to the config file, so this works from any cwd.
    result = run_tool(promtool, "check", "config", PROMETHEUS_YML)
    assert_ok(result)
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_check_rules(promtool: str) -> None:
    assert_ok(run_tool(promtool, "check", "rules", ALERT_RULES_YML))


def test_promtool_rule_unit_tests(promtool: str) -> None:
    assert_ok(run_tool(promtool, "test", "rules", RULE_TESTS_YML))


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    fired: dict[str, set[str]] = defaultdict(set)
    quiet: set[str] = set()
    for case in _load(RULE_TESTS_YML)["tests"]:
        for check in case.get("alert_rule_test", []):
            if check["exp_alerts"]:
                fired[check["alertname"]].update(
                    a["exp_labels"]["severity"] for a in check["exp_alerts"]
                )
            else:
                quiet.add(check["alertname"])
    for rule in _alert_rules():
        name, severity = rule["alert"], rule["labels"]["severity"]
        assert severity in fired[name], f"no test shows {name} ({severity}) firing"
        assert name in quiet, f"no test shows {name} staying quiet"


@pytest.mark.parametrize(
    "rule", _alert_rules(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}"
)
def test_alert_has_severity_duration_and_annotations(rule: dict) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule.get("for"), "a `for:` keeps one bad scrape from alerting"
    assert rule["annotations"].get("summary")
    assert rule["annotations"].get("description")


def test_scrape_targets() -> None:
    config = _load(PROMETHEUS_YML)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # the application services are discovered by DNS so every replica is scraped
    for name, port in {"backend": 8000, "worker": 9101, "bot": 9102}.items():
        (sd,) = jobs[name]["dns_sd_configs"]
        assert sd["names"] == [name]
        assert sd["port"] == port
    static = {
        name: jobs[name]["static_configs"][0]["targets"]
        for name in ("prometheus", "alertmanager", "node")
    }
    assert static == {
        "prometheus": ["localhost:9090"],
        "alertmanager": ["alertmanager:9093"],
        "node": ["node-exporter:9100"],
    }
    assert config["rule_files"] == ["alert_rules.yml"]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
