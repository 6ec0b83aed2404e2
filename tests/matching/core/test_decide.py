"""The notify decision's general rules: objects of titles, quantities, pair features."""

from __future__ import annotations

import numpy as np
import pytest

from freemarket.matching.core.decide import (
    PAIR_FEATURES,
    Side,
    _quantities,
    _quantity_conflict,
    load_attributes,
    pair_features,
)
from freemarket.matching.core.objects import title_facts
from freemarket.matching.core.text import load_lexicon
from freemarket.matching.core.vectorize import FeatureSpace


@pytest.fixture(scope="module")
def lexicon():  # type: ignore[no-untyped-def]
    return load_lexicon()


def test_negation_drops_what_is_not_offered(lexicon) -> None:  # type: ignore[no-untyped-def]
    table = title_facts("Extendable dining table (no chairs)", lexicon)
    assert "=стул" not in table.main and "=стол" in table.objects
    grinder = title_facts("УШМ Макита без АКБ", lexicon)
    assert "=болгарка" in grinder.objects
    assert not any("акб" in k or "аккумулятор" in k for k in grinder.main)


def test_a_count_or_model_code_is_not_the_object(lexicon) -> None:  # type: ignore[no-untyped-def]
    assert title_facts("Sofa legs x4, wooden", lexicon).objects == {"leg"}


@pytest.mark.parametrize(
    ("want", "offer", "conflict"),
    [
        ("Велосипед для дочки 10 лет", "Велосипед детский 16 дюймов, для 4-6 лет", True),
        ("Велосипед для дочки 10 лет", "Велосипед подростковый, 24 дюйма", False),
        ("Детское автокресло 9-18 кг", "Автокресло от 15 кг", False),
        ("Гиря 8 кг", "Гиря 16 кг", True),
        ("Dyson V8 или V10", "Аккумулятор для Dyson V6", True),
        ("Макита 18В", "УШМ Макита DGA504", False),
        ("Алгебра 8 кл.", "Задачник по алгебре, 9 класс", True),
        ("Куртка мужская 50", "Косуха, натуральная кожа, р. 50", False),
        ("Матрас 120х60", "Матрасик 60x120", False),
        ("Шторы 150х260", "Шторы 300 x 250", True),
        ("Куртка мужская 50", "Куртка женская, 44", True),
    ],
)
def test_quantities_conflict_only_in_one_unit(want: str, offer: str, conflict: bool) -> None:
    assert _quantity_conflict(_quantities(want), _quantities(offer)) is conflict


def test_ranges_and_units_are_read() -> None:
    assert _quantities("Велосипед 16 дюймов, для 4-6 лет") == {
        "inch": ((16.0, 16.0),),
        "years": ((4.0, 6.0),),
    }
    assert _quantities("Шуруповёрт 18В") == {"v": ((18.0, 18.0),)}


def _features(want: str, offers: list[str], lexicon) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    space = FeatureSpace(lexicon)
    titles = [want, *offers]
    sides = [Side(i, t, space.raw_vector(t, "")[0]) for i, t in enumerate(titles)]
    x = pair_features(sides[0], sides[1:], lexicon, load_attributes())
    return {
        t: dict(zip(PAIR_FEATURES, row.tolist(), strict=True))
        for t, row in zip(offers, x, strict=True)
    }


def test_head_agreement_and_compound_titles(lexicon) -> None:  # type: ignore[no-untyped-def]
    f = _features(
        "Ищу велосипед для себя",
        ["Ladies' hybrid bike, 17\" frame", "Bike rack for the car", "Велосипедный шлем"],
        lexicon,
    )
    bike, rack, helmet = f.values()
    # the object across languages
    assert bike["head_match"] == 1 and bike["head_modifier"] == 0
    # the want's object only qualifies another thing
    for compound in (rack, helmet):
        assert compound["head_title"] == 1
        assert compound["head_match"] == 0 and compound["head_modifier"] == 1
    assert np.isclose(bike["want_coverage"], 1.0)
