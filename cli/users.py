"""`freemarket user`: manage accounts."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from cli.common import console, print_json, print_mapping, print_table, settings, transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from freemarket.db.models import User

app = typer.Typer(help="Create, list, inspect, ban, promote users and issue their tokens.")


class Language(StrEnum):
    """The languages FreeMarket speaks."""

    ru = "ru"
    en = "en"


JsonOption = typer.Option(False, "--json", help="Print JSON.")
LIST_COLUMNS = ("id", "username", "role", "city", "trust_score", "banned", "created_at")


def _as_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "telegram_id": user.telegram_id,
        "contact": user.contact,
        "city": user.city,
        "language": user.language,
        "role": user.role,
        "banned": user.is_banned,
        "trust_score": user.trust_score,
        "rating_count": user.rating_count,
        "created_at": user.created_at.isoformat(timespec="seconds"),
    }


@app.command()
def create(
    username: str,
    city: str | None = typer.Option(None, help="Home city."),
    contact: str | None = typer.Option(None, help="How other parties reach this user."),
    telegram_id: int | None = typer.Option(None, help="Telegram user id."),
    language: Language | None = typer.Option(
        None, help="Language of messages; unset: from Telegram or the browser, else Russian."
    ),
    admin: bool = typer.Option(False, "--admin", help="Make the user an admin."),
    json_output: bool = JsonOption,
) -> None:
    """Create a user."""
    from freemarket.domain import users
    from freemarket.domain.actors import OPERATOR

    with transaction() as session:
        user = users.add_user(
            session,
            actor=OPERATOR,
            username=username,
            city=city,
            contact=contact,
            telegram_id=telegram_id,
            language=language.value if language else None,
            role="admin" if admin else "user",
        )
        data = _as_dict(user)
    if json_output:
        print_json(data)
    else:
        console.print(f"created user {username} (id {data['id']}, role {data['role']})")


@app.command("list")
def list_users(
    search: str | None = typer.Option(None, help="Only usernames containing this."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many."),
    offset: int = typer.Option(0, min=0, help="Skip this many."),
    json_output: bool = JsonOption,
) -> None:
    """List users."""
    from freemarket.domain import users

    with transaction() as session:
        rows = [
            _as_dict(u)
            for u in users.list_users(session, search=search, limit=limit, offset=offset)
        ]
    if json_output:
        print_json(rows)
        return
    print_table(f"users ({len(rows)})", LIST_COLUMNS, [[r[c] for c in LIST_COLUMNS] for r in rows])


@app.command()
def show(username: str, json_output: bool = JsonOption) -> None:
    """Show everything about one user, including how their trust score is made."""
    from freemarket.domain import ratings, users

    policy = ratings.TrustPolicy.from_settings(settings())
    with transaction() as session:
        user = users.get_user_by_username(session, username)
        data = _as_dict(user)
        trust = ratings.explain_trust(session, user_id=user.id, policy=policy)
    data["trust"] = {
        "score": trust.score,
        "prior_mean": policy.prior_mean,
        "prior_weight": policy.prior_weight,
        "window_days": policy.window_days,
        "counterparties": trust.counterparties,
        "ratings": [
            {
                "rating_id": r.rating_id,
                "from_user_id": r.from_user_id,
                "score": r.score,
                "created_at": r.created_at.isoformat(timespec="seconds"),
                "counted": r.counted,
                "reason": r.reason,
            }
            for r in trust.inputs
        ],
    }
    if json_output:
        print_json(data)
        return
    print_mapping(f"user {username}", {k: v for k, v in data.items() if k != "trust"})
    counted = [r for r in data["trust"]["ratings"] if r["counted"]]
    formula = (
        f"({policy.prior_mean} × {policy.prior_weight} + {sum(r['score'] for r in counted)}) / "
        f"({policy.prior_weight} + {len(counted)}) = {trust.score}"
        if counted
        else "no counted ratings yet: no score"
    )
    console.print(f"trust: {formula}  ({trust.counterparties} distinct counterparties)")
    if data["trust"]["ratings"]:
        columns = ["rating_id", "from_user_id", "score", "created_at", "counted", "reason"]
        rows = [[r[c] for c in columns] for r in data["trust"]["ratings"]]
        print_table("ratings received", columns, rows)


def _apply(username: str, done: str, change: Callable[[Session, User], object]) -> None:
    """Apply one change (the domain audits it) to a user, in one transaction."""
    from freemarket.domain import users

    with transaction() as session:
        change(session, users.get_user_by_username(session, username))
    console.print(f"{done}: {username}")


@app.command()
def ban(username: str) -> None:
    """Ban a user: revoke their sessions and hide their items."""
    from freemarket.domain.actors import OPERATOR
    from freemarket.domain.users import set_banned

    _apply(username, "ban user", lambda s, u: set_banned(s, actor=OPERATOR, user=u, banned=True))


@app.command()
def unban(username: str) -> None:
    """Lift a ban."""
    from freemarket.domain.actors import OPERATOR
    from freemarket.domain.users import set_banned

    _apply(username, "unban user", lambda s, u: set_banned(s, actor=OPERATOR, user=u, banned=False))


@app.command()
def promote(username: str) -> None:
    """Make a user an admin."""
    from freemarket.domain.actors import OPERATOR
    from freemarket.domain.users import set_role

    _apply(username, "promote user", lambda s, u: set_role(s, actor=OPERATOR, user=u, role="admin"))


@app.command()
def demote(username: str) -> None:
    """Make an admin a plain user again."""
    from freemarket.domain.actors import OPERATOR
    from freemarket.domain.users import set_role

    _apply(username, "demote user", lambda s, u: set_role(s, actor=OPERATOR, user=u, role="user"))


def issue_login_link(username: str) -> str:
    """A fresh one-time web sign-in link for `username` (audited)."""
    from datetime import timedelta

    from freemarket.domain import sessions, users
    from freemarket.domain.actors import OPERATOR

    config = settings()
    with transaction() as session:
        user = users.get_user_by_username(session, username)
        link = sessions.issue_login_link(
            session,
            user=user,
            actor=OPERATOR,
            ttl=timedelta(minutes=config.login_code_ttl_minutes),
            public_url=config.public_url,
        )
    return link.url


@app.command("login-link")
def login_link(username: str, json_output: bool = JsonOption) -> None:
    """Print a one-time sign-in link for the web UI (valid for LOGIN_CODE_TTL_MINUTES)."""
    url = issue_login_link(username)
    if json_output:
        print_json(
            {
                "username": username,
                "url": url,
                "code": url.rsplit("code=", 1)[1],
                "expires_in_minutes": settings().login_code_ttl_minutes,
            }
        )
    else:
        print(url)


@app.command("logout-all")
def logout_all(username: str) -> None:
    """Revoke every session of a user (signs them out everywhere)."""
    from freemarket.domain import sessions, users
    from freemarket.domain.actors import OPERATOR

    with transaction() as session:
        user = users.get_user_by_username(session, username)
        revoked = sessions.sign_out_everywhere(session, actor=OPERATOR, user=user)
    console.print(f"revoked {revoked} session(s) of {username}")


@app.command()
def token(
    username: str,
    hours: int = typer.Option(0, min=0, help="Lifetime in hours (default: SESSION_TTL_HOURS)."),
    json_output: bool = JsonOption,
) -> None:
    """Issue a session token for a user (for API clients and scripts)."""
    from datetime import timedelta

    from freemarket.domain import sessions, users
    from freemarket.domain.actors import OPERATOR

    ttl = timedelta(hours=hours or settings().session_ttl_hours)
    with transaction() as session:
        user = users.get_user_by_username(session, username)
        issued = sessions.grant_token(session, actor=OPERATOR, user=user, ttl=ttl)
        expires = issued.session.expires_at.isoformat(timespec="seconds")
    if json_output:
        print_json({"username": username, "token": issued.token, "expires_at": expires})
    else:
        # The bare token on stdout so `TOKEN=$(freemarket user token anna)` works.
        print(issued.token)
