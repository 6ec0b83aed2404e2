"""Shared terms for people: object terms flagged and first, display forms per language."""

from __future__ import annotations

from freemarket.matching.core.display import describe_terms, display_forms
from freemarket.matching.core.text import load_lexicon, parse_lexicon


def test_a_russian_concept_is_shown_in_english_by_its_first_latin_spelling() -> None:
    lexicon = parse_lexicon(["велосипед: велик, bicycle, bike", "коляска: stroller, pram"])
    assert display_forms("велосипед", lexicon) == {"ru": "велосипед", "en": "bicycle"}
    assert display_forms("коляска", lexicon) == {"ru": "коляска", "en": "stroller"}


def test_latin_names_stay_as_written_and_unknown_words_keep_their_language() -> None:
    lexicon = parse_lexicon(["iphone: айфон, ифон", "велосипед: велик"])
    assert display_forms("iphone", lexicon) == {"ru": "iphone", "en": "iphone"}
    assert display_forms("stels", lexicon) == {"ru": "stels", "en": "stels"}
    assert display_forms("13", lexicon) == {"ru": "13", "en": "13"}
    # No Latin spelling listed: English readers get no invented translation.
    assert display_forms("велосипед", lexicon) == {"ru": "велосипед"}
    assert display_forms("горный", lexicon) == {"ru": "горный"}


def test_the_shipped_lexicon_translates_common_goods() -> None:
    lexicon = load_lexicon()
    for russian in ("велосипед", "телефон", "ноутбук", "коляска", "самокат"):
        english = display_forms(russian, lexicon).get("en")
        assert english and english.isascii(), (russian, english)


def test_object_terms_are_flagged_and_come_first() -> None:
    lexicon = load_lexicon()
    described = describe_terms(
        [{"term": "детский", "weight": 0.3}, {"term": "велосипед", "weight": 0.2}],
        want_title="Ищу детский велосипед 16 дюймов",
        offer_title="Детский велосипед Stels",
        lexicon=lexicon,
    )
    assert [(d["term"], d["object"]) for d in described] == [
        ("велосипед", True),
        ("детский", False),
    ]
    assert described[0]["weight"] == 0.2
    assert described[0]["display"] == {"ru": "велосипед", "en": "bicycle"}


def test_a_modifier_alone_is_not_called_the_object() -> None:
    # The false alarm: a scooter wanted, a pram offered, "детский" all they share.
    described = describe_terms(
        [{"term": "детский", "weight": 0.34}],
        want_title="Ищу детский самокат",
        offer_title="Детская коляска",
        lexicon=load_lexicon(),
    )
    assert [d["object"] for d in described] == [False]


def test_old_rows_with_plain_strings_are_described_too() -> None:
    described = describe_terms(
        ["bike"], want_title="bike", offer_title="Велосипед", lexicon=load_lexicon()
    )
    assert described == [{"term": "bike", "object": True, "display": {"ru": "bike", "en": "bike"}}]
