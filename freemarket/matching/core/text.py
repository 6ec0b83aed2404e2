"""Text pipeline for matching: normalisation, tokens, stop words, stems, synonyms, n-grams.

Everything here is a pure function of its input (plus the immutable synonym lexicon), so the
batch recompute, the incremental index and the explanations all see the same terms.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from unidecode import unidecode

if TYPE_CHECKING:
    from pymorphy3 import MorphAnalyzer

DEFAULT_SYNONYMS_PATH = Path(__file__).resolve().parents[2] / "data" / "synonyms.txt"

# Weight of one occurrence in the title relative to one in the description: the title names the
# item, the description mostly talks about condition and logistics.
TITLE_WEIGHT = 2.5
# Character n-grams only exist to survive typos, so they must never outweigh a real word match.
NGRAM_WEIGHT = 0.2
NGRAM_SIZE = 3
# Shorter stems make n-grams that are shared by unrelated words, pure noise.
NGRAM_MIN_STEM = 5
# Words after "для"/"for" in a title name what the item is for, not the item ("чехол для iPhone"),
# and so do the other words of a title naming an accessory ("camera bag").
TARGET_FACTOR = 0.4
ACCESSORY_FACTOR = 0.5
TARGET_PREPOSITIONS = frozenset({"для", "под", "к", "ко", "for"})
# In a description, the word after one of these says what the item is *not* ("не кожа, но
# тёплая", "not leather", "без царапин"): it is no term of the listing.
DESCRIPTION_NEGATIONS = frozenset({"не", "not", "без", "without", "non"})
# Only long stems are corrected towards the dictionary: short Russian stems are one letter
# apart from too many unrelated words.
FUZZY_MIN_STEM = 6
# Long words are often misspelt twice ("бинзопилу"); they are also far apart from each other.
FUZZY_TWO_EDITS = 8

# Cyrillic letters that look like Latin ones; inside a model code ("А51", "Х5") they are almost
# always the Latin letter typed on a Russian layout.
_HOMOGLYPHS = str.maketrans("авекмнорстух", "abekmhopctyx")

_SEGMENT_RE = re.compile(r"[,;:!?()\[\]/|+]|\s[-–—]\s")
_TOKEN_RE = re.compile(r"[^\W_]+(?:[.,]\d+)?")
_PARTS_RE = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+")
_CYRILLIC_RE = re.compile(r"[а-я]")
_LATIN_RE = re.compile(r"[a-z]")

_RU_STOP = """
а без более бы был была были было быть в вам вас весь во вот все всё всего всех вы где да даже
для до его ее её если есть еще ещё же за здесь и из или им их к как ко когда кто ли либо мне
может мы на надо наш не него нее неё нет ни них но ну о об однако он она они оно от очень по
под при с со так также такой там те тем то того тоже той только том ты у уже хотя чего чей чем
что чтобы чье чья эта эти это этот я мой моя мое моё мои свой своя свои наши ваш ваша ваши
сам сама сами себя себе был будет будут этом этой этого этих тот та тут какой какая какие
который которая которые которое можно нужно нужен нужна нужны нужное будем буду очень
ищу ищем ищет поищу разыскиваю отдам отдаю отдаем отдаём отдается отдаётся отдаются отдадим
возьму возьмем возьмём заберу заберем заберём забрать заберете заберёте забирайте приму
куплю продам продаю обменяю обмен меняю поменяю даром бесплатно безвозмездно срочно
привет здравствуйте добрый день всем спасибо пожалуйста любой любая любое любые
хороший хорошее хорошая хорошем хорошие отличное отличный отличном состояние состоянии
самовывоз самовывозом вывоз вывезу рабочий рабочая рабочее рабочие работает работают
"""

_EN_STOP = """
a about above after again all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me
more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves im ive dont doesnt s t
looking wanted want wants need needs needed seeking searching anyone anybody please thanks hi
hello free giving give away swap swaps exchange collect collection pickup pick
good great excellent condition used working works
"""

STOP_WORDS: frozenset[str] = frozenset((_RU_STOP + _EN_STOP).split())

_RU_STEMMER = Stemmer.Stemmer("russian")
_EN_STEMMER = Stemmer.Stemmer("english")


@cache
def morph() -> MorphAnalyzer:
    """Russian morphology (the OpenCorpora dictionary): parts of speech and lemmas."""
    # Loaded on first use: the dictionary takes ~0.3 s of CPU, which every importer of the
    # domain (each CLI command, `freemarket user list` included) would pay at start otherwise.
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def normalize(text: str) -> str:
    """NFKC-normalise, case-fold and fold ё to е."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


@lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """Snowball stem of a normalised word, chosen by its script (Cyrillic or Latin)."""
    if _CYRILLIC_RE.search(word):
        return _RU_STEMMER.stemWord(word)
    if _LATIN_RE.search(word):
        return _EN_STEMMER.stemWord(word)
    return word


@lru_cache(maxsize=500_000)
def word_key(word: str) -> str:
    """The matching key of a normalised word: a Russian noun's lemma, otherwise its stem.

    Snowball strips Russian nouns badly where the stem changes ("чехол"/"чехлы" give "чехол"
    and "чехл", "ботинок"/"ботинки" give "ботинок" and "ботинк") or looks like a verb ending
    ("бензопила" gives "бензоп"); the dictionary lemma of a noun has none of these problems.
    Other parts of speech, and words the dictionary does not know (its guessed lemmas of
    slang and typos change with the word's form), keep their stem.
    """
    if word.isalpha() and _CYRILLIC_RE.search(word) and morph().word_is_known(word):
        parse = morph().parse(word)[0]
        if parse.tag.POS == "NOUN":
            return parse.normal_form.replace("ё", "е")
    return stem(word)


def _is_number(token: str) -> bool:
    return token[0].isdigit() and token.replace(".", "").replace(",", "").isdigit()


def tokenize(text: str) -> list[str]:
    """Split normalised text into word, number and model-code tokens.

    Model codes keep their whole form and also yield their parts ("rtx3060" -> "rtx3060",
    "rtx", "3060"); decimals keep their point ("15,6" -> "15.6"). Single letters and single
    digits carry no meaning on their own and are dropped.
    """
    out: list[str] = []
    for raw in _TOKEN_RE.findall(normalize(text)):
        out.extend(_raw_tokens(raw))
    return out


@lru_cache(maxsize=200_000)
def _raw_tokens(raw: str) -> tuple[str, ...]:
    """Tokens of one regex match; cached because a corpus has few distinct words."""
    if _is_number(raw):
        token = raw.replace(",", ".")
        return (token,) if len(token) > 1 else ()
    if raw.isalpha():
        return (raw,) if len(raw) > 1 else ()
    code = raw.translate(_HOMOGLYPHS).replace(",", ".")
    return (code, *(p for p in _PARTS_RE.findall(code) if len(p) > 1))


_TOKEN_CACHE_MAX = 500_000


@dataclass(frozen=True, slots=True)
class _TokenInfo:
    """What the analyser needs to know about one token, independent of its neighbours."""

    stem: str
    # (key, label) when the token stands alone: its concepts, or its stem
    main: tuple[tuple[str, str], ...]
    # (key, label) of its character n-grams (titles only)
    grams: tuple[tuple[str, str], ...]
    starts_phrase: bool


