"""The notify decision's general rules: objects of titles, quantities, pair features."""

from __future__ import annotations

import numpy as np
import pytest

from freemarket.matching.core.decide import (
    NOTIFY_FEATURES,
    PAIR_FEATURES,
    Side,
    _quantities,
    _quantity_conflict,
    load_attributes,
    load_implied_quantities,
    load_model,
    pair_features,
)
from freemarket.matching.core.objects import excluded, title_facts
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
    "title",
    [
        "Куда сложить игрушки?",
        "Где хранить картошку на балконе?",
        "Что-нибудь, на чём может спать гость",
        "Something to keep my guinea pigs in",
    ],
)
def test_a_placeholder_or_where_title_names_no_object(lexicon, title: str) -> None:  # type: ignore[no-untyped-def]
    facts = title_facts(title, lexicon)
    assert not facts.objects and not facts.main and facts.targets


def test_what_a_want_is_for_is_not_its_object(lexicon) -> None:  # type: ignore[no-untyped-def]
    f = _features("Куда сложить игрушки?", ["Игрушки пакетом: машинки, кубики"], lexicon)
    toys = f["Игрушки пакетом: машинки, кубики"]
    assert toys["offer_head_is_target"] == 1 and toys["head_match"] == 0


def test_room_and_wear_are_attributes(lexicon) -> None:  # type: ignore[no-untyped-def]
    rug = _features("Нужен ковёр в зал", ["Коврик для ванной", "Ковёр в гостиную"], lexicon)
    assert [r["attribute_conflict"] for r in rug.values()] == [1.0, 0.0]
    cabinet = _features("Шкаф для одежды", ["Обувной шкаф узкий", "Платяной шкаф"], lexicon)
    assert [c["attribute_conflict"] for c in cabinet.values()] == [1.0, 0.0]
    curtains = _features("Шторы блэкаут в спальню", ["Тюль органза", "Шторы блэкаут"], lexicon)
    assert [c["attribute_conflict"] for c in curtains.values()] == [1.0, 0.0]


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
        # a kind made for a standard range names it: an infant carrier is 0-13 kg
        ("Детское автокресло 9-18 кг", "Отдам автолюльку Maxi-Cosi", True),
        ("Автокресло 0-13 кг", "Автолюлька Maxi-Cosi", False),
        ("Автокресло 15-36 кг", "Бустер автомобильный", False),
        # ranges that only touch name different things; ranges sharing most of one agree
        ("Комбинезон 80-86", "Комбинезон 86-92", True),
        ("Платье 4-6 лет", "Платье 5-7 лет", False),
    ],
)
def test_quantities_conflict_only_in_one_unit(want: str, offer: str, conflict: bool) -> None:
    assert _quantity_conflict(_quantities(want), _quantities(offer)) is conflict


def test_implied_ranges_are_an_operator_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "quantities.txt"
    path.write_text("# kinds\nгиря малая, kettlebell small: 4-8 кг\nпелёнка: 0-3 мес\n", "utf-8")
    table = load_implied_quantities(path)
    assert table[("гир", "мал")] == ("kg", 4.0, 8.0)
    assert ("kettlebel", "small") in table and table[("пеленк",)] == ("months", 0.0, 3.0)
    bad = tmp_path / "bad.txt"
    bad.write_text("гиря: 4-8 попугаев\n", "utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt:1"):
        load_implied_quantities(bad)
    # the shipped file: a name of two words needs both ("Cat carrier" is no infant carrier)
    assert _quantities("Infant carrier Maxi-Cosi") == {"kg": ((0.0, 13.0),)}
    assert _quantities("Cat carrier") == {}


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


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Электрическую, жерновую. Ножевую не предлагать.", {"ножев"}),
        ("Любой, кроме прозрачного, можно книжку.", {"прозрачн"}),
        ("An electric one, not the crystal tubs.", {"crystal", "tub"}),
        ("Sturdy frame please, mattresses not needed.", {"=матрас"}),
        ("Можно не новый, состояние не важно, возраст не важен.", set()),
        ("", set()),
    ],
)
def test_a_want_description_excludes_things_in_words(
    lexicon,  # type: ignore[no-untyped-def]
    description: str,
    expected: set[str],
) -> None:
    assert excluded(description, lexicon) == expected


def test_excluded_and_material_features(lexicon) -> None:  # type: ignore[no-untyped-def]
    space = FeatureSpace(lexicon)
    want = Side(
        0, "Ищу кофемолку", space.raw_vector("Ищу кофемолку", "")[0], "Ножевую не предлагать"
    )
    offers = ["Кофемолка ножевая Bosch", "Кофемолка жерновая"]
    x = pair_features(
        want,
        [Side(i + 1, t, space.raw_vector(t, "")[0]) for i, t in enumerate(offers)],
        lexicon,
        load_attributes(),
    )
    col = PAIR_FEATURES.index("excluded")
    assert x[:, col].tolist() == [1.0, 0.0]
    f = _features(
        "Кожаная куртка мужская 50", ["Куртка мужская 50, пуховая", "Косуха кожаная"], lexicon
    )
    down, leather = f.values()
    assert down["attribute_conflict"] == 1 and leather["attribute_conflict"] == 0


def test_an_excluded_offer_is_never_pushed() -> None:
    model = load_model()
    x = np.ones((2, len(NOTIFY_FEATURES)))
    x[:, NOTIFY_FEATURES.index("excluded")] = [0.0, 1.0]
    p = model.probability(x)
    assert p[0] > 0 and p[1] == 0.0
