"""Unit tests of swaps and 3-way cycles."""

from __future__ import annotations

import pytest

from freemarket.matching.core.trades import MatchEdge, find_trades


def edge(
    want_item: int, want_owner: int, offer_item: int, offer_owner: int, score: float = 0.5
) -> MatchEdge:
    return MatchEdge(want_item, want_owner, offer_item, offer_owner, score)


def test_direct_swap() -> None:
    # user 1 wants item 11 (offered by 2); user 2 wants item 10 (offered by 1)
    edges = [edge(100, 1, 11, 2, 0.8), edge(200, 2, 10, 1, 0.4)]
    (p,) = find_trades(edges, {1: 1.0, 2: 1.0})
    assert p.kind == "swap" and p.users == (1, 2)
    assert p.score == pytest.approx(0.4)  # weakest leg, full trust
    assert not p.overlapping


def test_one_way_interest_is_no_trade() -> None:
    assert find_trades([edge(100, 1, 11, 2)]) == []


def test_three_way_cycle_and_trust_weighting() -> None:
    edges = [edge(100, 1, 21, 2, 0.9), edge(200, 2, 31, 3, 0.6), edge(300, 3, 11, 1, 0.7)]
    (p,) = find_trades(edges, {1: 1.0, 2: 1.0, 3: 0.25})
    # users in giving order: 1 gives to 3, 3 gives to 2, 2 gives to 1
    assert p.kind == "cycle3" and p.users == (1, 3, 2)
    assert [(leg.giver, leg.receiver) for leg in p.legs] == [(1, 3), (3, 2), (2, 1)]
    assert p.score == pytest.approx(0.6 * ((1 + 1 + 0.25) / 3) ** 0.5)


def test_cycle_needs_distinct_users_and_no_self_edges() -> None:
    edges = [edge(100, 1, 11, 1), edge(200, 1, 21, 2), edge(300, 2, 12, 1)]
    kinds = [p.kind for p in find_trades(edges)]
    assert kinds == ["swap"]


def test_overlaps_are_flagged_and_order_is_deterministic() -> None:
    # 1<->2 swap and 1->2->3->1 cycle share user 1's offered item 10
    edges = [
        edge(100, 1, 20, 2, 0.9),
        edge(200, 2, 10, 1, 0.9),
        edge(201, 2, 30, 3, 0.5),
        edge(300, 3, 10, 1, 0.5),
    ]
    first = find_trades(edges)
    second = find_trades(list(reversed(edges)))
    assert [(p.kind, p.users, p.score) for p in first] == [
        (p.kind, p.users, p.score) for p in second
    ]
    assert [p.kind for p in first] == ["swap", "cycle3"]
    swap, cycle = first
    assert swap.overlaps_with == [cycle.id] and cycle.overlaps_with == [swap.id]
