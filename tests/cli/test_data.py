"""`freemarket import` and `freemarket demo`: counts, idempotence, and line-numbered rejections."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Job, User
from tests.cli.conftest import Run

DEV_SET = Path(__file__).resolve().parents[2].parent / "shared/data/matching-dev.jsonl"


def _counts(db: Session) -> tuple[int, int]:
    db.expire_all()
    return db.scalar(select(func.count(User.id))) or 0, db.scalar(select(func.count(Item.id))) or 0


def test_import_dev_set_is_complete_and_idempotent(run: Run, db: Session) -> None:
    kinds = Counter(
        json.loads(line)["type"]
        for line in DEV_SET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    first = run("import", str(DEV_SET), "--json")
    assert first.code == 0, first.err
    report = first.json()
    assert report["rejected"] == []
    assert report["created"] == {"user": kinds["user"], "item": kinds["item"]}
    assert report["ignored"] == kinds["truth"]
    assert _counts(db) == (kinds["user"], kinds["item"])
    # Every item was queued for matching in the import's transaction.
    assert db.scalar(select(func.count(Job.id)).where(Job.kind == "match_item")) == kinds["item"]

    second = run("import", str(DEV_SET), "--json")
    assert second.code == 0, second.err
    again = second.json()
    assert again["created"] == {"user": 0, "item": 0}
    assert again["updated"] == {"user": 0, "item": 0}
    assert again["skipped"] == {"user": kinds["user"], "item": kinds["item"]}
    assert again["rejected"] == []
    assert _counts(db) == (kinds["user"], kinds["item"])


def _item(external_id: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "item",
        "external_id": external_id,
        "username": "ivan",
        "kind": "offer",
        "category": "books",
        "title": "Книга о Python",
        "description": "Хорошее состояние",
    }
    record.update(fields)
    return record


def _write(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_rejected_with_line_numbers(run: Run, db: Session, tmp_path: Path) -> None:
    missing_title = _item("x-3")
    del missing_title["title"]
    records: list[Any] = [
        {"type": "user", "username": "ivan", "city": "Тула"},  # 1 ok
        "{not json",  # 2
        {"type": "gadget", "name": "x"},  # 3
        missing_title,  # 4
        _item("x-4", username="nobody"),  # 5
        _item("x-5", category="spaceships"),  # 6
        _item("x-6", title="т" * 201),  # 7
        _item("x-1"),  # 8 ok
        "[1, 2, 3]",  # 9
        _item("x-7", title="NUL \u0000 inside"),  # 10
        '{"type": "item", "external_id": "x-8", "username": "ivan", "kind": "offer", '
        '"category": "books", "title": "bad \\ud800 text"}',  # 11
        "",  # 12: blank lines are fine
        _item("x-2", kind="want", title="Ищу учебник"),  # 13 ok
        {"type": "user", "username": "bad name"},  # 14
        {"type": "truth", "want": "x-2", "offers": []},  # 15 ignored
        "[" * 5000 + "]" * 5000,  # 16: json.loads alone would die of RecursionError
        _item("x-9", metadata={"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}),  # 17
    ]
    path = _write(tmp_path / "bad.jsonl", records)
    result = run("import", str(path), "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["created"] == {"user": 1, "item": 2}
    assert report["ignored"] == 1
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 9, 10, 11, 14, 16, 17]
    assert "JSON" in reasons[2]
    assert "gadget" in reasons[3]
    assert "title" in reasons[4]
    assert "nobody" in reasons[5]
    assert "spaceships" in reasons[6]
    assert "title" in reasons[7] and "200" in reasons[7]
    assert "NUL" in reasons[10]
    assert "surrogate" in reasons[11]
    assert "username" in reasons[14]
    assert reasons[16] == "JSON nests deeper than 32 levels"
    assert reasons[17] == "metadata nests deeper than 8 levels"
    db.expire_all()
    assert sorted(db.scalars(select(Item.external_id))) == ["x-1", "x-2"]

    # Human output names the rejected lines too; --strict turns rejections into exit 1.
    strict = run("import", str(path), "--strict")
    assert strict.code == 1
    assert "line 6:" in strict.out and "spaceships" in strict.out

    # A changed line is an update, not a duplicate.
    records[7] = _item("x-1", title="Книга о Python, 3-е издание")
    _write(path, records)
    changed = run("import", str(path), "--json").json()
    assert changed["created"] == {"user": 0, "item": 0}
    assert changed["updated"] == {"user": 0, "item": 1}
    assert changed["skipped"] == {"user": 1, "item": 1}
    db.expire_all()
    item = db.scalar(select(Item).where(Item.external_id == "x-1"))
    assert item is not None and item.title == "Книга о Python, 3-е издание"
    assert db.scalar(select(func.count(Item.id))) == 2


def test_missing_file_is_an_error(run: Run, tmp_path: Path) -> None:
    result = run("import", str(tmp_path / "absent.jsonl"))
    assert result.code != 0
    assert "absent.jsonl" in result.err and "Traceback" not in result.err


def test_demo_loads_and_is_idempotent(run: Run, db: Session) -> None:
    first = run("demo", "--json")
    assert first.code == 0, first.err
    report = first.json()
    assert report["rejected"] == []
    assert report["created"]["user"] > 0 and report["created"]["item"] > 0
    counts = _counts(db)
    assert counts == (report["created"]["user"], report["created"]["item"])

    second = run("demo", "--json")
    assert second.code == 0, second.err
    again = second.json()
    assert again["created"] == {"user": 0, "item": 0}
    assert again["updated"] == {"user": 0, "item": 0}
    assert _counts(db) == counts


def test_a_directory_or_a_json_array_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    folder = run("import", str(tmp_path))
    assert folder.code == 2
    assert folder.err.strip() == (
        f"error: Invalid value: {tmp_path} is a directory; give a JSON Lines file "
        "(see `freemarket import --help`)"
    )
    array = tmp_path / "items.json"
    array.write_text('[{"type": "user", "username": "anna"}]\n')
    result = run("import", str(array))
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "is a JSON array; the import reads JSON Lines" in result.err
