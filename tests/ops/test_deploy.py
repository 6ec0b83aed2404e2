"""`freemarket deploy`: the exact docker commands, rollback on failure, lock, dry run, history."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from freemarket.infra.settings import Settings
from freemarket.ops import deploy as ops
from freemarket.ops.compose import container_from_inspect
from freemarket.ops.deploy import DeployError, DeployLocked, DeployOptions, DeployReport
from tests.ops.conftest import OpsRun
from tests.ops.fakes import REAL_SECRETS
from tests.ops.fakes.docker_cli import FAKES, FakeDocker, FakeEngine, container
from tests.ops.fakes.servers import FakeServer, Route, serve

REPO = Path(__file__).resolve().parents[2]
F = "compose -f docker-compose.prod.yml"
FOLLOWERS = "up -d --no-deps alertmanager bot nginx node-exporter prometheus worker"
CONFIG = f"{F} config --format json"
RELOAD = f"{F} exec -T nginx nginx -s reload"
READY = Route(200, '{"status":"ready","detail":"schema r2"}', "application/json")


@dataclass
class World:
    """A compose project, the fake docker engine, the nginx health gate and a backup stub."""

    docker: FakeDocker
    options: DeployOptions
    gate: FakeServer
    backups: list[str] = field(default_factory=list)

    def backup(self) -> str:
        """The pre-deploy backup step, recorded instead of run."""
        self.backups.append("backup")
        return "backup 20250101T000000Z"

    def deploy(self, tag: str, **kwargs: object) -> DeployReport:
        """Deploy `tag` with the stubbed backup."""
        settings = Settings(_env_file=None, data_dir=self.options.data_dir)
        return ops.deploy(self.options, settings, tag=tag, backup=self.backup, **kwargs)  # type: ignore[arg-type]

    def running(self) -> dict[str, str]:
        """Running backend container id → image."""
        return {c["ID"]: c["Image"] for c in self.docker.running("backend")}

    def state(self) -> dict[str, object]:
        """The deploy state file."""
        return ops.load_state(self.options.data_dir)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A fresh project in tmp_path/project; nginx answers /health/ready with 200."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "docker-compose.prod.yml", project / "docker-compose.prod.yml")
    (project / ".env").write_text(REAL_SECRETS)
    docker = FakeDocker(tmp_path, monkeypatch)
    with serve(FakeServer(routes={"/health/ready": READY})) as gate:
        options = DeployOptions(
            project_dir=project,
            data_dir=tmp_path / "data",
            env_file=project / ".env",
            base_url=gate.url,
            health_timeout=2,
            gate_timeout=0.3,
            poll_interval=0.01,
            docker=docker.path,
            engine=FakeEngine(docker),
        )
        yield World(docker, options, gate)


@pytest.fixture
def running_aaa(world: World) -> World:
    """Release aaa live: two healthy backend replicas, schema r1; tag ccc's head is r2."""
    world.docker.set_state(
        containers=[
            container("db1", "db", "postgres:15"),
            container("a1", "backend", "freemarket:aaa"),
            container("a2", "backend", "freemarket:aaa"),
        ],
        images=[
            {"Repository": "freemarket", "Tag": "aaa", "CreatedAt": "2025-01-01 00:00:00 +0000 UTC"}
        ],
        revision="r1",
        heads={"aaa": "r1", "ccc": "r2"},
        seq=10,
    )
    ops.save_state(
        world.options.data_dir,
        {"current": "aaa", "previous": None, "revisions": {"aaa": "r1"}, "history": []},
    )
    return world


def test_first_deploy_issues_exactly_these_commands(world: World) -> None:
    report = world.deploy("bbb")
    assert report.outcome == "deployed", report
    assert world.docker.calls() == [
        "compose version",
        f"{F} config -q",
        f"TAG=bbb {F} build backend",
        f"{F} up -d --wait db redis",
        f"TAG=bbb {F} run --rm -T backend migrate status --json",
        f"TAG=bbb {F} run --rm -T backend migrate",
        f"TAG=bbb {F} run --rm -T backend migrate status --json",
        CONFIG,  # the project's name and services, read once
        f"TAG=bbb {F} up -d --no-deps --no-recreate --scale backend=1 backend",
        f"TAG=bbb {F} {FOLLOWERS}",
        RELOAD,
        "image tag freemarket:bbb freemarket:latest",
    ]
    assert world.backups == []  # nothing to back up before the first deploy
    assert [s.status for s in report.steps if s.name == "backup"] == ["skipped"]
    assert set(world.running().values()) == {"freemarket:bbb"}
    state = world.state()
    assert (state["current"], state["previous"]) == ("bbb", None)
    assert state["history"][-1]["outcome"] == "deployed"
    assert world.gate.requests == ["/health/ready"]


