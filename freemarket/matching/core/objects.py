"""What a listing is about: the object of its title, what it is for, and its attributes.

A title names one thing (its *head*: "швейная машина", "bike", "чехол"), often what it is for
("для iPhone", "for Logan": *targets*) and some modifiers. Two listings that share only
modifiers or targets ("зимняя", "для собаки") are about different things; the notify decision
(``decide``) needs to see that. Rules, all general (no listing-specific entries):

- Titles are cut into segments at punctuation; the first segment with content names the item.
- A target preposition (для, под, на, к, for) after some content starts the targets; one at the
  very start ("Looking for ...") does not.
- Russian heads are the first noun of the segment (pymorphy3 tags the words: adjectives,
  participles, numerals and verbs are modifiers); English heads are the last word of the noun
  phrase ("hybrid bike"). Lexicon phrases ("стиральная машина") count as one word.
- Collective words ("набор", "комплект", "set", "pair") are not the object: the next (Russian)
  or previous (English) word is.
- "и"/"and"/"&" join two heads ("pots and pans").
- A negation ("без", "кроме", "no", "without") drops the rest of its segment: "table (no
  chairs)" is not about chairs, "УШМ без АКБ" does not offer a battery.
- A token with a digit (a model code, a count: "x4", "dga504") is not a head while the part
  has a word without one: "Sofa legs x4" is about legs.
- A title opening with a placeholder or "where" ("что-нибудь", "something", "куда", "где")
  names no object: all its words are targets ("Куда сложить игрушки?" wants a box for toys).

A want's description may exclude things in words ("ножевую не предлагать", "кроме
прозрачного", "mattresses not needed", "not the crystal tubs"): ``excluded`` reads those.

Keys are the analyser's (``text``): a concept "=велосипед" or a stem.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

from freemarket.matching.core.text import (
    _SEGMENT_RE,
    STOP_WORDS,
    TARGET_PREPOSITIONS,
    Lexicon,
    morph,
    normalize,
    tokenize,
)

N_FEATURES_MASK = (1 << 22) - 1  # equal to vectorize's mask (checked by the tests)

# "на" names what a part or accessory fits ("чехол на iPhone", "аккумулятор на Логан").
_TARGET_WORDS = TARGET_PREPOSITIONS | {"на"}
_AND_WORDS = frozenset({"и", "and", "&"})
_NEGATIONS = frozenset({"без", "кроме", "no", "without", "except"})
_COLLECTIVE = frozenset(
    {"набор", "комплект", "пара", "set", "pair", "kit", "bundle", "lot", "pack", "коллекция"}
)
# Russian parts of speech that modify a head rather than name it.
_MODIFIER_POS = frozenset(
    {"ADJF", "ADJS", "PRTF", "PRTS", "NUMR", "VERB", "INFN", "ADVB", "GRND", "COMP", "NPRO"}
    | {"PREP", "CONJ", "PRCL", "INTJ", "PRED"}
)
# A title opening with a placeholder or a "where" question names no object of its own: it says
# what the wanted thing is for ("Куда сложить игрушки?" is a box, not toys; "Something to keep
# my guinea pigs in" is a cage). All its words are then targets.
_NO_OBJECT = re.compile(r"^\W*(?:что[\s-]*(?:нибудь|то|либо)|куда|где|something|anything|where)\b")
_CYRILLIC = re.compile(r"[а-я]")
_HAS_DIGIT = re.compile(r"\d")


def column(key: str) -> int:
    """Hashed vector column of an analyser key (as ``vectorize.FeatureSpace.column``)."""
    return zlib.crc32(key.encode("utf-8")) & N_FEATURES_MASK


@lru_cache(maxsize=200_000)
def _is_modifier(token: str) -> bool:
    """Whether a Russian word modifies a head (adjective, verb...) by its likeliest tag."""
    if token[0].isdigit() or not _CYRILLIC.search(token):
        return token[0].isdigit()
    return morph().parse(token)[0].tag.POS in _MODIFIER_POS


@dataclass(frozen=True, slots=True)
class Unit:
    """One word or lexicon phrase of a title: its keys, first token and role."""

    keys: tuple[str, ...]
    token: str
    target: bool


@dataclass(frozen=True, slots=True)
class TitleFacts:
    """The object, the other words and the targets of a title, as analyser keys."""

    objects: frozenset[str]
    main: frozenset[str]
    targets: frozenset[str]


def _units(segment: str, lexicon: Lexicon) -> list[Unit]:
    tokens = tokenize(segment)
    out: list[Unit] = []
    target = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _NEGATIONS:
            break
        if t in _TARGET_WORDS and any(not u.target for u in out):
            target = True
        if t in STOP_WORDS and t not in _AND_WORDS:
            i += 1
            continue
        if t in _AND_WORDS:
            out.append(Unit((), t, target))
            i += 1
            continue
        info = lexicon.token(t)
        span, keys = 1, tuple(k for k, _ in info.main)
        if info.starts_phrase:
            stems = [lexicon.token(x).stem for x in tokens[i : i + lexicon.max_len]]
            for n in range(len(stems), 1, -1):
                concepts = lexicon.lookup(tuple(stems[:n]))
                if concepts:
                    span, keys = n, tuple("=" + c for c in concepts)
                    break
        out.append(Unit(keys, t if span == 1 else "_phrase", target))
        i += span
    return out


def _heads(units: list[Unit], russian: bool) -> list[Unit]:
    """Head units of the item's own words (before any target), one per "and"-joined part."""
    own = [u for u in units if not u.target]
    parts: list[list[Unit]] = [[]]
    for u in own:
        if not u.keys:
            parts.append([])
        else:
            parts[-1].append(u)
    heads: list[Unit] = []
    for part in parts:
        words = [u for u in part if not u.token[0].isdigit()]
        words = [u for u in words if not _HAS_DIGIT.search(u.token)] or words
        if russian:
            nouns = [u for u in words if u.token == "_phrase" or not _is_modifier(u.token)]
            nouns = [u for u in nouns if u.token not in _COLLECTIVE] or nouns
            # a word the dictionary does not know may be read as a verb ("беговел"): a part
            # with no noun is still about something, its first word
            nouns = nouns or words
            if nouns:
                heads.append(nouns[0])
        else:
            words = [u for u in words if u.token not in _COLLECTIVE] or words
            if words:
                heads.append(words[-1])
    return heads