@dataclass(frozen=True)
class Lexicon:
    """Synonym dictionary: sequences of stems mapped to canonical concepts."""

    phrases: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    surface: dict[str, tuple[str, ...]] = field(default_factory=dict)
    accessories: frozenset[str] = frozenset()
    max_len: int = 1
    # every concept's listed spellings, canonical first, in file order (for display forms)
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # single-word keys long enough to correct typos towards, by length
    _fuzzy_keys: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # first stems of multi-word phrases: other tokens skip the (costly) longer lookups
    _phrase_starts: frozenset[str] = frozenset()
    # per-token analysis, filled lazily (a corpus has tens of thousands of distinct tokens)
    _tokens: dict[str, _TokenInfo] = field(default_factory=dict, compare=False, repr=False)

    def token(self, token: str) -> _TokenInfo:
        """Stem, single-word concepts and n-gram keys of a token (cached)."""
        info = self._tokens.get(token)
        if info is None:
            st = word_key(token)
            concepts = self.surface.get(token) or self.phrases.get((st,))
            if not concepts and len(token) > 1 and not token[0].isdigit():
                concepts = self.correct(st) or self._latin(token)
            main = tuple(("=" + c, c) for c in concepts) if concepts else ((st, token),)
            grams = (
                tuple(("#" + g, token) for g in char_ngrams(st))
                if len(st) >= NGRAM_MIN_STEM and st.isalpha()
                else ()
            )
            info = _TokenInfo(st, main, grams, st in self._phrase_starts)
            if len(self._tokens) < _TOKEN_CACHE_MAX:
                self._tokens[token] = info
        return info

    def _latin(self, token: str) -> tuple[str, ...] | None:
        """Concepts of a Cyrillic spelling of a Latin word ("свитч", "гоупро", "бош").

        Brands and borrowed words are written in both scripts; the dictionary lists them in one.
        The word is transliterated (unidecode) and looked up, then corrected, as a Latin word:
        a spelling by ear is a few letters off ("svitch" / "switch").
        """
        if not _CYRILLIC_RE.search(token):
            return None
        latin = unidecode(token)
        for spelling in dict.fromkeys((latin, english_spelling(latin))):
            st = stem(spelling)
            found = self.surface.get(spelling) or self.phrases.get((st,)) or self.correct(st)
            if found:
                return found
        return None

    def lookup(self, stems: tuple[str, ...]) -> tuple[str, ...] | None:
        """Concepts for a sequence of stems, or None."""
        return self.phrases.get(stems)

    def correct(self, word_stem: str) -> tuple[str, ...] | None:
        """Concepts of the one dictionary key closest to an unknown key, if close and unique.

        Close: one edit (insertion, deletion, substitution or swap of neighbours), two for keys
        of ``FUZZY_TWO_EDITS`` letters or more ("бинзопилу" for "бензопила"), and lengths at
        most one apart; words shorter than ``FUZZY_MIN_STEM`` are never corrected.
        """
        if len(word_stem) < FUZZY_MIN_STEM or not word_stem.isalpha():
            return None
        limit = 2 if len(word_stem) >= FUZZY_TWO_EDITS else 1
        n = len(word_stem)
        # lengths within one: two insertions are more often another word than a typo
        # ("трехколесн", an adjective's stem, is not "трехколесник")
        keys = [k for size in range(n - 1, n + 2) for k in self._fuzzy_keys.get(size, ())]
        found = process.extract(
            word_stem, keys, scorer=DamerauLevenshtein.distance, score_cutoff=limit
        )
        if not found or (len(found) > 1 and found[1][1] == found[0][1]):
            return None
        return self.phrases[(found[0][0],)]


# How English words borrowed into Russian are spelt, undone on a letter-by-letter
# transliteration: "-шн" is "-tion" ("дисторшн", "промоушн"), "эйр" is "air" ("эйрподс",
# "эйрфрайер"), "-айер" is "-yer" ("фрайер", "флайер"), "ай" before a final consonant is
# "i_e" ("драйв", "байк", "лайк").
_BORROWED = (
    (re.compile(r"shn$"), "tion"),
    (re.compile(r"^eir"), "air"),
    (re.compile(r"aier$"), "yer"),
    (re.compile(r"ai([bcdfgklmnprstvz])$"), r"i\1e"),
)