def test_rolling_update_scales_to_2n_then_stops_the_old(running_aaa: World) -> None:
    report = running_aaa.deploy("ccc")
    assert report.outcome == "deployed", report
    assert running_aaa.backups == ["backup"]
    calls = running_aaa.docker.calls()
    new = sorted(running_aaa.running())
    up = f"TAG=ccc {F} up -d --no-deps --no-recreate --scale backend=4 backend"
    assert calls[calls.index(up) :] == [
        up,
        "stop a1 a2",
        "rm a1 a2",
        f"TAG=ccc {F} {FOLLOWERS}",
        RELOAD,
        "image tag freemarket:ccc freemarket:latest",
    ]
    assert len(new) == 2 and set(running_aaa.running().values()) == {"freemarket:ccc"}
    assert running_aaa.docker.state()["revision"] == "r2"
    state = running_aaa.state()
    assert (state["current"], state["previous"]) == ("ccc", "aaa")
    assert state["revisions"] == {"aaa": "r1", "ccc": "r2"}


def test_unhealthy_new_replicas_are_removed_and_the_schema_goes_back(
    running_aaa: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_UNHEALTHY_TAG", "ccc")
    report = running_aaa.deploy("ccc")
    assert report.outcome == "rolled_back"
    assert "is unhealthy" in report.reason and report.reason.endswith("still serving aaa")
    # The engine's record of the failed probe says why.
    assert "is unhealthy: curl: (22) The requested URL returned error: 503" in report.reason
    calls = running_aaa.docker.calls()
    up = calls.index(f"TAG=ccc {F} up -d --no-deps --no-recreate --scale backend=4 backend")
    new_ids = calls[up + 1].removeprefix("stop ")
    assert len(new_ids.split()) == 2 and "a1" not in new_ids and "a2" not in new_ids
    assert calls[up + 1 :] == [
        f"stop {new_ids}",
        f"rm {new_ids}",
        f"TAG=ccc {F} run --rm -T backend migrate downgrade r1",
    ]
    assert running_aaa.running() == {"a1": "freemarket:aaa", "a2": "freemarket:aaa"}
    assert running_aaa.docker.state()["revision"] == "r1"
    state = running_aaa.state()
    assert state["current"] == "aaa"
    assert state["history"][-1]["outcome"] == "rolled_back"
    assert state["history"][-1]["reason"] == report.reason


def test_default_backup_runs_inside_the_stack_with_the_serving_release(
    running_aaa: World,
) -> None:
    """Without a stub, the pre-deploy backup is a one-off backend container of the old tag."""
    settings = Settings(_env_file=None, data_dir=running_aaa.options.data_dir)
    report = ops.deploy(running_aaa.options, settings, tag="ccc")
    assert report.outcome == "deployed", report
    assert f"TAG=aaa {F} run --rm -T backend backup create --json" in running_aaa.docker.calls()
    backup_step = next(step for step in report.steps if step.name == "backup")
    assert backup_step.detail == "backup 20260101T000001Z"


def test_failed_health_gate_rolls_back_to_the_previous_tag(running_aaa: World) -> None:
    running_aaa.gate.routes["/health/ready"] = Route(503, '{"status":"unavailable"}')
    report = running_aaa.deploy("ccc")
    assert report.outcome == "rolled_back"
    assert report.reason.startswith("health gate: ")
    assert "503" in report.reason and report.reason.endswith("rolled back to aaa")
    calls = running_aaa.docker.calls()
    tail = calls[calls.index(f"TAG=ccc {F} {FOLLOWERS}") + 1 :]
    assert tail[:2] == [RELOAD, f"TAG=ccc {F} run --rm -T backend migrate downgrade r1"]
    assert f"TAG=aaa {F} up -d --no-deps --no-recreate --scale backend=4 backend" in tail
    assert tail[-2:] == [f"TAG=aaa {F} {FOLLOWERS}", RELOAD]
    assert set(running_aaa.running().values()) == {"freemarket:aaa"}
    assert running_aaa.state()["current"] == "aaa"
    gate = next(s for s in report.steps if s.name == "health gate")
    assert gate.status == "failed" and "503" in gate.detail


def test_failed_migration_changes_nothing(
    running_aaa: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "backend migrate")
    report = running_aaa.deploy("ccc")
    assert report.outcome == "failed"
    assert "simulated failure" in report.reason and report.reason.endswith("nothing was changed")
    assert not any("--scale" in call for call in running_aaa.docker.calls())
    assert running_aaa.running() == {"a1": "freemarket:aaa", "a2": "freemarket:aaa"}


def test_lock_refuses_a_concurrent_deploy(world: World) -> None:
    with ops.deploy_lock(world.options.data_dir), pytest.raises(DeployLocked) as caught:
        world.deploy("bbb")
    assert "another deploy is running (pid" in caught.value.message
    assert world.docker.calls() == []
    world.deploy("bbb")  # released afterwards


def test_dry_run_runs_nothing_and_prints_every_command(running_aaa: World) -> None:
    report = running_aaa.deploy("ccc", dry_run=True)
    assert running_aaa.docker.calls() == []
    assert running_aaa.backups == []
    assert running_aaa.state()["history"] == []
    assert running_aaa.gate.requests == []
    names = [s.name for s in report.steps]
    assert names[:6] == ["lock", "check", "backup", "build", "start db and redis", "migrate"]
    assert {s.status for s in report.steps} == {"planned"}
    commands = [c for s in report.steps for c in s.commands]
    docker = running_aaa.options.docker
    assert f"FREEMARKET_TAG=ccc {docker} {F} build backend" in commands
    assert f"FREEMARKET_TAG=ccc {docker} {F} run --rm -T backend migrate" in commands
    assert any(c.startswith("GET http://127.0.0.1:") for c in commands)


def test_failing_check_stops_before_anything_changes(world: World) -> None:
    world.options.env_file.write_text(REAL_SECRETS.replace("Vq8xT2mP9wLr4Zs7", "change-me"))
    with pytest.raises(DeployError) as caught:
        world.deploy("bbb")
    assert caught.value.message.startswith("pre-deploy check failed: .env secrets: DB_PASSWORD")
    assert world.docker.calls() == ["compose version", f"{F} config -q"]
    assert world.state()["history"][-1]["outcome"] == "failed"


def test_rollback_command_restores_tag_and_schema(running_aaa: World) -> None:
    running_aaa.deploy("ccc")
    running_aaa.docker.clear_calls()
    report = ops.rollback(running_aaa.options)
    assert report.outcome == "deployed", report
    calls = running_aaa.docker.calls()
    assert calls[0] == f"TAG=ccc {F} run --rm -T backend migrate downgrade r1"
    assert calls[-2:] == [f"TAG=aaa {F} {FOLLOWERS}", RELOAD]
    assert set(running_aaa.running().values()) == {"freemarket:aaa"}
    state = running_aaa.state()
    assert (state["current"], state["previous"]) == ("aaa", "ccc")
    assert state["history"][-1]["action"] == "rollback"
    with pytest.raises(DeployError, match="already the current release"):
        ops.rollback(running_aaa.options, to="aaa")


def test_old_images_are_pruned_keeping_current_and_previous(running_aaa: World) -> None:
    old = [
        {
            "Repository": "freemarket",
            "Tag": f"t{i}",
            "CreatedAt": f"2025-01-01 00:00:0{i} +0000 UTC",
        }
        for i in range(1, 9)
    ]
    running_aaa.docker.set_state(images=running_aaa.docker.state()["images"] + old)
    running_aaa.options.keep_images = 3
    report = running_aaa.deploy("ccc")
    assert report.outcome == "deployed"
    tags = {
        i["Tag"] for i in running_aaa.docker.state()["images"] if i["Repository"] == "freemarket"
    }
    assert tags == {"ccc", "t8", "t7", "aaa", "latest"}
    stale = " ".join(f"freemarket:t{i}" for i in range(6, 0, -1))
    assert f"image rm {stale}" in running_aaa.docker.calls()


def test_scale_runs_the_current_release(running_aaa: World) -> None:
    commands = ops.scale(running_aaa.options, ["backend=3"])
    assert running_aaa.docker.calls() == [
        f"TAG=aaa {F} up -d --no-deps --no-recreate --scale backend=3 backend"
    ]
    assert commands[0].startswith("FREEMARKET_TAG=aaa ")
    assert len(running_aaa.running()) == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bot=2", "bot cannot be scaled (scalable: backend, worker)"),
        ("backend", "expected SERVICE=N, got 'backend'"),
        ("backend=0", "backend needs at least 1 replica"),
    ],
)
def test_scale_refuses_bad_requests(world: World, spec: str, message: str) -> None:
    with pytest.raises(DeployError) as caught:
        ops.scale(world.options, [spec])
    assert caught.value.message == message


