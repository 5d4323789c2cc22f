"""Search terms: the one way both the index and a query turn text into terms.

Why not the databases' own full-text search configurations: Snowball (PostgreSQL's stemmers,
SQLite FTS5's porter) has no Latvian, and Latvian is highly inflected — "piekļuves atļauju" must
find "Piekļuves atļaujas pieprasīšana", "datu kopām" must find "datu kopa". So we make the terms
ourselves and let the databases only store and match them ('simple' config on PostgreSQL, the
``unicode61`` tokenizer on SQLite — neither changes our tokens), which also makes both databases
find the same articles for the same query.

A term is made in three steps:
1. words: runs of letters/digits, lower-cased;
2. stemming by language: Latvian with ``LatvianStemmer`` (the Python port of Lucene's light
   Latvian stemmer, after Kreslins' thesis: strips noun and adjective case/number endings and
   undoes palatalisation — exactly the inflection that breaks search; a light stemmer does not
   over-conflate as an aggressive one would); English with ``snowballstemmer``'s English
   (Porter 2) stemmer;
3. diacritics folded after stemming (ā→a, ļ→l, š→s …), so "piekluve" typed without
   diacritics meets "piekļuves": the stemmer needs the diacritics to see the ending (ā, ī, ē
   are endings of their own), the match must not.
Queries are matched as prefixes of indexed terms (a query being typed, and stems the light
stemmer leaves one letter apart), ranked with exact term matches above prefix matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import LatvianStemmer  # type: ignore[import-untyped]  # a 170-line module without type hints
import snowballstemmer  # type: ignore[import-untyped]  # no type hints shipped

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_ENGLISH = snowballstemmer.stemmer("english")
_LV_INFINITIVES = ("ēt", "āt", "īt", "ot")

# Words too common to be worth a term of a query (the index keeps them: they cost little and
# a phrase may need them). Kept short on purpose.
STOP_WORDS = {
    "lv": {
        "un", "vai", "ar", "par", "uz", "no", "kā", "ka", "kas", "ko", "ir", "tā", "tas", "to",
        "lai", "pie", "bet", "jo", "arī", "pēc", "līdz", "kur", "es", "mans", "man", "savu",
        "sava", "kad", "cik", "ne", "nav", "kāda", "kāds",
    },
    "en": {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "how", "i",
        "in", "is", "it", "my", "of", "on", "or", "the", "to", "what", "with", "who", "why",
    },
}  # fmt: skip


def fold(text: str) -> str:
    """Diacritics removed: "Piekļuves" → "Piekluves"."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return [match.group(0).lower() for match in _WORD_RE.finditer(text)]


@functools.lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    """One lower-case word → its term (stemmed, then folded)."""
    if word.isdigit() or len(word) < 3:
        return fold(word)
    if language == "en":
        return fold(_ENGLISH.stemWord(word))
    if len(word) >= 7 and word.endswith(_LV_INFINITIVES):
        # The light stemmer knows nouns and adjectives, not verbs: "augšupielādēt" must meet
        # "augšupielāde" (the title "Datu faila augšupielāde"), so the infinitive's ending goes.
        return fold(word[:-2])
    return fold(LatvianStemmer.stem(word))


def terms(text: str, language: str) -> list[str]:
    """Every term of a text, in order (the index)."""
    return [stem(word, language) for word in words(text)]


def query_terms(text: str, language: str) -> list[str]:
    """The distinct terms of a query, stop words left out (unless nothing else is left)."""
    found = words(text)
    stops = STOP_WORDS.get(language, set())
    kept = [word for word in found if word not in stops and fold(word) not in stops] or found
    result: list[str] = []
    for word in kept:
        term = stem(word, language)
        if term and term not in result:
            result.append(term)
    return result[:10]