@lru_cache(maxsize=100_000)
def english_spelling(latin: str) -> str:
    """The English spelling of a transliterated borrowed word ("distorshn" -> "distortion")."""
    for pattern, repl in _BORROWED:
        latin = pattern.sub(repl, latin)
    return latin


def _by_length(words: Iterable[str]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for w in words:
        out.setdefault(len(w), []).append(w)
    return {n: tuple(ws) for n, ws in out.items()}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (an insertion, deletion, substitution or swap)."""
    return DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1


def _variant_stems(variant: str) -> tuple[str, ...]:
    return tuple(word_key(t) for t in tokenize(variant) if t not in STOP_WORDS)


def parse_lexicon(lines: Iterable[str]) -> Lexicon:
    """Build a lexicon from lines "canonical: variant, variant, ..." (# starts a comment)."""
    phrases: dict[tuple[str, ...], list[str]] = {}
    accessories: set[str] = set()
    exact_stem: set[tuple[str, ...]] = set()  # keys whose variant was its own stem
    surface: dict[str, list[str]] = {}
    spellings: dict[str, list[str]] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        head, _, tail = line.partition(":")
        canonical = normalize(head.strip().lstrip("!").strip())
        if head.strip().startswith("!"):
            accessories.add(canonical)
        variants = [canonical] + [normalize(v.strip()) for v in tail.split(",") if v.strip()]
        listed = spellings.setdefault(canonical, [])
        for variant in variants:
            if variant not in listed:
                listed.append(variant)
        for variant in variants:
            tokens = tokenize(variant)
            if len(tokens) == 1:
                surface.setdefault(tokens[0], [])
                if canonical not in surface[tokens[0]]:
                    surface[tokens[0]].append(canonical)
            key = _variant_stems(variant)
            if not key:
                continue
            own = len(tokens) == 1 and key[0] == tokens[0]
            if key in phrases and canonical not in phrases[key]:
                # A stem claimed by two groups: the group that spells the stem as a word wins
                # ("кот" is a cat, even though "котят" also stems to it); groups that list the
                # very same word share it (a word can belong to two concepts).
                if own and key not in exact_stem:
                    phrases[key] = [canonical]
                elif own == (key in exact_stem):
                    phrases[key].append(canonical)
            elif key not in phrases:
                phrases[key] = [canonical]
            if own:
                exact_stem.add(key)
    # A two-word name is often written the other way round in a title ("машина стиральная",
    # "куртка мужская"): the reversed pair names the same concepts unless listed otherwise.
    for key in [k for k in phrases if len(k) == 2]:
        phrases.setdefault((key[1], key[0]), phrases[key])
    return Lexicon(
        phrases={k: tuple(v) for k, v in phrases.items()},
        surface={k: tuple(v) for k, v in surface.items()},
        accessories=frozenset(accessories),
        max_len=max((len(k) for k in phrases), default=1),
        variants={k: tuple(v) for k, v in spellings.items()},
        _fuzzy_keys=_by_length(
            k[0] for k in phrases if len(k) == 1 and len(k[0]) >= FUZZY_MIN_STEM and k[0].isalpha()
        ),
        _phrase_starts=frozenset(k[0] for k in phrases if len(k) > 1),
    )


@lru_cache(maxsize=8)
def load_lexicon(path: Path = DEFAULT_SYNONYMS_PATH) -> Lexicon:
    """Load (and cache) a synonym file."""
    return parse_lexicon(Path(path).read_text(encoding="utf-8").splitlines())


@dataclass(frozen=True)
class Term:
    """One feature produced by the analyser: key, weight and a human-readable label."""

    key: str
    weight: float
    label: str


def char_ngrams(word_stem: str, n: int = NGRAM_SIZE) -> list[str]:
    """Character n-grams of a stem padded with boundary marks."""
    padded = f"<{word_stem}>"
    return [padded[i : i + n] for i in range(len(padded) - n + 1)]


def _count_segment(
    segment: str,
    lexicon: Lexicon,
    in_title: bool,
    counts: dict[str, float],
    labels: dict[str, str],
) -> None:
    """Add the occurrences of one punctuation-delimited piece of text to ``counts``.

    Each occurrence adds its factor (1, or less for words naming what an item is for); the
    first occurrence of a key names it. N-grams (typo tolerance) are added for titles only.
    """
    # factor per kept token: words after a target preposition in a title count less
    tokens: list[str] = []
    factors: list[float] = []
    factor = 1.0
    negated = False
    for t in tokenize(segment):
        if in_title and t in TARGET_PREPOSITIONS:
            factor = TARGET_FACTOR
        # a description's negated word is not a property of the item ("не кожа", "not leather")
        if not in_title and (negated or t in DESCRIPTION_NEGATIONS):
            negated = t in DESCRIPTION_NEGATIONS
            continue
        if t not in STOP_WORDS:
            tokens.append(t)
            factors.append(factor)
    token_info = lexicon.token
    infos = [token_info(t) for t in tokens]
    n_tokens = len(tokens)
    i = 0
    while i < n_tokens:
        info = infos[i]
        f = factors[i]
        span = 1
        entries = info.main
        if info.starts_phrase:
            # longest multi-word phrase first; most tokens start none and skip this
            for n in range(min(lexicon.max_len, n_tokens - i), 1, -1):
                concepts = lexicon.lookup(tuple(x.stem for x in infos[i : i + n]))
                if concepts:
                    span = n
                    entries = tuple(("=" + c, c) for c in concepts)
                    break
        found = list(entries)
        if in_title:
            for j in range(i, i + span):
                found.extend(infos[j].grams)
        # A Latin word followed by a number is usually a model ("iphone 13", "rtx 3060"):
        # add the joined code so it meets "iphone13" / "rtx3060" written without a space.
        if span == 1 and i + 1 < n_tokens and tokens[i].isascii() and tokens[i].isalpha():
            nxt = tokens[i + 1]
            if nxt[0].isdigit():
                found.append((tokens[i] + nxt, f"{tokens[i]} {nxt}"))
        for key, label in found:
            c = counts.get(key)
            if c is None:
                counts[key] = f
                labels[key] = label
            else:
                counts[key] = c + f
        i += span


def analyze_field(text: str, lexicon: Lexicon, in_title: bool) -> list[tuple[str, float, str]]:
    """(key, weight, label) of one field: sublinear tf times the field's weight."""
    counts: dict[str, float] = {}
    labels: dict[str, str] = {}
    for segment in _SEGMENT_RE.split(text):
        _count_segment(segment, lexicon, in_title, counts, labels)
    accessories = lexicon.accessories
    if in_title and any(k[0] == "=" and k[1:] in accessories for k in counts):
        # an accessory title: the other words name what it fits (x0.5 is exact in binary, so
        # scaling the sum equals scaling each occurrence)
        counts = {k: c if k[1:] in accessories else c * ACCESSORY_FACTOR for k, c in counts.items()}
    field_weight = TITLE_WEIGHT if in_title else 1.0
    out = []
    log = math.log
    for key, count in counts.items():
        # sublinear tf; a lone down-weighted occurrence keeps its fraction
        w = field_weight * (1.0 + log(count) if count >= 1.0 else count)
        if key[0] == "#":
            w *= NGRAM_WEIGHT
        out.append((key, w, labels[key]))
    return out


def analyze(title: str, description: str, lexicon: Lexicon | None = None) -> list[Term]:
    """Weighted terms of a listing: sublinear tf per field, title above description."""
    lexicon = lexicon or load_lexicon()
    weights: dict[str, float] = {}
    labels: dict[str, str] = {}
    for text, in_title in ((title, True), (description, False)):
        for key, w, label in analyze_field(text, lexicon, in_title):
            weights[key] = weights.get(key, 0.0) + w
            labels.setdefault(key, label)
    return [Term(k, w, labels[k]) for k, w in weights.items()]
