"""Ranking and the notify decision: is this offer the thing the person wants? Both paths call it.

Two small linear models, fitted by ``learn`` and shipped together as
``freemarket/data/notify-model.json``, look at the *object* of both titles (``objects``), not
only at shared words:

- **Ranking.** Candidates come from the TF-IDF cosine (top-k above the show threshold). Each
  pair's relevance is the part of that cosine above the show threshold times a factor of at
  most 1 that falls when the objects disagree:
  ``relevance = show + (cosine - show) * exp(g . f - max(g . f))`` over the pair features
  ``f`` (all in [0, 1]) below, with ``g`` learnt from labelled pairs by pairwise logistic
  regression (of two candidates of one want, which is the right one). The relevance is the
  stored score: it orders a person's matches and is the percentage they see. It depends on
  the pair alone, so a pair gets the same score whichever side is matched, and re-ranking
  reorders what the cosine found without hiding any of it.
- **Notify.** A calibrated logistic regression over the cosine, the pair features and the
  margin over the want's next candidate (after re-ranking) gives the confidence of the best
  ``DECIDE_TOP``; ``MATCH_NOTIFY_THRESHOLD`` decides.

Pair features (``PAIR_FEATURES``), all general (nothing names a listing):

- ``head_title`` / ``head_anywhere``: the want's object is among the offer title's own words
  (not a target), or anywhere in the offer (its description too);
- ``head_as_target``: the want's object is only what the offer is *for* ("цепь для бензопилы");
- ``offer_head_in_want``: the offer's object is mentioned by the want;
- ``offer_head_is_target``: the offer's object is what the want is *for* (a phone for a case);
- ``attribute_conflict``: different values of one attribute (men's / women's, boy / girl,
  winter / summer; classes in ``freemarket/data/attributes.txt``);
- ``target_conflict``: both say what they are for, and it differs ("для кошки" / "для собаки");
- ``number_conflict``: both titles carry numbers (size, school year, weight, model) and share
  none ("гиря 8 кг" / "16 кг");
- ``want_coverage`` / ``want_title_coverage``: the share of the want title's words found in the
  offer, anywhere or in its title (a "bunk bed" is not any bed);
- ``offer_coverage``: the share of the offer title's own words the want mentions (an offer of
  "strings" for a want of a ukulele has words the want never used);
- ``head_match``: the two objects agree (directly, or through the lexicon, a translation or
  one typo): a "hybrid bike" for "велосипед", not a "bike rack";
- ``head_modifier``: the want's object is in the offer title only as a modifier of another
  object the want never names (compound and accessory titles: "Bike rack", "Ukulele
  strings", "Велосипедный шлем", "Sofa legs");
- ``excluded``: the offer's title names what the want's description excludes ("ножевую не
  предлагать", "кроме прозрачного", "not the crystal tubs"; ``objects.excluded``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from freemarket.matching.core.objects import TitleFacts, column, excluded, title_facts
from freemarket.matching.core.text import Lexicon, normalize, stem, within_one_edit

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_MODEL_PATH = DATA_DIR / "notify-model.json"
DEFAULT_ATTRIBUTES_PATH = DATA_DIR / "attributes.txt"
DEFAULT_QUANTITIES_PATH = DATA_DIR / "quantities.txt"

PAIR_FEATURES = (
    "head_title",
    "head_anywhere",
    "head_as_target",
    "offer_head_in_want",
    "offer_head_is_target",
    "attribute_conflict",
    "target_conflict",
    "number_conflict",
    "want_coverage",
    "want_title_coverage",
    "offer_coverage",
    "head_match",
    "head_modifier",
    "excluded",
)
NOTIFY_FEATURES = ("cosine", *PAIR_FEATURES, "margin", "top")
_EXCLUDED = NOTIFY_FEATURES.index("excluded")
# Typos in the object ("бинзопила") still name it: stems this long may differ by one edit.
_FUZZY_HEAD_MIN = 5
# Only a want's best few candidates can be worth a push; deciding on them alone keeps the bulk
# recompute fast. Both paths decide on exactly these.
DECIDE_TOP = 2


@dataclass(frozen=True, slots=True)
class Side:
    """What the decision needs of one listing: id, title, its vector's columns, description."""

    id: int
    title: str
    columns: np.ndarray
    description: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """One candidate's relevance (its stored score), the model's confidence and the push."""

    score: float
    confidence: float
    notify: bool