def test_maintenance_switch(world: World) -> None:
    flag = world.options.maintenance_flag
    ops.maintenance(world.options, True)
    assert flag.is_file()
    ops.maintenance(world.options, False)
    assert not flag.exists()
    reload = f"{F} exec -T nginx nginx -s reload"
    assert world.docker.calls() == [reload, reload]


def test_status_and_logs(running_aaa: World, capfd: pytest.CaptureFixture[str]) -> None:
    data = ops.status(running_aaa.options)
    assert (data["current"], data["previous"], data["maintenance"]) == ("aaa", None, False)
    backends = [c for c in data["containers"] if c["service"] == "backend"]
    assert [(c["tag"], c["health"]) for c in backends] == [("aaa", "healthy"), ("aaa", "healthy")]
    assert ops.logs(running_aaa.options, "backend", follow=True) == 0
    assert running_aaa.docker.calls()[-1] == f"{F} logs --tail 200 -f backend"
    assert "backend-1  | started" in capfd.readouterr().out


# --- the CLI --------------------------------------------------------------------------------


def test_cli_deploy_dry_run_and_refusals(tmp_path: Path, tls_run: OpsRun) -> None:
    """The CLI plans without touching docker, and refuses what cannot be done in one line.

    The real deploy through the CLI runs in tests/ops/engine on the real engine.
    """
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    shutil.copy(REPO / "docker-compose.prod.yml", cwd / "docker-compose.prod.yml")
    (cwd / ".env").write_text(REAL_SECRETS)
    env = {
        "PATH": f"{FAKES}:/usr/bin:/bin",
        "FAKE_DOCKER_STATE": str(tmp_path / "state.json"),
        "FAKE_DOCKER_LOG": str(tmp_path / "calls.jsonl"),
    }
    planned = tls_run("deploy", "--dry-run", "--tag", "abc1234", env=env)
    assert planned.code == 0, planned.err
    assert "FREEMARKET_TAG=abc1234 docker compose -f docker-compose.prod.yml build" in planned.out
    assert "healthy on 3 polls in a row" in planned.out
    assert not (tmp_path / "calls.jsonl").exists()

    refused = tls_run("scale", "bot=2", env=env)
    assert refused.code == 1
    assert refused.err.strip() == "error: bot cannot be scaled (scalable: backend, worker)"


