"""The web UI's input limits (frontend/src/limits.json) are the API's, and the file is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from freemarket.api import limits
from freemarket.db.models import DISPLAY_NAME_MAX, TITLE_MAX
from tests.api.conftest import Headers, item_body


def test_the_committed_limits_file_is_current() -> None:
    stale = limits.LIMITS_FILE.read_text("utf-8") != limits.render()
    assert not stale, "frontend/src/limits.json is stale: run `make frontend`"


def test_the_limits_are_the_request_bodies_own() -> None:
    found = json.loads(limits.render())
    assert found["item"]["title"] == {"minLength": 2, "maxLength": TITLE_MAX}
    assert found["item"]["kind"] == {"enum": ["offer", "want"]}
    assert found["user"]["display_name"] == {"maxLength": DISPLAY_NAME_MAX}
    assert found["rating"]["score"] == {"minimum": 1, "maximum": 5}


def test_a_title_the_ui_allows_is_one_the_api_accepts(client: TestClient, anna_h: Headers) -> None:
    """The longest title the form lets through is accepted; one more character is not."""
    longest = limits.client_limits()["item"]["title"]["maxLength"]
    body = item_body(title="x" * longest)
    assert client.post("/api/items/", json=body, headers=anna_h).status_code == 201
    body["title"] += "x"
    assert client.post("/api/items/", json=body, headers=anna_h).status_code == 422


def test_main_writes_only_on_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "limits.json"
    assert limits.main([str(target)]) == 0
    assert target.read_text("utf-8") == limits.render()
    assert limits.main([str(target)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_help_prints_usage_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        limits.main(["--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