@dataclass(frozen=True)
class NotifyModel:
    """The ranking weights over ``PAIR_FEATURES`` and the notify model over ``NOTIFY_FEATURES``."""

    rank_coef: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    trained_on: tuple[str, ...] = ()

    def relevance(self, scores: np.ndarray, pair_x: np.ndarray, show: float) -> np.ndarray:
        """Each pair's score: the part of its cosine above ``show`` times its object factor.

        The factor is at most 1 (a pair with every feature in its favour keeps its cosine), and
        a candidate above the show threshold stays above it: re-ranking reorders what was
        found, it never hides it.
        """
        if pair_x.size == 0:
            return np.zeros(0)
        g = np.asarray(self.rank_coef)
        # the largest g . f over features in [0, 1]
        best = float(np.maximum(g, 0.0).sum())
        factor = np.exp(pair_x @ g - best)
        cos = np.asarray(scores, dtype=np.float64)
        return np.minimum(np.round(show + (cos - show) * factor, 6), 1.0)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability that each row's offer is what the want asks for.

        An offer the want's description excludes in words gets 0: the person said no to it,
        whatever the rest of the pair looks like (too rare in labelled sets to be learnt).
        """
        if x.size == 0:
            return np.zeros(0)
        z = x @ np.asarray(self.coef) + self.intercept
        p = 1.0 / (1.0 + np.exp(-z))
        return np.where(x[:, _EXCLUDED] > 0, 0.0, p)

    def to_json(self) -> str:
        """The model file's text."""
        return json.dumps(
            {
                "rank": {
                    "features": list(PAIR_FEATURES),
                    "coef": [round(c, 6) for c in self.rank_coef],
                },
                "notify": {
                    "features": list(NOTIFY_FEATURES),
                    "coef": [round(c, 6) for c in self.coef],
                    "intercept": round(self.intercept, 6),
                },
                "trained_on": list(self.trained_on),
            },
            ensure_ascii=False,
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> NotifyModel:
        """Read a model file; refuse one made for other features."""
        data = json.loads(text)
        rank, notify = data.get("rank", {}), data.get("notify", {})
        if tuple(rank.get("features", ())) != PAIR_FEATURES:
            raise ValueError(f"ranking features {rank.get('features')} are not {PAIR_FEATURES}")
        if tuple(notify.get("features", ())) != NOTIFY_FEATURES:
            raise ValueError(
                f"notify features {notify.get('features')} are not {list(NOTIFY_FEATURES)}"
            )
        return cls(
            tuple(float(c) for c in rank["coef"]),
            tuple(float(c) for c in notify["coef"]),
            float(notify["intercept"]),
            tuple(data.get("trained_on", ())),
        )


@lru_cache(maxsize=8)
def load_model(path: Path = DEFAULT_MODEL_PATH) -> NotifyModel:
    """Load (and cache) a model file."""
    return NotifyModel.from_json(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def load_attributes(path: Path = DEFAULT_ATTRIBUTES_PATH) -> tuple[tuple[int, ...], ...]:
    """Attribute classes as tuples of concept columns ("class: concept, concept, ...")."""
    classes = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        if ":" not in line:
            continue
        values = [normalize(v.strip()) for v in line.split(":", 1)[1].split(",") if v.strip()]
        if len(values) > 1:
            classes.append(tuple(column("=" + v) for v in values))
    return tuple(classes)


def _mentions(keys: frozenset[str], others: frozenset[str]) -> bool:
    if keys & others:
        return True
    long = [k for k in keys if len(k) >= _FUZZY_HEAD_MIN and k[0] != "="]
    return any(within_one_edit(k, o) for k in long for o in others if abs(len(k) - len(o)) <= 1)


def _attribute_conflict(
    want: set[int], offer: set[int], classes: tuple[tuple[int, ...], ...]
) -> bool:
    for values in classes:
        mine = {v for v in values if v in want}
        theirs = {v for v in values if v in offer}
        if mine and theirs and not (mine & theirs):
            return True
    return False


# Units of measure a number may carry (both languages): two titles disagree on a quantity only
# when they measure it in the same unit ("для 10 лет" / "24 дюйма" is no conflict, "4-6 лет" /
# "10 лет" is). A unit not listed leaves the number bare; bare numbers compare with bare ones.
_UNIT_WORDS = {
    "years": "лет год года годик годика годиков years year yrs yr yo",
    "months": "мес месяц месяца месяцев months month",
    "inch": 'дюйм дюйма дюймов inch inches " ″',
    "kg": "кг kg килограмм килограмма килограммов kilo kilos",
    "g": "гр грамм грамма граммов",
    "cm": "см cm сантиметров",
    "mm": "мм mm",
    "m": "метр метра метров metre metres meter meters",
    "l": "литр литра литров liter litre liters litres",
    "ml": "мл ml",
    "gb": "гб gb гиг",
    "tb": "тб tb",
    "w": "вт ватт watt watts",
    "v": "вольт volt volts",
    "ah": "ач ah",
    "mah": "мач mah",
    "class": "класс класса классов кл grade",
    "pcs": "шт штук штуки pcs pieces pc предмет предмета предметов",
}
_UNITS = {w: unit for unit, words in _UNIT_WORDS.items() for w in words.split()}
# Short units that are also words ("в" is "in"): only glued to the number ("18в", "5l").
_GLUED_UNITS = {
    "в": "v",
    "v": "v",
    "w": "w",
    "м": "m",
    "m": "m",
    "г": "g",
    "g": "g",
    "л": "l",
    "l": "l",
}
# Words naming a size before its number ("размер 42", "р. 50", "UK 9"): a size is a bare number.
_SIZE_WORDS = frozenset({"размер", "размера", "р", "рр", "size", "uk", "eu", "us"})
_RANGE_WORDS = frozenset({"-", "–", "—", "до", "to"})
_QUANTITY_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-zа-я]+|[\"″\-–—]")
_DIMENSIONS = re.compile(r"\d+(?:[.,]\d+)?(?:\s*[xх×*]\s*\d+(?:[.,]\d+)?)+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@lru_cache(maxsize=8)
def load_implied_quantities(
    path: Path = DEFAULT_QUANTITIES_PATH,
) -> dict[tuple[str, ...], tuple[str, float, float]]:
    """Ranges that kinds of goods imply, by the stems of each name of the kind.

    Lines "name, name: LOW-HIGH unit" (``freemarket/data/quantities.txt``): an infant carrier
    is a 0-13 kg car seat, whatever its title says. A name of several words applies when the
    title has all of them.
    """
    out: dict[tuple[str, ...], tuple[str, float, float]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0]
        if ":" not in line:
            continue
        words, _, value = line.partition(":")
        m = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*-\s*(\d+(?:[.,]\d+)?)\s*(\S+)\s*", value)
        unit = _UNITS.get(normalize(m.group(3))) if m else None
        if not m or unit is None:
            raise ValueError(f"{path}:{number}: not 'word, word: LOW-HIGH unit'")
        lo, hi = (float(g.replace(",", ".")) for g in m.group(1, 2))
        for name in words.split(","):
            stems = tuple(stem(t) for t in normalize(name).split())
            if stems:
                out[stems] = (unit, lo, hi)
    return out


Quantities = dict[str, tuple[tuple[float, float], ...]]


@lru_cache(maxsize=200_000)
def _quantities(title: str) -> Quantities:
    """A title's numbers by unit, each a (low, high) interval ("4-6 лет" -> years (4, 6)).

    A number glued after letters is part of a model code ("V8", "DGA504": unit "code:v"); a
    "120x60" is one dimension. Single digits count too (the tokenizer drops them: "8 класс").
    A kind of goods made for a standard range (``freemarket/data/quantities.txt``) names it
    when the title gives none in that unit.
    """
    text = normalize(title)
    out: dict[str, list[tuple[float, float]]] = {}

    def dimension(m: re.Match[str]) -> str:
        # one value per dimension: its sides sorted and packed into one number
        sides = sorted(float(n.replace(",", ".")) for n in _NUMBER.findall(m.group()))
        value = float(sum(x * 1e5**k for k, x in enumerate(reversed(sides))))
        out.setdefault("dim", []).append((value, value))
        return " "

    text = _DIMENSIONS.sub(dimension, text)
    toks = [(m.group(), m.start(), m.end()) for m in _QUANTITY_TOKEN.finditer(text)]
    i = 0
    while i < len(toks):
        tok, start, end = toks[i]
        if not tok[0].isdigit():
            i += 1
            continue
        lo = hi = float(tok.replace(",", "."))
        j = i + 1
        if j + 1 < len(toks) and toks[j][0] in _RANGE_WORDS and toks[j + 1][0][0].isdigit():
            hi = float(toks[j + 1][0].replace(",", "."))
            end = toks[j + 1][2]
            j += 2
        nxt = toks[j] if j < len(toks) else None
        prev = toks[i - 1] if i else None
        unit = ""
        if nxt and nxt[0] in _UNITS:
            unit = _UNITS[nxt[0]]
        elif nxt and nxt[1] == end and nxt[0] in _GLUED_UNITS:
            unit = _GLUED_UNITS[nxt[0]]
        elif prev and prev[2] == start and prev[0].isalpha() and prev[0] not in _SIZE_WORDS:
            unit = "code:" + prev[0]
        out.setdefault(unit, []).append((min(lo, hi), max(lo, hi)))
        i = j
    stems = {stem(tok) for tok, _, _ in toks if tok[0].isalpha()}
    for name, (unit, lo, hi) in load_implied_quantities().items():
        if unit not in out and stems.issuperset(name):
            out[unit] = [(lo, hi)]
    return {k: tuple(v) for k, v in out.items()}


def _agree(a: float, b: float, c: float, d: float) -> bool:
    """Two values agree: a point within the other's range, or two ranges sharing half the narrower.

    Ranges that only touch ("9-18 кг" / "0-13 кг", the next car seat group) are meant for
    different things; ranges sharing most of one ("4-6 лет" / "5-7 лет") are not.
    """
    if not (a <= d and c <= b):
        return False
    narrower = min(b - a, d - c)
    return narrower == 0 or min(b, d) - max(a, c) >= narrower / 2


def _quantity_conflict(want: Quantities, offer: Quantities) -> bool:
    """Both name a quantity in one unit, and no value of one agrees with one of the other."""
    for unit, mine in want.items():
        theirs = offer.get(unit)
        if theirs and not any(_agree(a, b, c, d) for a, b in mine for c, d in theirs):
            return True
    return False


def _words(facts: TitleFacts) -> list[str]:
    """The title's own words (not targets, not numbers) as analyser keys."""
    return [k for k in facts.main if not k[0].isdigit()]


def _share(found: list[bool]) -> float:
    return sum(found) / len(found) if found else 0.0


def pair_features(
    want: Side, offers: Sequence[Side], lexicon: Lexicon, classes: tuple[tuple[int, ...], ...]
) -> np.ndarray:
    """Rows of ``PAIR_FEATURES``, one per offer, of a want and some of its candidates."""
    wf = title_facts(want.title, lexicon)
    want_cols = set(want.columns.tolist())
    want_keys = wf.main | wf.objects
    want_words = _words(wf)
    want_numbers = _quantities(want.title)
    unwanted = excluded(want.description, lexicon) - wf.objects
    out = np.zeros((len(offers), len(PAIR_FEATURES)))
    for i, offer in enumerate(offers):
        of: TitleFacts = title_facts(offer.title, lexicon)
        offer_cols = set(offer.columns.tolist())
        head_title = _mentions(wf.objects, of.main)
        head_anywhere = head_title or any(column(k) in offer_cols for k in wf.objects)
        offer_numbers = _quantities(offer.title)
        offer_title = of.main | of.targets
        head_match = _mentions(wf.objects, of.objects) or _mentions(of.objects, wf.objects)
        offer_head_in_want = _mentions(of.objects, want_keys) or any(
            column(k) in want_cols for k in of.objects
        )
        out[i] = (
            head_title,
            head_anywhere,
            not head_title and _mentions(wf.objects, of.targets),
            offer_head_in_want,
            _mentions(of.objects, wf.targets) and not _mentions(of.objects, want_keys),
            _attribute_conflict(want_cols, offer_cols, classes),
            bool(wf.targets and of.targets) and not _mentions(wf.targets, of.targets),
            _quantity_conflict(want_numbers, offer_numbers),
            _share([column(k) in offer_cols for k in want_words]),
            _share([_mentions(frozenset((k,)), offer_title) for k in want_words]),
            _share(
                [
                    column(k) in want_cols or _mentions(frozenset((k,)), want_keys)
                    for k in _words(of)
                ]
            ),
            head_match,
            head_title and not head_match and not offer_head_in_want,
            bool(unwanted) and _mentions(unwanted, offer_title),
        )
    return out


def notify_features(cosine: np.ndarray, relevance: np.ndarray, pair_x: np.ndarray) -> np.ndarray:
    """Rows of ``NOTIFY_FEATURES`` of a want's candidates, given best (re-ranked) first.

    The cosine, not the relevance, is the score feature: the relevance already discounts what
    the pair features say, and the model weighs those itself.
    """
    n = relevance.size
    if n == 0:
        return np.zeros((0, len(NOTIFY_FEATURES)))
    margin = np.zeros(n)
    margin[0] = relevance[0] - (relevance[1] if n > 1 else 0.0)
    margin[1:] = relevance[1:] - relevance[0]
    top = (np.arange(n) == 0).astype(float)
    return np.column_stack([cosine, pair_x, margin, top])


def rerank(ids: Sequence[int], relevance: np.ndarray) -> list[int]:
    """Positions of candidates best first: relevance descending, then the smaller offer id."""
    return sorted(range(len(ids)), key=lambda i: (-float(relevance[i]), ids[i]))


def relevance(
    want: Side,
    offers: Sequence[Side],
    scores: Sequence[float],
    *,
    lexicon: Lexicon,
    show: float,
    model_path: str | None = None,
) -> np.ndarray:
    """The stored score (relevance) of each (want, offer) pair, from its cosine."""
    model = load_model(Path(model_path) if model_path else DEFAULT_MODEL_PATH)
    px = pair_features(want, offers, lexicon, load_attributes())
    return model.relevance(np.asarray(scores, dtype=np.float64), px, show)


def decide(
    want: Side,
    offers: Sequence[Side],
    scores: Sequence[float],
    *,
    lexicon: Lexicon,
    threshold: float,
    show: float,
    model_path: str | None = None,
) -> list[Decision]:
    """Relevance, confidence and push of each of a want's candidates (in the order given).

    ``scores`` are the cosines. The best ``DECIDE_TOP`` by relevance get a confidence; only
    those can be pushed.
    """
    if not offers:
        return []
    px = pair_features(want, offers, lexicon, load_attributes())
    return decide_on_features(
        [o.id for o in offers],
        scores,
        px,
        threshold=threshold,
        show=show,
        model_path=model_path,
    )


def decide_on_features(
    ids: Sequence[int],
    scores: Sequence[float],
    px: np.ndarray,
    *,
    threshold: float,
    show: float,
    model_path: str | None = None,
) -> list[Decision]:
    """``decide`` given each candidate's ``pair_features`` row (computed where its offer lives).

    A partitioned index computes the rows of its own offers; the merge decides on the want's
    whole list here, so the result is the one a single index gives.
    """
    if not ids:
        return []
    model = load_model(Path(model_path) if model_path else DEFAULT_MODEL_PATH)
    rel = model.relevance(np.asarray(scores, dtype=np.float64), px, show)
    order = rerank(ids, rel)[:DECIDE_TOP]
    # rounded like scores, so both paths store the same value and decide the same way
    cos = np.asarray(scores, dtype=np.float64)
    p = np.round(model.probability(notify_features(cos[order], rel[order], px[order])), 6)
    out = [Decision(float(r), 0.0, False) for r in rel.tolist()]
    for i, v in zip(order, p.tolist(), strict=True):
        out[i] = Decision(float(rel[i]), float(v), bool(v >= threshold))
    return out
