"""Unit tests of the text pipeline."""

from __future__ import annotations

from freemarket.matching.core.text import (
    STOP_WORDS,
    analyze,
    english_spelling,
    normalize,
    parse_lexicon,
    stem,
    tokenize,
)


def keys(title: str, description: str = "") -> set[str]:
    return {t.key for t in analyze(title, description) if not t.key.startswith("#")}


def test_normalize_folds_case_yo_and_compatibility_forms() -> None:
    assert normalize("ЁЛКА Ёж") == "елка еж"
    assert normalize("ＲＴＸ３０６０") == "rtx3060"  # full-width forms (NFKC)


def test_tokenize_keeps_numbers_and_model_codes() -> None:
    assert tokenize("Экран 15,6 дюйма") == ["экран", "15.6", "дюйма"]
    assert tokenize("RTX3060") == ["rtx3060", "rtx", "3060"]
    # a Cyrillic letter inside a model code is read as its Latin twin
    assert tokenize("Галакси А51")[1:] == ["a51", "51"]


def test_model_with_space_meets_model_without() -> None:
    assert "iphone13" in keys("iPhone 13") & keys("iphone13 pro")
    assert "rtx3060" in keys("RTX 3060") & keys("rtx3060")


def test_stemming_per_script() -> None:
    assert stem("велосипеды") == stem("велосипедов")
    assert stem("chairs") == stem("chair") == "chair"


def test_stop_words_removed() -> None:
    assert {"и", "the", "ищу", "looking"} <= STOP_WORDS
    assert keys("Ищу стол и стул") == keys("стол стул")
    assert not keys("the and of")


def test_synonyms_and_slang_fold_to_one_term() -> None:
    assert keys("велик") == keys("велосипед") == keys("bicycle") == {"=велосипед"}
    assert keys("ноут") == keys("laptop") == {"=ноутбук"}
    assert keys("холодос") == keys("холодильник")
    assert keys("айфон") == keys("iPhone")
    assert keys("стиральная машина") == keys("стиралка") == keys("washing machine")


def test_one_typo_is_corrected_towards_the_dictionary() -> None:
    assert keys("велосипэд") == keys("велосипед")
    assert keys("кофемашына") == keys("кофемашина")


def test_typo_outside_dictionary_still_shares_ngrams() -> None:
    a = {t.key for t in analyze("Абракадабриум", "")}
    b = {t.key for t in analyze("Абракодабриум", "")}
    assert not {k for k in a & b if not k.startswith("#")}
    assert len({k for k in a & b if k.startswith("#")}) >= 4


def test_ngrams_weigh_less_than_words() -> None:
    terms = analyze("Шуруповерт", "")
    word = max(t.weight for t in terms if not t.key.startswith("#"))
    assert all(t.weight < word for t in terms if t.key.startswith("#"))


def test_title_weighted_above_description() -> None:
    in_title = {t.key: t.weight for t in analyze("Палатка", "")}
    in_desc = {t.key: t.weight for t in analyze("", "Палатка")}
    assert in_title["=палатка"] > in_desc["=палатка"]


def test_accessory_titles_downweight_what_they_fit() -> None:
    item = {t.key: t.weight for t in analyze("Пылесос Dyson", "")}
    accessory = {t.key: t.weight for t in analyze("Мешки для пылесоса", "")}
    assert accessory["=пылесос"] < item["=пылесос"]


def test_a_negated_description_word_is_no_term_of_the_listing() -> None:
    # "не кожа" says what the jacket is not; the title's words and the rest still count
    assert "=кожаный" not in keys("Куртка мужская", "Не кожа, но очень тёплая.")
    assert "=кожаный" in keys("Куртка мужская", "Натуральная кожа.")
    assert "=кожаный" not in keys("Jacket", "Not leather, but warm.")
    assert "царапина" not in keys("Стол", "Без царапин, крепкий")
    assert "крепк" in keys("Стол", "Без царапин, крепкий")
    # in a title a negation stays (the object rules read "без АКБ" there)
    assert "=кожаный" in keys("Куртка кожаная", "")


def test_borrowed_words_in_cyrillic_meet_their_english_spelling() -> None:
    # general spelling patterns of English borrowings, not per-word entries
    assert english_spelling("distorshn") == "distortion"
    assert english_spelling("eirfraier") == "airfryer"
    assert english_spelling("overdraiv") == "overdrive"
    assert english_spelling("baik") == "bike"
    assert english_spelling("chainik") == "chainik"  # a Russian word is left alone
    assert keys("Ищу эйрфрайер") == keys("Airfryer") == {"=аэрогриль"}
    assert "=перегруз" in keys("Педаль дисторшн") and "=перегруз" in keys("Distortion pedal")


def test_custom_lexicon_lines() -> None:
    lex = parse_lexicon(["# comment", "кот: cat, котик", "!ошейник: collar", ""])
    assert lex.lookup((stem("котик"),)) == ("кот",)
    assert "ошейник" in lex.accessories
