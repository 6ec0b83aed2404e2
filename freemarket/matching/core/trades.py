"""Trade proposals from match edges: direct swaps and 3-way cycles between distinct users.

A proposal's score is its weakest leg, scaled by the parties' trust:

    score = min(leg scores) * mean(trust of the parties) ** TRUST_EXPONENT

with trust in [0, 1] (1 = fully trusted; unknown users get DEFAULT_TRUST). The weakest leg
bounds how happy the least satisfied party is; low trust makes a deal riskier for everyone, so
it discounts the whole proposal rather than one leg.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_TRUST = 0.5
TRUST_EXPONENT = 0.5


@dataclass(frozen=True)
class MatchEdge:
    """``want_owner`` wants ``want_item``, which ``offer_item`` of ``offer_owner`` satisfies."""

    want_item: int
    want_owner: int
    offer_item: int
    offer_owner: int
    score: float


@dataclass(frozen=True)
class TradeLeg:
    """One transfer: ``giver`` hands ``offer_item`` to ``receiver`` for their ``want_item``."""

    giver: int
    receiver: int
    offer_item: int
    want_item: int
    score: float


@dataclass
class TradeProposal:
    """A swap (2 legs) or a 3-way cycle (3 legs) with its score and overlaps."""

    id: int
    kind: str  # "swap" | "cycle3"
    users: tuple[int, ...]
    legs: tuple[TradeLeg, ...]
    score: float
    overlaps_with: list[int] = field(default_factory=list)

    @property
    def items(self) -> frozenset[int]:
        """Every item the proposal would move or satisfy."""
        return frozenset(i for leg in self.legs for i in (leg.offer_item, leg.want_item))

    @property
    def overlapping(self) -> bool:
        """True when another proposal uses one of the same items."""
        return bool(self.overlaps_with)


def _proposal_score(legs: Iterable[TradeLeg], trust: Mapping[int, float]) -> float:
    legs = list(legs)
    users = {leg.giver for leg in legs}
    mean_trust = sum(min(1.0, max(0.0, trust.get(u, DEFAULT_TRUST))) for u in users) / len(users)
    return min(leg.score for leg in legs) * mean_trust**TRUST_EXPONENT


def _best_legs(edges: Iterable[MatchEdge]) -> dict[tuple[int, int], TradeLeg]:
    """Best leg per (giver, receiver): one proposal per set of users, using their best match."""
    best: dict[tuple[int, int], TradeLeg] = {}
    for e in edges:
        if e.want_owner == e.offer_owner:
            continue
        leg = TradeLeg(e.offer_owner, e.want_owner, e.offer_item, e.want_item, e.score)
        cur = best.get((leg.giver, leg.receiver))
        if cur is None or (leg.score, -leg.offer_item, -leg.want_item) > (
            cur.score,
            -cur.offer_item,
            -cur.want_item,
        ):
            best[(leg.giver, leg.receiver)] = leg
    return best


def find_trades(
    edges: Iterable[MatchEdge],
    trust: Mapping[int, float] | None = None,
    *,
    cycles: bool = True,
) -> list[TradeProposal]:
    """Direct swaps and 3-way cycles, best first (ties by users), overlaps flagged."""
    trust = trust or {}
    best = _best_legs(edges)
    gives_to: dict[int, list[int]] = {}
    for giver, receiver in best:
        gives_to.setdefault(giver, []).append(receiver)
    for receivers in gives_to.values():
        receivers.sort()
    found: list[tuple[str, tuple[int, ...], tuple[TradeLeg, ...]]] = []
    for a in sorted(gives_to):
        for b in gives_to[a]:
            # each cycle once: start from its smallest user
            if b > a and (b, a) in best:
                found.append(("swap", (a, b), (best[(a, b)], best[(b, a)])))
            if not cycles or b <= a:
                continue
            for c in gives_to.get(b, []):
                if c > a and c != b and (c, a) in best:
                    found.append(("cycle3", (a, b, c), (best[(a, b)], best[(b, c)], best[(c, a)])))
    scored = sorted(
        ((kind, users, legs, _proposal_score(legs, trust)) for kind, users, legs in found),
        key=lambda t: (-t[3], len(t[1]), t[1]),
    )
    proposals = [
        TradeProposal(i + 1, kind, users, legs, round(score, 6))
        for i, (kind, users, legs, score) in enumerate(scored)
    ]
    _flag_overlaps(proposals)
    return proposals


def _flag_overlaps(proposals: list[TradeProposal]) -> None:
    by_item: dict[int, list[int]] = {}
    for p in proposals:
        for item in p.items:
            by_item.setdefault(item, []).append(p.id)
    for p in proposals:
        others = {q for item in p.items for q in by_item[item] if q != p.id}
        p.overlaps_with = sorted(others)
