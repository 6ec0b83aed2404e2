"""Import users and items from JSON Lines; idempotent on usernames and item external ids."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from freemarket.db.models import Item, User
from freemarket.domain import items, jsonpolicy, users
from freemarket.domain.fields import (
    City,
    Contact,
    ExternalId,
    JsonSafeModel,
    Language,
    TelegramId,
    Username,
)
from freemarket.domain.item_fields import ITEM_FIELDS, with_item_fields
from freemarket.errors import DomainError, InvalidInput


class _Record(JsonSafeModel):
    model_config = ConfigDict(extra="ignore")


class UserRecord(_Record):
    """A `{"type": "user"}` line."""

    type: Literal["user"]
    username: Username
    city: City | None = None
    # Left out: unset, so Telegram's or the browser's language fills it in later.
    language: Language | None = None
    telegram_id: TelegramId | None = None
    contact: Contact | None = None


class ItemRecord(with_item_fields(_Record)):  # type: ignore[misc]
    """A `{"type": "item"}` line: the item fields of POST /api/items/, and whose it is."""

    type: Literal["item"]
    external_id: ExternalId
    username: Username
    active: bool = True


# Lines of these types belong to other tools (e.g. `truth` in the matching dev set).
IGNORED_TYPES = frozenset({"truth"})


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A line that was not imported, and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an import did, per kind of record."""

    created: dict[str, int] = field(default_factory=lambda: {"user": 0, "item": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"user": 0, "item": 0})
    skipped: dict[str, int] = field(default_factory=lambda: {"user": 0, "item": 0})
    ignored: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
        }


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "line"
    return f"{where}: {err['msg']}"


def _import_user(session: Session, record: UserRecord) -> str:
    existing = session.scalar(select(User).where(User.username == record.username))
    if existing is None:
        users.create_user(
            session,
            username=record.username,
            city=record.city,
            language=record.language,
            telegram_id=record.telegram_id,
            contact=record.contact,
        )
        return "created"
    fields: dict[str, object] = {"city": record.city}
    if record.language is not None:  # a line without a language keeps the account's own
        fields["language"] = record.language
    changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
    if not changes:
        return "skipped"
    users.update_user(session, user=existing, changes=changes)
    return "updated"


def _import_item(session: Session, record: ItemRecord) -> str:
    owner = session.scalar(select(User).where(User.username == record.username))
    if owner is None:
        raise DomainError(
            f"unknown user {record.username!r} (user lines must come first)",
            code="import_unknown_user",
            username=record.username,
        )
    existing = session.scalar(select(Item).where(Item.external_id == record.external_id))
    fields = {f.column: getattr(record, f.column) for f in ITEM_FIELDS if f.editable}
    fields["description"] = fields["description"].strip()
    if fields["city"] is None:
        fields["city"] = owner.city
    if existing is None:
        item = items.create_item(
            session, owner=owner, kind=record.kind, external_id=record.external_id, **fields
        )
        if not record.active:
            items.deactivate_item(session, item=item)
        return "created"
    if existing.user_id != owner.id or existing.kind != record.kind:
        raise DomainError(
            f"external_id {record.external_id!r} belongs to another user or kind",
            code="import_external_id_taken",
            external_id=record.external_id,
        )
    changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
    if changes:
        items.update_item(session, item=existing, changes=changes)
    if existing.active and not record.active:
        items.deactivate_item(session, item=existing)
        return "updated"
    return "updated" if changes else "skipped"


def import_lines(
    session: Session,
    lines: Iterable[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every valid line; reject the others with their line number and the reason."""
    report = ImportReport()
    for number, raw in enumerate(lines, start=1):
        if progress is not None:
            progress(number)
        if not raw.strip():
            continue
        try:
            jsonpolicy.check_body(raw.encode("utf-8", "surrogatepass"))
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            report.rejected.append(RejectedLine(number, f"not valid JSON: {exc.msg}"))
            continue
        except InvalidInput as exc:
            report.rejected.append(RejectedLine(number, exc.message))
            continue
        kind = data.get("type") if isinstance(data, dict) else None
        if kind in IGNORED_TYPES:
            report.ignored += 1
            continue
        if kind not in ("user", "item"):
            report.rejected.append(RejectedLine(number, f"unknown record type {kind!r}"))
            continue
        try:
            # A savepoint per line: one bad line must not undo the good ones around it.
            with session.begin_nested():
                if kind == "user":
                    outcome = _import_user(session, UserRecord.model_validate(data))
                else:
                    outcome = _import_item(session, ItemRecord.model_validate(data))
        except ValidationError as exc:
            report.rejected.append(RejectedLine(number, _first_error(exc)))
            continue
        except DomainError as exc:
            report.rejected.append(RejectedLine(number, exc.message))
            continue
        except IntegrityError:
            report.rejected.append(RejectedLine(number, "conflicts with existing data"))
            continue
        getattr(report, outcome)[kind] += 1
    return report