def _title_facts(title: str, lexicon: Lexicon) -> TitleFacts:
    segments = [s for s in _SEGMENT_RE.split(title) if s and s.strip()]
    units_by_segment = [_units(s, lexicon) for s in segments]
    russian = bool(_CYRILLIC.search(normalize(title)))
    heads: list[Unit] = []
    for units in units_by_segment:
        heads = _heads(units, russian)
        if heads:
            break
    all_units = [u for units in units_by_segment for u in units]
    if _NO_OBJECT.match(normalize(title)):
        return TitleFacts(frozenset(), frozenset(), frozenset(k for u in all_units for k in u.keys))
    objects = {k for u in heads for k in u.keys}
    main = {k for u in all_units if not u.target for k in u.keys}
    targets = {k for u in all_units if u.target for k in u.keys} - main
    return TitleFacts(frozenset(objects), frozenset(main), frozenset(targets))


_CACHE_MAX = 200_000
_caches: dict[int, dict[str, TitleFacts]] = {}


def title_facts(title: str, lexicon: Lexicon) -> TitleFacts:
    """Object, main words and targets of a title (cached per title and lexicon)."""
    cache = _caches.setdefault(id(lexicon), {})
    facts = cache.get(title)
    if facts is None:
        facts = _title_facts(title, lexicon)
        if len(cache) < _CACHE_MAX:
            cache[title] = facts
    return facts


# "<words> не предлагать" / "<words> not needed": the words just before name what is excluded;
# "кроме <words>" / "not the <words>" / "except <words>": the words after do.
_EXCLUDE_AFTER = re.compile(
    r"\b(?:не\s+(?:предлагать|предлагайте|предлагаете|подойдет|подойдут|подходит|подходят"
    r"|нужен|нужна|нужно|нужны|надо|интересует|интересуют|присылать|пишите)"
    r"|not\s+(?:needed|wanted|required|interested))\b"
)
_EXCLUDE_BEFORE = re.compile(r"\b(?:кроме|except|not\s+(?:a|an|the|any))\s+")
_CLAUSE_END = re.compile(r"[.,;:!?()\[\]—–]|\s-\s|\b(?:и|а|но|and|but|or|или)\b")
_EXCLUDED_WORDS = 3  # words of a clause next to the negation that name the excluded thing


@lru_cache(maxsize=50_000)
def _excluded(description: str, lexicon_id: int) -> frozenset[str]:
    lexicon = _lexicons[lexicon_id]
    text = normalize(description)
    phrases: list[str] = []
    for m in _EXCLUDE_AFTER.finditer(text):
        clause = _CLAUSE_END.split(text[: m.start()])[-1]
        phrases.append(" ".join(clause.split()[-_EXCLUDED_WORDS:]))
    for m in _EXCLUDE_BEFORE.finditer(text):
        clause = _CLAUSE_END.split(text[m.end() :])[0]
        phrases.append(" ".join(clause.split()[:_EXCLUDED_WORDS]))
    return frozenset(k for p in phrases for u in _units(p, lexicon) for k in u.keys)


_lexicons: dict[int, Lexicon] = {}


def excluded(description: str, lexicon: Lexicon) -> frozenset[str]:
    """Keys of what a want's description says it does not want (empty for most)."""
    if not description or not (
        _EXCLUDE_AFTER.search(normalize(description))
        or _EXCLUDE_BEFORE.search(normalize(description))
    ):
        return frozenset()
    _lexicons[id(lexicon)] = lexicon
    return _excluded(description, id(lexicon))
