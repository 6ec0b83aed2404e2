"""PostgreSQL's planning and execution time of each statement of GET /api/matches/{me} and /trades.

    flock /work/bench.lock .venv/bin/python -m benchmarks.api_explain --callers 15

Runs the two reads for random people with matches in `benchmarks.api`'s database, records the
statements they send (with the `SET LOCAL` join-order settings around them, replayed as sent),
then runs each statement under `EXPLAIN (ANALYZE, SUMMARY)` twice and keeps the warm run.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import event, select

from benchmarks.api import DATABASE
from freemarket.db.models import Item, Match, User
from freemarket.db.session import make_engine, session_factory
from freemarket.infra.settings import Settings
from freemarket.matching import queries

URL = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DATABASE}"
ROUTES = ("matches", "trades")


def main() -> None:
    """Print the median planning / execution time per statement of each route."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=15)
    args = parser.parse_args()
    engine = make_engine(URL)
    threshold = Settings(_env_file=None).match_show_threshold
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    with session_factory(engine)() as session:
        owners = session.scalars(
            select(Item.user_id).join(Match, Match.want_item_id == Item.id).distinct().limit(3000)
        ).all()
    callers = random.Random(14).sample(list(owners), args.callers)
    timings: dict[str, dict[int, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for route in ROUTES:
        for user_id in callers:
            with session_factory(engine)() as session:
                user = session.get(User, user_id)
                assert user is not None
                sent.clear()
                if route == "matches":
                    queries.match_rows_for_user(
                        session, actor=user, user_id=user_id, min_score=threshold, limit=50
                    )
                else:
                    queries.trades_for_user(
                        session, actor=user, user_id=user_id, min_score=threshold
                    )
                cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                index = 0
                for statement, params in list(sent):
                    verb = statement.lstrip(" \n(").split(None, 1)[0].upper()
                    if verb in ("SET", "RESET"):
                        cursor.execute(statement, params)  # the join order the read ran under
                    elif verb in ("SELECT", "WITH"):
                        for _warm in range(2):
                            cursor.execute(
                                "EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + statement, params
                            )
                            plan = cursor.fetchone()[0][0]
                        timings[route][index].append(
                            (plan["Planning Time"], plan["Execution Time"])
                        )
                        index += 1
                session.rollback()
    for route in ROUTES:
        print(f"{route}: {len(callers)} callers, planning / execution per statement (ms)")
        for index, runs in timings[route].items():
            planning = statistics.median(r[0] for r in runs)
            execution = statistics.median(r[1] for r in runs)
            worst = max(r[1] for r in runs)
            print(
                f"  statement {index}: median {planning:.2f} / {execution:.2f}, "
                f"max execution {worst:.2f}"
            )


if __name__ == "__main__":
    main()
