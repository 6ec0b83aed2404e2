"""Unit tests of the matching rules, scores, explanations and the incremental index."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import replace
from typing import Any

from freemarket.matching.core.engine import (
    COMPUTED_BY,
    Listing,
    city_key,
    match_all,
    match_partition,
    merge_candidates,
)
from freemarket.matching.core.index import MatchIndex
from freemarket.matching.core.rules import Sides, categories_match, pairs_allowed
from freemarket.matching.core.vectorize import CorpusStats, FeatureSpace
from freemarket.matching.params import default_thresholds

PARAMS = default_thresholds()
TOP5 = replace(PARAMS, top_k=5)


def want(id: int, user: int, title: str, **kw: object) -> Listing:
    base: dict[str, object] = {"category": "bicycles", "city": "Москва", "description": ""}
    base.update(kw)
    return Listing(id=id, user_id=user, kind="want", title=title, **base)  # type: ignore[arg-type]


def offer(id: int, user: int, title: str, **kw: object) -> Listing:
    base: dict[str, object] = {"category": "bicycles", "city": "Москва", "description": ""}
    base.update(kw)
    return Listing(id=id, user_id=user, kind="offer", title=title, **base)  # type: ignore[arg-type]


def allowed(w: Listing, o: Listing, radius_km: float = PARAMS.radius_km) -> bool:
    """The shared rule predicate on one pair."""
    codes: dict[str, int] = {}

    def sides(x: Listing) -> Sides:
        key = city_key(x.city)
        code = -1 if key is None else codes.setdefault(key, len(codes))
        lat, lon = (math.nan if v is None else v for v in (x.lat, x.lon))
        return Sides(x.user_id, code, x.delivery, lat, lon)

    return categories_match(w.category, o.category) and bool(
        pairs_allowed(sides(w), sides(o), radius_km)
    )


def pairs(listings: list[Listing], **kw: Any) -> set[tuple[int, int]]:
    return {(c.want_id, c.offer_id) for c in match_all(listings, replace(PARAMS, **kw))}


def test_same_user_is_never_matched() -> None:
    ls = [want(1, 1, "Велосипед"), offer(2, 1, "Велосипед"), offer(3, 2, "Велосипед")]
    assert pairs(ls) == {(1, 3)}


def test_category_must_agree_unless_want_is_other() -> None:
    ls = [
        want(1, 1, "Клетка для морской свинки"),
        want(2, 1, "Клетка для морской свинки", category="other"),
        offer(3, 2, "Клетка для морской свинки", category="pets"),
    ]
    assert pairs(ls) == {(2, 3)}


def test_city_or_delivery() -> None:
    ls = [
        want(1, 1, "Горный велосипед", city="Казань"),
        offer(2, 2, "Горный велосипед", city="Москва"),
        offer(3, 3, "Горный велосипед", city="Москва", delivery=True),
        offer(4, 4, "Горный велосипед", city=" казань "),
    ]
    assert pairs(ls) == {(1, 3), (1, 4)}


def test_radius_when_both_have_coordinates() -> None:
    # Химки is ~20 km from the centre of Moscow, Тверь ~160 km
    w = want(1, 1, "Велосипед", lat=55.7558, lon=37.6173)
    near = offer(2, 2, "Велосипед", city="Химки", lat=55.8970, lon=37.4297)
    far = offer(3, 3, "Велосипед", city="Тверь", lat=56.8587, lon=35.9176)
    nocoord = offer(4, 4, "Велосипед", city="Химки")
    assert allowed(w, near) and not allowed(w, far) and not allowed(w, nocoord)
    assert allowed(w, far, radius_km=500)
    assert pairs([w, near, far, nocoord]) == {(1, 2)}
    assert pairs([w, near, far, nocoord], radius_km=500) == {(1, 2), (1, 3)}


def test_unrelated_text_is_below_threshold_and_scores_are_bounded() -> None:
    ls = [want(1, 1, "Детский велосипед"), offer(2, 2, "Детский велосипед"), offer(3, 3, "Насос")]
    res = match_all(ls, PARAMS)
    assert [(c.offer_id, c.computed_by) for c in res] == [(2, COMPUTED_BY)]
    assert 0.99 <= res[0].score <= 1.0


def test_top_k_and_ranking() -> None:
    ls = [
        want(1, 1, "Горный велосипед Stels 26 дюймов"),
        offer(10, 2, "Горный велосипед Stels 26 дюймов"),
        offer(11, 3, "Горный велосипед"),
        offer(12, 4, "Велосипед"),
    ]
    res = match_all(ls, replace(PARAMS, top_k=2))
    assert [c.offer_id for c in res] == [10, 11]
    assert res[0].score > res[1].score


def test_explanation_names_shared_terms_by_weight() -> None:
    ls = [
        want(1, 1, "Ищу велик Stels", description="Для сына"),
        offer(2, 2, "Велосипед Stels Pilot", description="Для мальчика 9 лет"),
    ]
    (c,) = match_all(ls, PARAMS)
    terms = [e["term"] for e in c.explanation]
    assert set(terms[:2]) == {"велосипед", "stels"}
    weights = [float(e["weight"]) for e in c.explanation]
    assert weights == sorted(weights, reverse=True)
    # word terms carry most of the score; small n-gram echoes of listed words are left out
    assert 0.8 * c.score <= sum(weights) <= c.score + 1e-6


def test_typo_match_is_explained() -> None:
    ls = [want(1, 1, "Абракадабриум"), offer(2, 2, "Абракодабриум")]
    (c,) = match_all(ls, replace(PARAMS, show=0.05))
    assert c.explanation and str(c.explanation[0]["term"]).startswith("~абракодабриум")


def test_never_seen_word_still_matches() -> None:
    index = MatchIndex.build([offer(2, 2, "Велосипед")])
    index.add(offer(3, 3, "Квазитрон зелёный"))
    found = index.match(want(1, 1, "Квазитрон"), PARAMS)
    assert [c.offer_id for c in found] == [3]


def test_offer_query_returns_wants() -> None:
    index = MatchIndex.build(
        [want(1, 1, "Велосипед"), want(2, 2, "Самокат"), want(4, 3, "Велосипед", category="other")]
    )
    found = index.match(offer(3, 3, "Велосипед"), PARAMS)
    assert [(c.want_id, c.offer_id) for c in found] == [(1, 3)]  # 4 is the offer owner's own want


def _corpus(n: int, seed: int = 7) -> list[Listing]:
    rng = random.Random(seed)
    nouns = ["велосипед", "самокат", "шлем", "насос", "колесо", "bike", "helmet", "замок"]
    adjs = ["детский", "горный", "синий", "новый", "складной", "26", "20", "stels", "forward"]
    cats = ["bicycles", "sports", "other"]
    # Москва, Химки (~20 km away), Тверь (~160 km) and a place with coordinates but no city
    places = [
        ("Москва", 55.7558, 37.6173),
        ("Химки", 55.8970, 37.4297),
        ("Тверь", 56.8587, 35.9176),
        (None, 55.70, 37.50),
        ("Казань", None, None),
        (None, None, None),
    ]
    out = []
    for i in range(n):
        words = [rng.choice(nouns), *rng.sample(adjs, 2)]
        city, lat, lon = rng.choice(places)
        if lat is not None and rng.random() < 0.3:
            lat = lon = None  # the city is known, the coordinates are not
        out.append(
            Listing(
                id=i + 1,
                user_id=rng.randrange(20),
                kind=rng.choice(["want", "offer"]),
                category=rng.choice(cats),
                city=city,
                title=" ".join(words),
                description=rng.choice(adjs),
                delivery=rng.random() < 0.2,
                lat=lat,
                lon=lon,
            )
        )
    return out


def _key(c: object) -> tuple[int, int]:
    return (c.want_id, c.offer_id)  # type: ignore[attr-defined]


def test_index_equals_batch() -> None:
    """Every rule (owner, category, city, delivery, radius) and the score agree exactly."""
    listings = _corpus(400)
    by_id = {x.id: x for x in listings}
    batch = match_all(listings, TOP5)
    index = MatchIndex.build(listings)
    inc = [c for x in listings if x.kind == "want" for c in index.match(x, TOP5)]
    assert [(c.want_id, c.offer_id, c.score) for c in inc] == [
        (c.want_id, c.offer_id, c.score) for c in batch
    ]
    # the corpus exercises each rule, and every kept pair obeys them
    assert all(allowed(by_id[c.want_id], by_id[c.offer_id]) for c in batch)
    kinds = {
        "other-category want": any(by_id[c.want_id].category == "other" for c in batch),
        "delivery": any(by_id[c.offer_id].delivery for c in batch),
        "radius": any(
            by_id[c.want_id].city != by_id[c.offer_id].city and not by_id[c.offer_id].delivery
            for c in batch
        ),
    }
    assert all(kinds.values()), kinds


def test_index_equals_batch_on_the_object_rules() -> None:
    """The notify decision's rules give one score, confidence and push in both paths.

    Listings exercising each rule: implied ranges of a kind of goods, placeholder/"where"
    titles, negated description words, room/wear/material attributes, borrowed words spelt in
    Cyrillic, accessories; the want's description reaches the decision in both paths.
    """
    rows = [
        want(1, 1, "Детское автокресло 9-18 кг", description="Нужна группа 1"),
        offer(2, 2, "Отдам автолюльку Maxi-Cosi", description="Группа 0+, до 13 кг"),
        offer(3, 3, "Автокресло Britax 9-18 кг"),
        want(4, 1, "Куда сложить игрушки?"),
        offer(5, 2, "Игрушки пакетом: машинки, кубики"),
        offer(6, 3, "Контейнеры для игрушек с крышками"),
        want(7, 1, "Кожаная куртка мужская 50"),
        offer(8, 2, "Куртка мужская 50, пуховая", description="Не кожа, но тёплая"),
        offer(9, 3, "Косуха кожаная мужская, 50"),
        want(10, 1, "Шкаф для одежды", description="В спальню"),
        offer(11, 2, "Обувной шкаф узкий"),
        offer(12, 3, "Платяной шкаф на две двери"),
        want(13, 1, "Ищу эйрфрайер"),
        offer(14, 2, "Airfryer Philips"),
        want(15, 1, "Шуруповерт Макита 18В"),
        offer(16, 2, "Набор бит Makita, 31 предмет"),
        offer(17, 3, "Шуруповерт Makita 18V с АКБ"),
        want(18, 1, "Шторы блэкаут в спальню"),
        offer(19, 2, "Тюль органза белый"),
        offer(20, 3, "Шторы блэкаут серые"),
    ]
    rows = [replace(x, category="other", city="Москва") for x in rows]
    batch = match_all(rows, TOP5)
    index = MatchIndex.build(rows)
    inc = [c for x in rows if x.kind == "want" for c in index.match(x, TOP5)]

    def key(c: Any) -> tuple[object, ...]:
        return (c.want_id, c.offer_id, c.score, c.confidence, c.notify)

    assert [key(c) for c in inc] == [key(c) for c in batch]
    found = {(c.want_id, c.offer_id) for c in batch}
    pushed = {(c.want_id, c.offer_id) for c in batch if c.notify}
    # the look-alikes the rules are about are found (so the rules ran) and never pushed
    look_alikes = {(1, 2), (4, 5), (7, 8), (10, 11), (15, 16), (18, 19)}
    assert look_alikes <= found and not pushed & look_alikes
    assert pushed, "the corpus should push some right offers"


def test_index_after_adds_and_removes_equals_batch_after_refresh() -> None:
    listings = _corpus(300, seed=3)
    extra = [dataclasses.replace(x, id=x.id + 1000) for x in _corpus(50, seed=99)]
    index = MatchIndex.build(listings[:100] + extra)
    for x in extra:
        index.remove(x.id)
    for x in listings[100:]:
        index.add(x)
    index.refresh()
    batch = match_all(listings, TOP5)
    inc = [c for x in listings if x.kind == "want" for c in index.match(x, TOP5)]
    assert sorted(map(_key, inc)) == sorted(map(_key, batch))


def test_adding_a_listing_as_it_is_held_leaves_the_index_unchanged() -> None:
    """The wants an offer job touches are added again as they are: nothing is re-weighted."""
    listings = _corpus(200, seed=4)
    index = MatchIndex.build(listings[:150])
    for x in listings[150:]:
        index.add(x)  # the statistics move on; the stored vectors keep the build's idf
    wants = [x for x in listings if x.kind == "want"]
    before = [index.match(x, TOP5) for x in wants]
    held = index.memory()
    for x in listings:
        index.add(x)
    assert [index.match(x, TOP5) for x in wants] == before
    assert index.memory() == held
    edited = dataclasses.replace(wants[0], title=wants[0].title + " складной")
    index.add(edited)  # a changed listing is indexed again
    assert index.match(edited, TOP5) != before[0] or index.memory() != held


def test_an_offers_wants_are_those_match_gives_it() -> None:
    """The worker's list of wants to re-match for an offer: match's, with their cosines."""
    listings = _corpus(400, seed=6)
    index = MatchIndex.build(listings)
    found = 0
    for x in listings:
        if x.kind == "offer":
            expected = {(c.want_id, c.cosine) for c in index.match(x, TOP5)}
            assert set(index.wants_for(x, TOP5)) == expected
            found += len(expected)
    assert found > 50


def test_partitions_merge_to_the_full_result() -> None:
    listings = _corpus(300, seed=5)
    space = FeatureSpace()
    raw = space.raw_matrix([(x.title, x.description) for x in listings])
    stats = CorpusStats.from_matrix(raw)
    parts = [
        c
        for cat in ("bicycles", "sports", "other")
        for c in match_partition(listings, cat, TOP5, stats=stats)
    ]
    assert sorted(map(_key, merge_candidates(parts, 5))) == sorted(
        map(_key, match_all(listings, TOP5))
    )
