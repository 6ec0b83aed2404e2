"""Shared terms as a person reads them: which name the object, and how to say each per language.

An explanation stores the labels of the terms two listings share ("велосипед", "stels"). For
people, the terms that name the thing itself (the object of the want's or the offer's title,
``objects``) come first and are flagged, so the "why" never rests on a modifier alone without
saying so; and each term gets a display form per language where the lexicon has one:

- a concept with a Cyrillic name shows that name in Russian and its first Latin spelling in
  English ("велосипед" -> en "bicycle");
- a concept with a Latin name is shown as it is in both (mostly brands and models, which Russian
  writes in Latin too), and so is a Latin word the lexicon does not know;
- any other word is shown only in its own script's language; the client falls back to `term`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from freemarket.matching.core.objects import title_facts
from freemarket.matching.core.text import Lexicon, normalize

LANGUAGES = ("ru", "en")
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")


def _script(text: str) -> str | None:
    if _CYRILLIC.search(text):
        return "ru"
    if _LATIN.search(text):
        return "en"
    return None


def display_forms(label: str, lexicon: Lexicon) -> dict[str, str]:
    """How to show a term's label in each language that has a form for it."""
    script = _script(label)
    spellings = lexicon.variants.get(label)
    if script == "en" or script is None:
        return {lang: label for lang in LANGUAGES}
    out = {"ru": label}
    if spellings:
        english = next((v for v in spellings if _script(v) == "en"), None)
        if english is not None:
            out["en"] = english
    return out


def _keys(label: str, lexicon: Lexicon) -> set[str]:
    """The analyser keys a label stands for: its concept, or the concepts or stem of its word."""
    if label in lexicon.variants:
        return {"=" + label}
    return {key for word in normalize(label).split() for key, _ in lexicon.token(word).main}


def describe_terms(
    shared_terms: Sequence[dict[str, Any] | str],
    *,
    want_title: str,
    offer_title: str,
    lexicon: Lexicon,
) -> list[dict[str, Any]]:
    """Shared terms for people: object terms first and flagged, each with display forms."""
    objects = title_facts(want_title, lexicon).objects | title_facts(offer_title, lexicon).objects
    described = []
    for raw in shared_terms:
        # rows written by older versions hold plain strings
        entry = raw if isinstance(raw, dict) else {"term": str(raw)}
        label = str(entry.get("term", ""))
        described.append(
            {
                **entry,
                "object": bool(label) and not _keys(label, lexicon).isdisjoint(objects),
                "display": display_forms(label, lexicon),
            }
        )
    # stable: within each group the stored order (largest contribution first) is kept
    return sorted(described, key=lambda e: not e["object"])