def test_crashed_replica_is_cleared_before_the_rollout(running_aaa: World) -> None:
    crashed = {**container("x1", "backend", "freemarket:aaa"), "State": "exited", "Health": ""}
    running_aaa.docker.set_state(containers=[*running_aaa.docker.state()["containers"], crashed])
    report = running_aaa.deploy("ccc")
    assert report.outcome == "deployed", report
    calls = running_aaa.docker.calls()
    first_stop = calls.index("stop x1")
    assert calls[first_stop : first_stop + 3] == [
        "stop x1",
        "rm x1",
        f"TAG=ccc {F} up -d --no-deps --no-recreate --scale backend=4 backend",
    ]
    assert set(running_aaa.running().values()) == {"freemarket:ccc"}


def test_crash_looping_release_is_rolled_back_with_its_last_words(
    running_aaa: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_CRASH_TAG", "ccc")
    report = running_aaa.deploy("ccc")
    assert report.outcome == "rolled_back"
    assert "crashed and restarted 2 time(s) (state restarting)" in report.reason
    # No probe output after a crash: the container's last log line is the cause.
    assert "(state restarting): RuntimeError: broken release" in report.reason
    assert running_aaa.running() == {"a1": "freemarket:aaa", "a2": "freemarket:aaa"}


def test_inspect_document_gives_health_restarts_and_the_last_probe() -> None:
    data = {
        "Id": "0123456789abcdef",
        "Name": "/freemarket-backend-7",
        "RestartCount": 0,
        "State": {
            "Status": "running",
            "StartedAt": "2026-01-01T00:00:00Z",
            "Health": {
                "Status": "unhealthy",
                "Log": [
                    {"ExitCode": 0, "Output": "ok"},
                    {"ExitCode": 22, "Output": "curl: (22) error: 503\n\n"},
                ],
            },
        },
        "Config": {
            "Image": "freemarket:abc",
            "Labels": {"com.docker.compose.service": "backend"},
            "Healthcheck": {"Test": ["CMD", "curl", "-fsS", "http://127.0.0.1:8000/health/ready"]},
        },
    }
    found = container_from_inspect(data)
    assert (found.id, found.name, found.service, found.tag) == (
        "0123456789ab",
        "freemarket-backend-7",
        "backend",
        "abc",
    )
    assert found.has_healthcheck and not found.healthy and found.failed
    assert found.health_output == "curl: (22) error: 503"
