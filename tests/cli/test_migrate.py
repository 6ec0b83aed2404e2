"""`freemarket migrate`: status, check, downgrade and upgrade through the real entry point."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from freemarket.db import migrate
from tests.cli.conftest import Run


def test_migrate_cycle(run: Run, engine: Engine) -> None:
    head = migrate.head_revision()
    try:
        status = run("migrate", "status", "--json")
        assert status.code == 0, status.err
        assert status.json() == {"current": head, "head": head, "pending": [], "at_head": True}

        check = run("migrate", "check")
        assert check.code == 0, check.out + check.err
        assert "matches the models" in check.out

        already = run("migrate")
        assert already.code == 0 and "already at head" in already.out

        down = run("migrate", "downgrade", "base")
        assert down.code == 0, down.err
        assert "base" in down.out
        engine.dispose()
        assert "users" not in inspect(engine).get_table_names()

        behind = run("migrate", "status", "--json")
        assert behind.code == 0
        body = behind.json()
        assert body["current"] is None and body["at_head"] is False
        assert body["pending"] and body["pending"][-1] == head

        failing = run("migrate", "check")
        assert failing.code == 1
        assert "head is" in failing.out

        up = run("migrate")
        assert up.code == 0, up.err
        assert "upgraded" in up.out and head in up.out
        assert run("migrate", "check").code == 0
    finally:
        engine.dispose()
        if migrate.current_revision(engine) != head:
            migrate.upgrade(engine)


def test_downgrade_to_unknown_revision_is_one_line(run: Run) -> None:
    result = run("migrate", "downgrade", "nonsense")
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error:")
    assert "Traceback" not in result.err
    assert run("migrate", "check").code == 0
