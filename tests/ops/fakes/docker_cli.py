"""Drive the fake `docker` executable beside this file: PATH, state, and the calls it logged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from freemarket.ops.compose import Container, ImageTag

FAKES = Path(__file__).resolve().parent
EXECUTABLE = FAKES / "docker"


class FakeDocker:
    """The fake docker CLI for one test: its state file and its invocation log."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.state_path = tmp_path / "fake-docker-state.json"
        self.log_path = tmp_path / "fake-docker-calls.jsonl"
        self.path = str(EXECUTABLE)
        monkeypatch.setenv("FAKE_DOCKER_STATE", str(self.state_path))
        monkeypatch.setenv("FAKE_DOCKER_LOG", str(self.log_path))
        monkeypatch.delenv("FAKE_DOCKER_UNHEALTHY_TAG", raising=False)
        monkeypatch.delenv("FAKE_DOCKER_FAIL", raising=False)
        monkeypatch.delenv("FREEMARKET_TAG", raising=False)

    def state(self) -> dict[str, Any]:
        """The fake engine's state (containers, images, database revision)."""
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def set_state(self, **state: Any) -> None:
        """Preset the fake engine's state."""
        self.state_path.write_text(json.dumps({**self.state(), **state}))

    def calls(self) -> list[str]:
        """Every invocation so far as 'TAG=x docker args' lines (TAG only when set)."""
        if not self.log_path.exists():
            return []
        lines = []
        for raw in self.log_path.read_text().splitlines():
            call = json.loads(raw)
            prefix = f"TAG={call['tag']} " if call["tag"] else ""
            lines.append(prefix + " ".join(call["argv"]))
        return lines

    def clear_calls(self) -> None:
        """Forget the calls logged so far."""
        self.log_path.unlink(missing_ok=True)

    def running(self, service: str) -> list[dict[str, Any]]:
        """The running containers of `service`."""
        return [
            c
            for c in self.state().get("containers", [])
            if c["Service"] == service and c["State"] == "running"
        ]


class FakeEngine:
    """The engine's answers (the Engine protocol) read from the fake CLI's state file."""

    def __init__(self, docker: FakeDocker) -> None:
        self.docker = docker

    def containers(self, project: str, services: Sequence[str]) -> list[Container]:
        """The state's containers of `services` (all when empty)."""
        return [
            Container(
                id=row["ID"],
                name=row["Name"],
                service=row["Service"],
                state=row["State"].lower(),
                health=row.get("Health", "").lower(),
                image=row["Image"],
                has_healthcheck=bool(row.get("Health")),
                restart_count=int(row.get("RestartCount", 0)),
                started_at=row.get("StartedAt", ""),
                health_output=row.get("HealthOutput", ""),
            )
            for row in self.docker.state().get("containers", [])
            if not services or row["Service"] in services
        ]

    def last_output(self, container_id: str) -> str:
        """The state's last log line of a container ('' when it has none)."""
        rows = self.docker.state().get("containers", [])
        return next((r.get("LastOutput", "") for r in rows if r["ID"] == container_id), "")

    def image_tags(self, repository: str) -> list[ImageTag]:
        """The state's tags of `repository`, newest first."""
        rows = [r for r in self.docker.state().get("images", []) if r["Repository"] == repository]
        tags = [ImageTag(r["Repository"], r["Tag"], r["CreatedAt"]) for r in rows]
        return sorted(tags, key=lambda t: t.created, reverse=True)


def container(cid: str, service: str, image: str, health: str = "healthy") -> dict[str, str]:
    """A container row as the fake (and `docker compose ps --format json`) reports it."""
    return {"ID": cid, "Name": f"freemarket-{service}-{cid}", "Service": service,
            "State": "running", "Health": health, "Image": image}  # fmt: skip
