"""Schemathesis against the OpenAPI schema, signed in as a plain user: no 500s, no schema lies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from freemarket.api.app import create_app
from freemarket.db.models import User
from freemarket.domain import sessions
from tests.domain.conftest import Person, World, base_settings

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Bounded and deterministic: the same examples every run, well under a minute per backend.
EXAMPLES = {"positive": 25, "negative": 8}


def seed(world: World, anna: Person, boris: Person, vera: Person) -> None:
    """Real data for the GET routes: items, matches, a profile, exchanges, ratings, reports."""
    world.client.post("/api/profiles/", json={"visibility": "matches"}, headers=anna.headers)
    world.client.post("/api/profiles/", json={"data": {"bio": "x"}}, headers=boris.headers)
    done = world.completed_exchange(anna, boris, "done")
    assert world.rate(anna, boris, done, 5).status_code == 201
    assert world.rate(boris, anna, done, 4).status_code == 201
    world.accepted_exchange(anna, vera, "acc")
    world.propose(boris, world.swap(boris, anna, "open"))
    world.item(anna, "want", "велосипед")
    world.client.post(
        "/api/reports/", json={"user_id": vera.id, "reason": "спам"}, headers=anna.headers
    )


def test_api_conforms_to_its_schema(
    world: World,
    anna: Person,
    boris: Person,
    vera: Person,
    db_url: str,
    tmp_path: Path,
    engine: Engine,
    db: Session,
) -> None:
    seed(world, anna, boris, vera)
    app = create_app(
        base_settings(
            db_url,
            tmp_path,
            rate_limit_signin_per_minute=1_000_000,
            rate_limit_write_per_minute=1_000_000,
            rate_limit_search_per_minute=1_000_000,
        ),
        engine=engine,
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    user = db.get(User, anna.id)
    assert user is not None

    def headers_for(label: str) -> dict[str, str]:
        if label != "POST /api/auth/logout":
            return anna.headers
        # Signing out ends the session it is called with: give it one of its own.
        issued = sessions.issue_token(db, user=user, ttl=timedelta(hours=1), origin="schemathesis")
        db.commit()
        return {"Authorization": f"Bearer {issued.token}"}

    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():
            run = _runner(operation, mode, examples, headers_for)
            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                assert mode == "negative", operation.label  # nothing to break in this one
            except BaseException as exc:  # a FailureGroup is a BaseExceptionGroup
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} [{mode}]: {str(exc).split('Reproduce')[0]}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
    # The session schemathesis used is still alive: the run really was authenticated.
    assert world.client.get("/api/users/me", headers=anna.headers).status_code == 200


def _runner(
    operation: object, mode: str, examples: int, headers_for: Callable[[str], dict[str, str]]
) -> Callable[[], None]:
    """A Hypothesis test calling one operation with cases of one generation mode."""
    from hypothesis import HealthCheck, Phase, given, settings

    generation = schemathesis.GenerationMode(mode)
    strategy = operation.as_strategy(generation_mode=generation)  # type: ignore[attr-defined]
    label = operation.label  # type: ignore[attr-defined]

    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: object) -> None:
        response = case.call(headers=headers_for(label))  # type: ignore[attr-defined]
        case.validate_response(response, checks=CHECKS)  # type: ignore[attr-defined]

    return run
